// Batch normalization: hand-computed forwards (train and infer), running statistics, float accuracy on
// offset data, gradient checks on [N, F] and NCHW, and argument errors; the fused BatchNormReLU against batch norm
// followed by a ReLU layer.
#include <catch2/catch.hpp>
#include <cmath>
#include <memory>

#include "mien/layers/activation.hpp"
#include "mien/layers/batchnorm.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {
template <class T>
Tensor<T>& param(BatchNorm<T>& bn, const char* name) {
  for (auto& p : bn.params())
    if (p.name == name) return *p.value;
  for (auto& b : bn.buffers())
    if (b.name == name) return *b.value;
  throw std::logic_error(name);
}
}  // namespace

TEST_CASE("BatchNorm normalizes [N, F] features with batch statistics and then running ones", "[batchnorm]") {
  Context ctx;
  BatchNorm<double> bn(ctx, 2);
  param(bn, "gamma") = Tensor<double>(Shape{2}, {2.0, 0.5});
  param(bn, "beta") = Tensor<double>(Shape{2}, {1.0, -1.0});
  // Feature 0 holds 1, 2, 3, 4: mean 2.5, biased variance (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25.
  // Feature 1 holds 0, 0, 0, 8: mean 2, biased variance (4 + 4 + 4 + 36) / 4 = 12.
  const Tensor<double> x(Shape{4, 2}, {1, 0, 2, 0, 3, 0, 4, 8});
  const Tensor<double>& y = bn.forward(ctx, x, Mode::train);
  const double s0 = 2.0 / std::sqrt(1.25 + 1e-3), s1 = 0.5 / std::sqrt(12.0 + 1e-3);
  const double expected[8] = {-1.5 * s0 + 1, -2 * s1 - 1, -0.5 * s0 + 1, -2 * s1 - 1,
                              0.5 * s0 + 1,  -2 * s1 - 1, 1.5 * s0 + 1,  6 * s1 - 1};
  for (int i = 0; i < 8; ++i) CHECK(y[i] == Approx(expected[i]).epsilon(1e-12));
  CHECK(bn.batch_mean()[0] == Approx(2.5));
  CHECK(bn.batch_invstd()[1] == Approx(1 / std::sqrt(12.001)));

  // Keras' running update with momentum 0.99, from mean 0 and variance 1.
  CHECK(param(bn, "running_mean")[0] == Approx(0.01 * 2.5).epsilon(1e-12));
  CHECK(param(bn, "running_mean")[1] == Approx(0.01 * 2.0).epsilon(1e-12));
  CHECK(param(bn, "running_var")[0] == Approx(0.99 + 0.01 * 1.25).epsilon(1e-12));
  CHECK(param(bn, "running_var")[1] == Approx(0.99 + 0.01 * 12.0).epsilon(1e-12));

  // Inference uses the running statistics: y = gamma (x - 0.025) / sqrt(1.0025 + 1e-3) + beta for feature 0.
  const Tensor<double>& z = bn.forward(ctx, x, Mode::infer);
  CHECK(z[0] == Approx(2.0 * (1 - 0.025) / std::sqrt(1.0025 + 1e-3) + 1).epsilon(1e-12));
  CHECK(z[7] == Approx(0.5 * (8 - 0.02) / std::sqrt(1.11 + 1e-3) - 1).epsilon(1e-12));
}

TEST_CASE("BatchNorm reduces NCHW maps per channel over batch and pixels", "[batchnorm]") {
  Context ctx;
  BatchNorm<float> bn(ctx, 2, 0.9f, 1e-5f);
  // Channel 0 holds 1, 3 (sample 0) and 5, 7 (sample 1): mean 4, variance (9 + 1 + 1 + 9) / 4 = 5.
  // Channel 1 holds -1 everywhere: variance 0, so it normalizes to 0 (beta).
  const Tensor<float> x(Shape{2, 2, 1, 2}, {1, 3, -1, -1, 5, 7, -1, -1});
  const Tensor<float>& y = bn.forward(ctx, x, Mode::train);
  const float s = 1 / std::sqrt(5.0f + 1e-5f);
  const float expected[8] = {-3 * s, -s, 0, 0, s, 3 * s, 0, 0};
  for (int i = 0; i < 8; ++i) CHECK(y[i] == Approx(expected[i]).margin(1e-6));
  CHECK(param(bn, "running_mean")[0] == Approx(0.4f));
  CHECK(param(bn, "running_var")[0] == Approx(0.9f + 0.5f));
  CHECK(param(bn, "running_var")[1] == Approx(0.9f));
  CHECK(bn.output_shape(x.shape()) == x.shape());
}

TEST_CASE("BatchNorm running statistics move toward the batch statistics with momentum 0.99", "[batchnorm]") {
  Context ctx;
  BatchNorm<double> bn(ctx, 1);
  const Tensor<double> x(Shape{4, 1}, {4, 6, 8, 10});  // mean 7, variance 5
  double previous_mean = 0, previous_var = 1;
  for (int step = 1; step <= 50; ++step) {
    bn.forward(ctx, x, Mode::train);
    const double mean = param(bn, "running_mean")[0], var = param(bn, "running_var")[0];
    CHECK(mean > previous_mean);
    CHECK(mean < 7);
    CHECK(var > previous_var);
    CHECK(var < 5);
    previous_mean = mean;
    previous_var = var;
  }
  // After k identical batches: running = batch + (initial - batch) * 0.99^k.
  CHECK(previous_mean == Approx(7 * (1 - std::pow(0.99, 50))).epsilon(1e-12));
  CHECK(previous_var == Approx(5 + (1 - 5) * std::pow(0.99, 50)).epsilon(1e-12));
}

TEST_CASE("BatchNorm statistics stay accurate in float on data far from zero", "[batchnorm]") {
  // Values 1e4 + u with u in [-1, 1]: a one-pass float variance (E[x²] - E[x]²) would lose every digit here.
  Context ctx;
  const Shape shape{8, 3, 16, 16};
  const Tensor<double> noise = testing::random_tensor(shape, 5);
  Tensor<float> x(shape);
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = 1e4f + static_cast<float>(noise[i]);
  BatchNorm<float> bn(ctx, 3);
  const Tensor<float>& y = bn.forward(ctx, x, Mode::train);
  const std::int64_t plane = 16 * 16;
  for (std::int64_t c = 0; c < 3; ++c) {
    double sum = 0, squares = 0, y_sum = 0, y_squares = 0;
    for (std::int64_t n = 0; n < 8; ++n)
      for (std::int64_t j = 0; j < plane; ++j) {
        const std::size_t i = static_cast<std::size_t>((n * 3 + c) * plane + j);
        sum += static_cast<double>(x[i]);
        y_sum += y[i];
        y_squares += static_cast<double>(y[i]) * y[i];
      }
    const double mean = sum / (8 * plane);
    for (std::int64_t n = 0; n < 8; ++n)
      for (std::int64_t j = 0; j < plane; ++j) {
        const double d = x[static_cast<std::size_t>((n * 3 + c) * plane + j)] - mean;
        squares += d * d;
      }
    const double var = squares / (8 * plane);
    CHECK(bn.batch_mean()[c] == Approx(mean).epsilon(1e-7));
    CHECK(bn.batch_invstd()[c] == Approx(1 / std::sqrt(var + 1e-3)).epsilon(1e-5));
    // The output is standardized: mean 0 and variance var / (var + eps).
    CHECK(y_sum / (8 * plane) == Approx(0).margin(1e-5));
    CHECK(y_squares / (8 * plane) == Approx(var / (var + 1e-3)).epsilon(1e-4));
  }
}

TEST_CASE("BatchNorm and BatchNormReLU gradients match finite differences", "[batchnorm][gradcheck]") {
  Context ctx;
  const Shape shape = GENERATE(Shape{6, 3}, Shape{3, 2, 4, 3});
  const bool fused = GENERATE(false, true);
  std::unique_ptr<BatchNorm<double>> bn;
  if (fused)
    bn = std::make_unique<BatchNormReLU<double>>(ctx, shape.c());
  else
    bn = std::make_unique<BatchNorm<double>>(ctx, shape.c());
  param(*bn, "gamma") = testing::random_tensor(Shape{shape.c()}, 11, 2.0);
  param(*bn, "beta") = testing::random_tensor(Shape{shape.c()}, 12);
  const auto result = testing::check_layer(*bn, ctx, testing::random_tensor(shape, 13, 3.0));
  INFO(bn->type() << " " << shape << "\n" << result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("BatchNormReLU equals BatchNorm then ReLU, forward, backward and inference", "[batchnorm]") {
  Context ctx;
  const Shape shape = GENERATE(Shape{6, 4}, Shape{3, 4, 5, 3});
  BatchNorm<double> bn(ctx, 4);
  ReLU<double> relu;
  BatchNormReLU<double> fused(ctx, 4);
  CHECK(fused.type() == "BatchNormReLU");
  for (auto* layer : {static_cast<BatchNorm<double>*>(&bn), static_cast<BatchNorm<double>*>(&fused)}) {
    param(*layer, "gamma") = testing::random_tensor(Shape{4}, 21, 2.0);
    param(*layer, "beta") = testing::random_tensor(Shape{4}, 22);
  }
  const Tensor<double> x = testing::random_tensor(shape, 23, 3.0);
  const Tensor<double> dy = testing::random_tensor(shape, 24);
  const Tensor<double>& y_ref = relu.forward(ctx, bn.forward(ctx, x, Mode::train), Mode::train);
  const Tensor<double>& y = fused.forward(ctx, x, Mode::train);
  std::size_t clamped = 0;
  for (std::size_t i = 0; i < x.numel(); ++i) {
    CHECK(y[i] == Approx(y_ref[i]).margin(1e-14));
    clamped += y[i] == 0;
  }
  CHECK(clamped > x.numel() / 5);  // both sides of the ReLU are exercised
  const Tensor<double>& dx_ref = bn.backward(ctx, relu.backward(ctx, dy));
  const Tensor<double>& dx = fused.backward(ctx, dy);
  for (std::size_t i = 0; i < x.numel(); ++i) CHECK(dx[i] == Approx(dx_ref[i]).margin(1e-12));
  for (const char* name : {"gamma", "beta"}) {
    const Tensor<double>* g_ref = nullptr;
    const Tensor<double>* g = nullptr;
    for (auto& p : bn.params())
      if (p.name == name) g_ref = p.grad;
    for (auto& p : fused.params())
      if (p.name == name) g = p.grad;
    for (int c = 0; c < 4; ++c) CHECK((*g)[c] == Approx((*g_ref)[c]).margin(1e-12));
  }
  const Tensor<double>& z_ref = relu.forward(ctx, bn.forward(ctx, x, Mode::infer), Mode::infer);
  const Tensor<double>& z = fused.forward(ctx, x, Mode::infer);
  for (std::size_t i = 0; i < x.numel(); ++i) CHECK(z[i] == Approx(z_ref[i]).margin(1e-14));
}

TEST_CASE("BatchNorm rejects bad inputs and a backward without a forward", "[batchnorm][errors]") {
  Context ctx;
  BatchNorm<double> bn(ctx, 3);
  CHECK_THROWS_AS(bn.forward(ctx, Tensor<double>(Shape{4, 2}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(bn.forward(ctx, Tensor<double>(Shape{4, 3, 2}), Mode::train), InvalidArgument);
  // One value per channel has no batch statistics.
  CHECK_THROWS_AS(bn.forward(ctx, Tensor<double>(Shape{1, 3}), Mode::train), InvalidArgument);
  const Tensor<double> x = testing::random_tensor(Shape{4, 3}, 1);
  CHECK_THROWS_WITH(bn.backward(ctx, x), Catch::Contains("called before forward"));
  bn.forward(ctx, x, Mode::infer);
  CHECK_THROWS_AS(bn.backward(ctx, Tensor<double>(Shape{4, 2})), InvalidArgument);  // the frozen backward's checks
  bn.forward(ctx, x, Mode::train);
  CHECK_THROWS_AS(bn.backward(ctx, Tensor<double>(Shape{4, 2})), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm<double>(ctx, 0), InvalidArgument);
  CHECK_THROWS_AS(BatchNorm<double>(ctx, 3, 1.5), InvalidArgument);
}

TEST_CASE("After an inference forward, backward gives the frozen batch norm's input gradient", "[batchnorm][gradcheck]") {
  for (bool relu : {false, true}) {
    for (const Shape& shape : {Shape{3, 4, 5, 6}, Shape{5, 7}}) {
      Context ctx(21);
      std::unique_ptr<BatchNorm<double>> bn = relu ? std::make_unique<BatchNormReLU<double>>(ctx, shape.c())
                                                   : std::make_unique<BatchNorm<double>>(ctx, shape.c());
      // Statistics and parameters away from their initial values, so that each channel scales differently.
      bn->params()[0].value->copy_from(testing::random_tensor(Shape{shape.c()}, 3, 0.5));
      for (std::size_t c = 0; c < static_cast<std::size_t>(shape.c()); ++c) (*bn->params()[0].value)[c] += 1.0;
      bn->buffers()[0].value->copy_from(testing::random_tensor(Shape{shape.c()}, 4));
      Tensor<double> var = testing::random_tensor(Shape{shape.c()}, 5, 0.4);
      for (std::size_t c = 0; c < var.numel(); ++c) var[c] += 1.0;
      bn->buffers()[1].value->copy_from(var);

      Tensor<double> x = testing::random_tensor(shape, 6);
      const Tensor<double>& y = bn->forward(ctx, x, Mode::infer);
      const Tensor<double> r = testing::random_tensor(y.shape(), 7);
      const Tensor<double> dx = bn->backward(ctx, r);
      const auto result = testing::check_gradients(
          [&] { return testing::dot(bn->forward(ctx, x, Mode::infer), r); }, {{"input", &x, &dx}});
      INFO((relu ? "BatchNormReLU " : "BatchNorm ") << shape << "\n" << result.summary());
      CHECK(result.ok);
    }
  }
}
