// Dropout: the keep rule and scaling, mask reproducibility per seed and step, the identity in inference,
// the preserved expectation, gradients, and bad rates.
#include <catch2/catch.hpp>

#include "mien/layers/dropout.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

TEST_CASE("Dropout keeps element i iff uniform(i) >= rate and scales it by 1 / (1 - rate)", "[dropout]") {
  Context ctx(99);
  Dropout<float> drop(ctx, 0.3f);
  const Tensor<float> x = Tensor<float>::filled(Shape{4, 8, 25, 25}, 2.0f);  // 20000 elements
  const Tensor<float>& y = drop.forward(ctx, x, Mode::train);
  // The layer took stream id 1, the context's first.
  const RandomStream stream = ctx.random_stream(1);
  std::size_t kept = 0, wrong = 0;
  for (std::size_t i = 0; i < y.numel(); ++i) {
    const bool keep = stream.uniform(i) >= 0.3f;
    wrong += y[i] != (keep ? 2.0f / (1.0f - 0.3f) : 0.0f);
    kept += keep;
  }
  CHECK(wrong == 0);
  CHECK(static_cast<double>(kept) / y.numel() == Approx(0.7).margin(0.01));
}

TEST_CASE("Dropout preserves the expectation and keeps about 1 - rate of a large tensor", "[dropout]") {
  Context ctx(3);
  const double rate = GENERATE(0.1, 0.5, 0.8);
  Dropout<double> drop(ctx, rate);
  const Tensor<double> x = testing::random_tensor(Shape{200000}, 8, 1.0);
  Tensor<double> shifted(x.shape());
  for (std::size_t i = 0; i < x.numel(); ++i) shifted[i] = x[i] + 1.5;  // mean 1.5
  const Tensor<double>& y = drop.forward(ctx, shifted, Mode::train);
  double sum = 0;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < y.numel(); ++i) {
    sum += y[i];
    kept += y[i] != 0;
  }
  INFO("rate " << rate);
  CHECK(static_cast<double>(kept) / y.numel() == Approx(1 - rate).margin(0.005));
  CHECK(sum / y.numel() == Approx(1.5).epsilon(0.02));
}

TEST_CASE("Dropout masks repeat within a step and for the same seed, and change with the step", "[dropout]") {
  const Tensor<float> x = Tensor<float>::filled(Shape{64, 64}, 1.0f);
  Context ctx(5);
  Dropout<float> drop(ctx, 0.5f);
  const Tensor<float> first = drop.forward(ctx, x, Mode::train);
  const Tensor<float> again = drop.forward(ctx, x, Mode::train);
  CHECK(first.to_vector() == again.to_vector());

  Context same_seed(5);
  Dropout<float> twin(same_seed, 0.5f);
  CHECK(twin.forward(same_seed, x, Mode::train).to_vector() == first.to_vector());

  ctx.advance_step();
  const Tensor<float> next = drop.forward(ctx, x, Mode::train);
  std::size_t differ = 0;
  for (std::size_t i = 0; i < x.numel(); ++i) differ += next[i] != first[i];
  CHECK(differ > x.numel() / 4);  // two independent masks at rate 0.5 differ in half the places

  Context other_seed(6);
  Dropout<float> stranger(other_seed, 0.5f);
  CHECK(stranger.forward(other_seed, x, Mode::train).to_vector() != first.to_vector());
}

TEST_CASE("Dropout backward applies the forward's mask even after the step moved", "[dropout]") {
  Context ctx(17);
  Dropout<float> drop(ctx, 0.4f);
  const Tensor<float> ones = Tensor<float>::filled(Shape{10, 30}, 1.0f);
  const Tensor<float> y = drop.forward(ctx, ones, Mode::train);
  ctx.advance_step();
  const Tensor<float>& dx = drop.backward(ctx, ones);
  CHECK(dx.to_vector() == y.to_vector());
}

TEST_CASE("Dropout is the identity in inference", "[dropout]") {
  Context ctx(1);
  Dropout<double> drop(ctx, 0.5);
  const Tensor<double> x = testing::random_tensor(Shape{3, 4, 5, 6}, 2);
  CHECK(drop.forward(ctx, x, Mode::infer).to_vector() == x.to_vector());
  const Tensor<double> dy = testing::random_tensor(x.shape(), 3);
  CHECK(drop.backward(ctx, dy).to_vector() == dy.to_vector());
  CHECK(drop.output_shape(x.shape()) == x.shape());
}

TEST_CASE("Dropout gradients match finite differences within one step", "[dropout][gradcheck]") {
  Context ctx(21);
  Dropout<double> drop(ctx, 0.35);
  const auto result = testing::check_layer(drop, ctx, testing::random_tensor(Shape{3, 2, 5, 4}, 4));
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Dropout rejects rates outside [0, 1)", "[dropout][errors]") {
  Context ctx;
  CHECK_THROWS_AS(Dropout<float>(ctx, 1.0f), InvalidArgument);
  CHECK_THROWS_AS(Dropout<float>(ctx, -0.1f), InvalidArgument);
  Tensor<float> x(Shape{4}), y;
  CHECK_THROWS_AS(ops::dropout_forward(ctx, x, 1.5f, ctx.random_stream(1), y), InvalidArgument);
  CHECK_THROWS_AS(ops::dropout_backward(ctx, x, -1.0f, ctx.random_stream(1), y), InvalidArgument);
  Dropout<float> none(ctx, 0.0f);
  const Tensor<float> ones = Tensor<float>::filled(Shape{100}, 1.0f);
  CHECK(none.forward(ctx, ones, Mode::train).to_vector() == ones.to_vector());
}
