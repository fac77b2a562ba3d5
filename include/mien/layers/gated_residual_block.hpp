#pragma once
// GatedResidualBlock<T>: the paper's residual block whose skip connection is gated by the attention scores.
//   h = ReLU(BN1(conv1(x))),  z = BN2(conv2(h)),  y = ReLU(z + gate ⊙ x)
// with x [N, C, H, W], gate [N, C] (one weight per sample and channel, e.g. DynamicAttention::scores()), and
// both convolutions C -> C with "same" padding so the skip needs no projection. It has two inputs, so it is a
// Module rather than a Layer; backward returns dL/dx (main path plus skip) and leaves dL/dgate in gate_grad().
// BN1 and its ReLU run fused (BatchNormReLU).
#include <cstdint>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/activation.hpp"
#include "mien/layers/batchnorm.hpp"
#include "mien/layers/conv2d.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"

namespace mien {

template <class T>
class GatedResidualBlock : public Module<T> {
 public:
  GatedResidualBlock(Context& ctx, std::int64_t channels, int kernel = 3)
      : channels_(channels),
        conv1_(ctx, channels, channels, kernel),
        bn1_(ctx, channels),
        conv2_(ctx, channels, channels, kernel),
        bn2_(ctx, channels) {}

  std::string type() const override { return "GatedResidualBlock"; }
  std::int64_t channels() const { return channels_; }
  int kernel() const { return conv1_.kernel(); }
  Conv2D<T>& conv1() { return conv1_; }
  BatchNormReLU<T>& bn1() { return bn1_; }
  Conv2D<T>& conv2() { return conv2_; }
  BatchNorm<T>& bn2() { return bn2_; }

  std::vector<ParamRef<T>> params() override {
    std::vector<ParamRef<T>> out = prefixed("conv1", conv1_.params());
    append(out, prefixed("bn1", bn1_.params()));
    append(out, prefixed("conv2", conv2_.params()));
    append(out, prefixed("bn2", bn2_.params()));
    return out;
  }
  std::vector<BufferRef<T>> buffers() override {
    std::vector<BufferRef<T>> out = prefixed("bn1", bn1_.buffers());
    append(out, prefixed("bn2", bn2_.buffers()));
    return out;
  }

  Shape output_shape(const Shape& input) const { return conv2_.output_shape(conv1_.output_shape(input)); }
  std::int64_t macs(const Shape& input) const { return conv1_.macs(input) + conv2_.macs(input); }

  // x and gate must stay alive and unchanged until backward has run (the layer contract, for both inputs).
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& gate, Mode mode) {
    output_shape(x.shape());
    check_arg(gate.shape() == Shape({x.shape().n(), channels_}), "GatedResidualBlock", "gate has shape ", gate.shape(),
              ", expected [", x.shape().n(), ", ", channels_, "] for input ", x.shape());
    const Tensor<T>& h = bn1_.forward(ctx, conv1_.forward(ctx, x, mode), mode);
    const Tensor<T>& z = bn2_.forward(ctx, conv2_.forward(ctx, h, mode), mode);
    ops::gated_add_forward(ctx, z, x, gate, sum_);
    x_ = &x;
    gate_ = &gate;
    return relu_out_.forward(ctx, sum_, mode);
  }

  // The ungated variant (a plain residual block, for ablations): the gate is 1 everywhere.
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) {
    ones_.resize(Shape{x.shape().n(), channels_}, x.device());
    ops::fill(ctx, ones_, T(1));
    return forward(ctx, x, ones_, mode);
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) {
    check_arg(x_ != nullptr, "GatedResidualBlock::backward", "called before forward");
    const Tensor<T>& dsum = relu_out_.backward(ctx, dy);
    // The sum passes dsum unchanged to the main path; the skip gets gate ⊙ dsum, the gate Σ_hw dsum ⊙ x.
    ops::gated_add_backward(ctx, *x_, *gate_, dsum, dskip_, dgate_);
    const Tensor<T>& dh = conv2_.backward(ctx, bn2_.backward(ctx, dsum));
    const Tensor<T>& dx_main = conv1_.backward(ctx, bn1_.backward(ctx, dh));
    ops::add(ctx, dx_main, dskip_, dx_);
    return dx_;
  }

  // dL/dgate [N, C] of the last backward.
  const Tensor<T>& gate_grad() const { return dgate_; }

 private:
  std::int64_t channels_;
  Conv2D<T> conv1_;
  BatchNormReLU<T> bn1_;
  Conv2D<T> conv2_;
  BatchNorm<T> bn2_;
  ReLU<T> relu_out_;
  Tensor<T> ones_, sum_, dskip_, dgate_, dx_;
  const Tensor<T>* x_ = nullptr;
  const Tensor<T>* gate_ = nullptr;
};

}  // namespace mien
