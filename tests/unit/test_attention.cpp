// Dynamic attention: hand-computed scores and output, the paper-literal reading (identity), gradient checks for
// both kinds with and without score gradients from other users, and argument errors.
#include <catch2/catch.hpp>
#include <cmath>

#include "mien/layers/dynamic_attention.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {
Tensor<double>& param(DynamicAttention<double>& att, const std::string& name) {
  for (auto& p : att.params())
    if (p.name == name) return *p.value;
  throw std::logic_error(name);
}

// Checks the input and parameter gradients of loss = sum(y ⊙ r) + sum(s ⊙ r2) (r2 empty: the first term only).
testing::GradcheckResult check_attention(DynamicAttention<double>& att, Context& ctx, Tensor<double> x,
                                         const Tensor<double>& r, const Tensor<double>& r2) {
  att.forward(ctx, x, Mode::train);
  const Tensor<double> dx = r2.empty() ? att.backward(ctx, r) : att.backward(ctx, r, r2);
  auto params = att.params();
  std::vector<Tensor<double>> grads;
  for (auto& p : params) grads.push_back(*p.grad);
  std::vector<testing::GradTarget> targets{{"input", &x, &dx}};
  for (std::size_t k = 0; k < params.size(); ++k) targets.push_back({params[k].name, params[k].value, &grads[k]});
  return testing::check_gradients(
      [&] {
        const double y_term = testing::dot(att.forward(ctx, x, Mode::train), r);
        return r2.empty() ? y_term : y_term + testing::dot(att.scores(), r2);
      },
      targets);
}
}  // namespace

TEST_CASE("Per-channel attention scores are C times a softmax of tanh(dense(GAP(x)))", "[attention]") {
  Context ctx;
  DynamicAttention<double> att(ctx, 2);
  CHECK(att.params().size() == 2);
  CHECK(att.params()[0].name == "dense.weight");
  CHECK(att.params()[1].name == "dense.bias");
  // With an identity dense layer, a = GAP(x). Channel 0 holds 0, 1, 0, 1 (mean 0.5); channel 1 holds -1, 0, -1, 0
  // (mean -0.5). tanh(±0.5) = ±0.4621172, softmax: p0 = 1 / (1 + e^(-0.9242343)) = 0.7159041, p1 = 0.2840959,
  // scores s = 2 p = (1.4318082, 0.5681918).
  param(att, "dense.weight") = Tensor<double>(Shape{2, 2}, {1, 0, 0, 1});
  const Tensor<double> x(Shape{1, 2, 2, 2}, {0, 1, 0, 1, -1, 0, -1, 0});
  const Tensor<double>& y = att.forward(ctx, x, Mode::infer);
  const double p0 = 1 / (1 + std::exp(-2 * std::tanh(0.5)));
  CHECK(p0 == Approx(0.7159041).epsilon(1e-6));
  CHECK(att.scores().shape() == Shape({1, 2}));
  CHECK(att.scores()[0] == Approx(2 * p0).epsilon(1e-12));
  CHECK(att.scores()[1] == Approx(2 * (1 - p0)).epsilon(1e-12));
  const double expected[8] = {0, 2 * p0, 0, 2 * p0, -2 * (1 - p0), 0, -2 * (1 - p0), 0};
  for (int i = 0; i < 8; ++i) CHECK(y[i] == Approx(expected[i]).epsilon(1e-12));
  // Dense 2x2 and the expand step 2x2 per sample, then one multiply per element of x.
  CHECK(att.macs(x.shape()) == 4 + 4 + 8);
}

TEST_CASE("Per-channel attention scores average to one per sample", "[attention]") {
  Context ctx(4);
  DynamicAttention<float> att(ctx, 16);
  const Tensor<double> source = testing::random_tensor(Shape{3, 16, 5, 5}, 9, 2.0);
  Tensor<float> x(source.shape());
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(source[i]);
  att.forward(ctx, x, Mode::train);
  for (std::int64_t n = 0; n < 3; ++n) {
    double sum = 0;
    for (std::int64_t c = 0; c < 16; ++c) {
      CHECK(att.scores().at(n, c) > 0);
      sum += att.scores().at(n, c);
    }
    CHECK(sum / 16 == Approx(1).epsilon(1e-5));
  }
}

TEST_CASE("Paper-literal attention is the identity: a softmax over one value is always 1", "[attention]") {
  Context ctx(8);
  DynamicAttention<double> att(ctx, 4, AttentionScores::paper_literal);
  CHECK(param(att, "dense.weight").shape() == Shape({1, 4}));
  const Tensor<double> x = testing::random_tensor(Shape{2, 4, 3, 3}, 10, 3.0);
  CHECK(att.forward(ctx, x, Mode::train).to_vector() == x.to_vector());
  for (double s : att.scores().to_vector()) CHECK(s == 1.0);
  att.backward(ctx, testing::random_tensor(x.shape(), 11), testing::random_tensor(Shape{2, 4}, 12));
  for (auto& p : att.params())
    for (double g : p.grad->to_vector()) CHECK(g == Approx(0).margin(1e-15));
}

TEST_CASE("Dynamic attention gradients match finite differences", "[attention][gradcheck]") {
  Context ctx(13);
  const AttentionScores kind = GENERATE(AttentionScores::per_channel, AttentionScores::paper_literal);
  const bool extra = GENERATE(false, true);
  DynamicAttention<double> att(ctx, 5, kind);
  param(att, "dense.bias") = testing::random_tensor(Shape{param(att, "dense.bias").shape()}, 14, 0.5);
  const Shape shape{3, 5, 4, 3};
  const Tensor<double> r = testing::random_tensor(shape, 15);
  const Tensor<double> r2 = extra ? testing::random_tensor(Shape{3, 5}, 16, 2.0) : Tensor<double>(Shape{0});
  const auto result = check_attention(att, ctx, testing::random_tensor(shape, 17, 2.0), r, r2);
  INFO(to_string(kind) << (extra ? " with" : " without") << " score gradients\n" << result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Dynamic attention through the generic layer check", "[attention][gradcheck]") {
  Context ctx(19);
  DynamicAttention<double> att(ctx, 6);
  const auto result = testing::check_layer(att, ctx, testing::random_tensor(Shape{2, 6, 3, 4}, 20, 2.0));
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Dynamic attention rejects mismatched inputs and score gradients", "[attention][errors]") {
  Context ctx;
  DynamicAttention<float> att(ctx, 4);
  CHECK_THROWS_AS(att.backward(ctx, Tensor<float>(Shape{1, 4, 2, 2})), InvalidArgument);  // before forward
  CHECK_THROWS_AS(att.forward(ctx, Tensor<float>(Shape{1, 3, 2, 2}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(att.forward(ctx, Tensor<float>(Shape{1, 4}), Mode::train), InvalidArgument);
  const Tensor<float> x = Tensor<float>::filled(Shape{2, 4, 2, 2}, 1.0f);
  att.forward(ctx, x, Mode::train);
  CHECK_THROWS_AS(att.backward(ctx, x, Tensor<float>(Shape{2, 3})), InvalidArgument);
  CHECK_THROWS_AS(att.backward(ctx, Tensor<float>(Shape{2, 4, 2, 3})), InvalidArgument);
  CHECK(att.output_shape(x.shape()) == x.shape());
}
