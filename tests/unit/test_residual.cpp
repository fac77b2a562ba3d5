// Attention-gated residual block: parameter names, the gated skip's arithmetic, gradient checks for x, the gate
// and every parameter, the attention -> gated block chain the paper builds, and argument errors.
#include <catch2/catch.hpp>

#include "mien/layers/dynamic_attention.hpp"
#include "mien/layers/gated_residual_block.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {
// Buffers (batch-norm running statistics) are put back after each probe so every evaluation starts alike.
struct SavedBuffers {
  std::vector<BufferRef<double>> refs;
  std::vector<Tensor<double>> values;
  explicit SavedBuffers(std::vector<BufferRef<double>> buffers) : refs(std::move(buffers)) {
    for (auto& b : refs) values.push_back(*b.value);
  }
  void restore() {
    for (std::size_t k = 0; k < refs.size(); ++k) *refs[k].value = values[k];
  }
};

void add_param_targets(std::vector<ParamRef<double>> params, const std::string& prefix,
                       std::vector<Tensor<double>>& grads, std::vector<testing::GradTarget>& targets) {
  for (auto& p : params) grads.push_back(*p.grad);
  const std::size_t first = grads.size() - params.size();
  for (std::size_t k = 0; k < params.size(); ++k)
    targets.push_back({prefix + params[k].name, params[k].value, &grads[first + k]});
}
}  // namespace

TEST_CASE("GatedResidualBlock names its parameters and buffers after its children", "[residual]") {
  Context ctx;
  GatedResidualBlock<float> block(ctx, 8);
  std::vector<std::string> names;
  for (auto& p : block.params()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"conv1.weight", "conv1.bias", "bn1.gamma", "bn1.beta", "conv2.weight",
                                          "conv2.bias", "bn2.gamma", "bn2.beta"});
  std::vector<std::string> buffers;
  for (auto& b : block.buffers()) buffers.push_back(b.name);
  CHECK(buffers ==
        std::vector<std::string>{"bn1.running_mean", "bn1.running_var", "bn2.running_mean", "bn2.running_var"});
  CHECK(block.param_count() == 2 * (8 * 8 * 9 + 8) + 2 * 16);
  CHECK(block.output_shape(Shape{2, 8, 6, 6}) == Shape({2, 8, 6, 6}));
  CHECK(block.macs(Shape{2, 8, 6, 6}) == 2 * (2 * 8 * 36) * 8 * 9);
}

TEST_CASE("GatedResidualBlock adds gate ⊙ x to the main path before the last ReLU", "[residual]") {
  Context ctx(3);
  GatedResidualBlock<double> block(ctx, 3);
  const Tensor<double> x = testing::random_tensor(Shape{2, 3, 4, 5}, 4, 2.0);
  Tensor<double> zeros = Tensor<double>::zeros(Shape{2, 3}), gate = testing::random_tensor(Shape{2, 3}, 5, 2.0);
  // In train mode the main path z depends on x only, so y(gate) = ReLU(z + gate ⊙ x) for the same z.
  const Tensor<double> main_only = block.forward(ctx, x, zeros, Mode::train);
  const Tensor<double> gated = block.forward(ctx, x, gate, Mode::train);
  std::size_t compared = 0;
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t h = 0; h < 4; ++h)
        for (std::int64_t w = 0; w < 5; ++w) {
          if (main_only.at(n, c, h, w) <= 0 || gated.at(n, c, h, w) <= 0) continue;  // a ReLU clipped one side
          CHECK(gated.at(n, c, h, w) - main_only.at(n, c, h, w) ==
                Approx(gate.at(n, c) * x.at(n, c, h, w)).margin(1e-12));
          ++compared;
        }
  CHECK(compared > 20);
  // The ungated forward is the gate of ones.
  const Tensor<double> ones = Tensor<double>::filled(Shape{2, 3}, 1.0);
  const Tensor<double> with_ones = block.forward(ctx, x, ones, Mode::train);
  CHECK(block.forward(ctx, x, Mode::train).to_vector() == with_ones.to_vector());
}

TEST_CASE("GatedResidualBlock gradients match finite differences", "[residual][gradcheck]") {
  Context ctx(6);
  const int kernel = GENERATE(3, 5);
  GatedResidualBlock<double> block(ctx, 3, kernel);
  Tensor<double> x = testing::random_tensor(Shape{2, 3, 5, 4}, 7, 2.0);
  Tensor<double> gate = testing::random_tensor(Shape{2, 3}, 8, 1.5);
  const Tensor<double> r = testing::random_tensor(x.shape(), 9);
  SavedBuffers buffers(block.buffers());
  block.forward(ctx, x, gate, Mode::train);
  const Tensor<double> dx = block.backward(ctx, r);
  const Tensor<double> dgate = block.gate_grad();
  std::vector<Tensor<double>> grads;
  grads.reserve(16);
  std::vector<testing::GradTarget> targets{{"x", &x, &dx}, {"gate", &gate, &dgate}};
  add_param_targets(block.params(), "", grads, targets);
  const auto result = testing::check_gradients(
      [&] {
        const double value = testing::dot(block.forward(ctx, x, gate, Mode::train), r);
        buffers.restore();
        return value;
      },
      targets);
  INFO("kernel " << kernel << "\n" << result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Attention scores gating a residual block: gradients through both uses of the scores",
          "[residual][attention][gradcheck]") {
  // The paper's pattern: a = attention(x); y = block(a, gate = attention scores). The scores reach y twice (the
  // channel scaling and the gated skip), so dx needs backward(dy, dscores_extra = block.gate_grad()).
  Context ctx(10);
  DynamicAttention<double> att(ctx, 3);
  GatedResidualBlock<double> block(ctx, 3);
  Tensor<double> x = testing::random_tensor(Shape{2, 3, 4, 4}, 11, 2.0);
  const Tensor<double> r = testing::random_tensor(x.shape(), 12);
  SavedBuffers buffers(block.buffers());
  auto loss = [&] {
    const Tensor<double>& attended = att.forward(ctx, x, Mode::train);
    const double value = testing::dot(block.forward(ctx, attended, att.scores(), Mode::train), r);
    buffers.restore();
    return value;
  };
  loss();
  const Tensor<double>& dattended = block.backward(ctx, r);
  const Tensor<double> dx = att.backward(ctx, dattended, block.gate_grad());
  std::vector<Tensor<double>> grads;
  grads.reserve(16);
  std::vector<testing::GradTarget> targets{{"x", &x, &dx}};
  add_param_targets(att.params(), "attention.", grads, targets);
  add_param_targets(block.params(), "block.", grads, targets);
  const auto result = testing::check_gradients(loss, targets);
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("GatedResidualBlock rejects mismatched inputs and gates", "[residual][errors]") {
  Context ctx;
  GatedResidualBlock<float> block(ctx, 4);
  const Tensor<float> x = Tensor<float>::filled(Shape{2, 4, 3, 3}, 1.0f);
  CHECK_THROWS_AS(block.backward(ctx, x), InvalidArgument);  // before forward
  CHECK_THROWS_AS(block.forward(ctx, x, Tensor<float>(Shape{2, 3}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(block.forward(ctx, x, Tensor<float>(Shape{1, 4}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(block.forward(ctx, Tensor<float>(Shape{2, 5, 3, 3}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(GatedResidualBlock<float>(ctx, 4, 4), InvalidArgument);  // even kernel
  block.forward(ctx, x, Mode::train);
  CHECK_THROWS_AS(block.backward(ctx, Tensor<float>(Shape{2, 4, 3, 2})), InvalidArgument);
}
