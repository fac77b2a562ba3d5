#pragma once
// Activation layers. Each keeps its output, which is all its derivative needs.
#include <string>

#include "mien/layers/layer.hpp"
#include "mien/ops/activation.hpp"

namespace mien {

template <class T>
class ReLU : public Layer<T> {
 public:
  std::string type() const override { return "ReLU"; }
  Shape output_shape(const Shape& input) const override { return input; }
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::relu_forward(ctx, x, y_);
    return y_;
  }
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    ops::relu_backward(ctx, y_, dy, dx_);
    return dx_;
  }

 private:
  Tensor<T> y_, dx_;
};

template <class T>
class Tanh : public Layer<T> {
 public:
  std::string type() const override { return "Tanh"; }
  Shape output_shape(const Shape& input) const override { return input; }
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::tanh_forward(ctx, x, y_);
    return y_;
  }
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    ops::tanh_backward(ctx, y_, dy, dx_);
    return dx_;
  }

 private:
  Tensor<T> y_, dx_;
};

// Softmax over the classes of [N, K] scores.
template <class T>
class Softmax : public Layer<T> {
 public:
  std::string type() const override { return "Softmax"; }
  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 2, "Softmax", "input must be [N, K], got ", input);
    return input;
  }
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::softmax_forward(ctx, x, y_);
    return y_;
  }
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    ops::softmax_backward(ctx, y_, dy, dx_);
    return dx_;
  }

 private:
  Tensor<T> y_, dx_;
};

}  // namespace mien
