// The paper's attention-gated residual block as the library declares it (a Residual whose body is conv → BN+ReLU →
// conv → BN and whose skip is scaled by a DynamicAttention layer's scores): parameter names, the gated skip's
// arithmetic, gradient checks of the attention -> gated block chain, and argument errors.
#include <catch2/catch.hpp>

#include "mien/models/net.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {
std::vector<LayerSpec> paper_block_body(std::int64_t channels, int kernel = 3) {
  return {nn::conv(channels, kernel).named("conv1"), nn::batchnorm_relu().named("bn1"),
          nn::conv(channels, kernel).named("conv2"), nn::batchnorm().named("bn2")};
}
}  // namespace

TEST_CASE("The paper's residual block names its parameters and buffers after its body's layers", "[residual]") {
  Context ctx;
  Net<float> net({nn::attention(), nn::gated_residual(paper_block_body(8)).named("block1")});
  net.build(ctx, Shape{8, 6, 6});
  std::vector<std::string> names;
  for (auto& p : net.params()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"attention_1.dense.weight", "attention_1.dense.bias",
                                          "block1.body.conv1.weight", "block1.body.conv1.bias",
                                          "block1.body.bn1.gamma",    "block1.body.bn1.beta",
                                          "block1.body.conv2.weight", "block1.body.conv2.bias",
                                          "block1.body.bn2.gamma",    "block1.body.bn2.beta"});
  std::vector<std::string> buffers;
  for (auto& b : net.layers().at(1).buffers()) buffers.push_back(b.name);
  CHECK(buffers == std::vector<std::string>{"body.bn1.running_mean", "body.bn1.running_var", "body.bn2.running_mean",
                                            "body.bn2.running_var"});
  Layer<float>& block = net.layers().at(1);
  CHECK(block.param_count() == 2 * (8 * 8 * 9 + 8) + 2 * 16);
  CHECK(block.output_shape(Shape{2, 8, 6, 6}) == Shape({2, 8, 6, 6}));
  // Two convolutions plus the sum's one operation per element.
  CHECK(block.macs(Shape{2, 8, 6, 6}) == 2 * (2 * 8 * 36) * 8 * 9 + 2 * 8 * 36);
}

TEST_CASE("A gated residual block adds scores ⊙ x to its body's output before the last ReLU", "[residual]") {
  Context ctx(3);
  Net<double> net({nn::attention(), nn::gated_residual(paper_block_body(3))});
  net.build(ctx, Shape{3, 4, 5});
  auto& attention = static_cast<DynamicAttention<double>&>(net.layers().at(0));
  auto& block = static_cast<Residual<double>&>(net.layers().at(1));
  const Tensor<double> x = testing::random_tensor(Shape{2, 3, 4, 5}, 4, 2.0);
  const Tensor<double> y = net.forward(ctx, x, Mode::train);
  const Tensor<double> a = attention.forward(ctx, x, Mode::train);
  const Tensor<double>& s = attention.scores();
  // In train mode the body's output depends on its input only (batch statistics), so this is the body of y.
  const Tensor<double> z = block.body().forward(ctx, a, Mode::train);
  std::size_t positive = 0;
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t h = 0; h < 4; ++h)
        for (std::int64_t w = 0; w < 5; ++w) {
          const double sum = z.at(n, c, h, w) + s.at(n, c) * a.at(n, c, h, w);
          CHECK(y.at(n, c, h, w) == Approx(std::max(sum, 0.0)).margin(1e-12));
          positive += sum > 0;
        }
  CHECK(positive > 20);
}

TEST_CASE("Attention scores gating the paper's residual block: gradients through both uses of the scores",
          "[residual][attention][gradcheck]") {
  // The scores reach y twice (the attention's own scaling and the gated skip); the block hands its share back
  // through add_score_gradient, so a lost share shows up in the attention's dense gradients and in dx.
  const int kernel = GENERATE(3, 5);
  Context ctx(10);
  Net<double> net({nn::attention(), nn::gated_residual(paper_block_body(3, kernel))});
  net.build(ctx, Shape{3, 5, 4});
  testing::GradcheckOptions opt;
  opt.max_elements = 80;
  opt.step = 1e-4;
  const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(2), 11, 2.0), Mode::train, opt);
  INFO("kernel " << kernel << "\n" << result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("A gated residual block rejects a missing gate, a gate of other channels and a wrong gradient",
          "[residual][errors]") {
  Context ctx;
  auto body = std::make_unique<Sequential<float>>();
  body->emplace<Conv2D<float>>("conv1", ctx, 4, 4, 3);
  Residual<float> block(std::move(body), nullptr, true, true);
  const Tensor<float> x = Tensor<float>::filled(Shape{2, 4, 3, 3}, 1.0f);
  CHECK_THROWS_AS(block.backward(ctx, x), InvalidArgument);  // before forward
  CHECK_THROWS_WITH(block.forward(ctx, x, Mode::train), Catch::Contains("needs its attention layer"));

  DynamicAttention<float> other(ctx, 4);
  block.set_gate(other);  // its scores are still empty: it has not run in this forward pass
  CHECK_THROWS_WITH(block.forward(ctx, x, Mode::train), Catch::Contains("attention scores of this forward pass"));
  other.forward(ctx, Tensor<float>::filled(Shape{1, 4, 3, 3}, 1.0f), Mode::train);  // scores for one image, not two
  CHECK_THROWS_WITH(block.forward(ctx, x, Mode::train), Catch::Contains("expected [2, 4]"));

  other.forward(ctx, x, Mode::train);
  block.forward(ctx, x, Mode::train);
  CHECK_THROWS_AS(block.backward(ctx, Tensor<float>(Shape{2, 4, 3, 2})), InvalidArgument);
  Residual<float> plain(std::make_unique<Sequential<float>>(), nullptr, true);
  CHECK_THROWS_AS(plain.set_gate(other), InvalidArgument);
}
