#pragma once
// MaxPool2D (square window, stride = window) and GlobalAvgPool ([N, C, H, W] -> [N, C]).
#include <cstdint>
#include <string>

#include "mien/layers/layer.hpp"
#include "mien/ops/pooling.hpp"

namespace mien {

template <class T>
class MaxPool2D : public Layer<T> {
 public:
  explicit MaxPool2D(int window = 2) : window_(window) {
    check_arg(window >= 1, "MaxPool2D", "window must be at least 1, got ", window);
  }

  std::string type() const override { return "MaxPool2D"; }
  int window() const { return window_; }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 4 && input.h() >= window_ && input.w() >= window_, "MaxPool2D", "window ", window_,
              " does not fit input ", input);
    return Shape{input.n(), input.c(), input.h() / window_, input.w() / window_};
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::maxpool2d_forward(ctx, x, window_, y_);
    input_ = &x;
    return y_;
  }

  // Recomputes the routing from the saved input and output rather than storing argmax indices.
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(input_ != nullptr, "MaxPool2D::backward", "called before forward");
    ops::maxpool2d_backward(ctx, *input_, y_, dy, window_, dx_);
    return dx_;
  }

 private:
  int window_;
  Tensor<T> y_, dx_;
  const Tensor<T>* input_ = nullptr;
};

template <class T>
class GlobalAvgPool : public Layer<T> {
 public:
  std::string type() const override { return "GlobalAvgPool"; }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 4, "GlobalAvgPool", "input must be NCHW, got ", input);
    return Shape{input.n(), input.c()};
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode /*mode*/) override {
    ops::global_avgpool_forward(ctx, x, y_);
    input_shape_ = x.shape();
    return y_;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(input_shape_.rank() == 4, "GlobalAvgPool::backward", "called before forward");
    ops::global_avgpool_backward(ctx, dy, input_shape_, dx_);
    return dx_;
  }

 private:
  Shape input_shape_;
  Tensor<T> y_, dx_;
};

}  // namespace mien
