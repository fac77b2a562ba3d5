#pragma once
// Conv2D: stride 1, "same" padding, odd square kernel, with bias.  x [N, C, H, W] -> y [N, K, H, W]
#include <cstdint>
#include <string>
#include <vector>

#include "mien/layers/init.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/conv2d.hpp"

namespace mien {

template <class T>
class Conv2D : public Layer<T> {
 public:
  // Weights [K, C, k, k] are Glorot-uniform with Keras' fans (fan_in = C·k·k, fan_out = K·k·k), biases zero.
  Conv2D(Context& ctx, std::int64_t in_channels, std::int64_t out_channels, int kernel)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_(kernel) {
    check_arg(in_channels > 0 && out_channels > 0, "Conv2D", "channel counts must be positive, got ", in_channels,
              " -> ", out_channels);
    check_arg(kernel > 0 && kernel % 2 == 1, "Conv2D", "kernel must be odd and positive (same padding), got ",
              kernel);
    const Shape shape{out_channels, in_channels, kernel, kernel};
    const std::int64_t taps = std::int64_t{kernel} * kernel;
    weight_ = glorot_uniform<T>(shape, in_channels * taps, out_channels * taps,
                                ctx.random_stream(ctx.next_stream_id()), ctx.device());
    bias_ = Tensor<T>::zeros(Shape{out_channels}, ctx.device());
    weight_grad_ = Tensor<T>::zeros(shape, ctx.device());
    bias_grad_ = Tensor<T>::zeros(Shape{out_channels}, ctx.device());
  }

  std::string type() const override { return "Conv2D"; }
  std::vector<ParamRef<T>> params() override {
    return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
  }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 4 && input.c() == in_channels_, "Conv2D", "expects [N, ", in_channels_,
              ", H, W] input, got ", input);
    return Shape{input.n(), out_channels_, input.h(), input.w()};
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::conv2d_forward(ctx, x, weight_, bias_, y_);
    input_ = &x;
    return y_;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(input_ != nullptr, "Conv2D::backward", "called before forward");
    ops::conv2d_backward_filter(ctx, *input_, dy, weight_grad_, bias_grad_);
    if (!input_gradient_) {
      dx_ = Tensor<T>();
      return dx_;
    }
    ops::conv2d_backward_data(ctx, dy, weight_, input_->shape(), dx_);
    return dx_;
  }

  // Off for a layer whose input needs no gradient (a network's first convolution, reading the images): backward
  // then skips its backward-data pass and returns an empty tensor.
  void set_input_gradient(bool needed) { input_gradient_ = needed; }

  std::int64_t macs(const Shape& input) const override {
    const Shape out = output_shape(input);
    return out.numel() * in_channels_ * kernel_ * kernel_;
  }

  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels() const { return out_channels_; }
  int kernel() const { return kernel_; }
  Tensor<T>& weight() { return weight_; }
  Tensor<T>& bias() { return bias_; }
  const Tensor<T>& weight() const { return weight_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  std::int64_t in_channels_, out_channels_;
  int kernel_;
  bool input_gradient_ = true;
  Tensor<T> weight_, bias_, weight_grad_, bias_grad_;
  Tensor<T> y_, dx_;
  const Tensor<T>* input_ = nullptr;
};

}  // namespace mien
