#pragma once
// Dense (fully connected): y = x wᵀ + b.  x [N, F] -> y [N, O]
#include <cstdint>
#include <string>
#include <vector>

#include "mien/layers/init.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/dense.hpp"

namespace mien {

template <class T>
class Dense : public Layer<T> {
 public:
  // Weights [O, F] are Glorot-uniform (fan_in = F, fan_out = O), biases zero.
  Dense(Context& ctx, std::int64_t inputs, std::int64_t outputs) : inputs_(inputs), outputs_(outputs) {
    check_arg(inputs > 0 && outputs > 0, "Dense", "sizes must be positive, got ", inputs, " -> ", outputs);
    const Shape shape{outputs, inputs};
    weight_ = glorot_uniform<T>(shape, inputs, outputs, ctx.random_stream(ctx.next_stream_id()), ctx.device());
    bias_ = Tensor<T>::zeros(Shape{outputs}, ctx.device());
    weight_grad_ = Tensor<T>::zeros(shape, ctx.device());
    bias_grad_ = Tensor<T>::zeros(Shape{outputs}, ctx.device());
  }

  std::string type() const override { return "Dense"; }
  std::vector<ParamRef<T>> params() override {
    return {{"weight", &weight_, &weight_grad_}, {"bias", &bias_, &bias_grad_}};
  }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 2 && input[1] == inputs_, "Dense", "expects [N, ", inputs_, "] input, got ", input);
    return Shape{input[0], outputs_};
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::dense_forward(ctx, x, weight_, bias_, y_);
    input_ = &x;
    return y_;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(input_ != nullptr, "Dense::backward", "called before forward");
    ops::dense_backward(ctx, *input_, weight_, dy, dx_, weight_grad_, bias_grad_);
    return dx_;
  }

  std::int64_t macs(const Shape& input) const override { return output_shape(input).numel() * inputs_; }

  std::int64_t inputs() const { return inputs_; }
  std::int64_t outputs() const { return outputs_; }
  Tensor<T>& weight() { return weight_; }
  Tensor<T>& bias() { return bias_; }
  const Tensor<T>& weight() const { return weight_; }
  const Tensor<T>& bias() const { return bias_; }

 private:
  std::int64_t inputs_, outputs_;
  Tensor<T> weight_, bias_, weight_grad_, bias_grad_;
  Tensor<T> y_, dx_;
  const Tensor<T>* input_ = nullptr;
};

}  // namespace mien
