#pragma once
// Flatten: [N, C, H, W] (or any rank) -> [N, C·H·W]. Row-major storage already has that order, so both
// directions are a copy under a new shape.
#include <string>

#include "mien/layers/layer.hpp"

namespace mien {

template <class T>
class Flatten : public Layer<T> {
 public:
  std::string type() const override { return "Flatten"; }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() >= 1, "Flatten", "input has no batch dimension");
    return Shape{input.n(), input.per_sample()};
  }

  const Tensor<T>& forward(Context& /*ctx*/, const Tensor<T>& x, Mode /*mode*/) override {
    y_ = x;
    y_.reshape(output_shape(x.shape()));
    input_shape_ = x.shape();
    return y_;
  }

  const Tensor<T>& backward(Context& /*ctx*/, const Tensor<T>& dy) override {
    check_arg(input_shape_.rank() >= 1, "Flatten::backward", "called before forward");
    check_arg(dy.shape() == output_shape(input_shape_), "Flatten::backward", "gradient ", dy.shape(),
              " does not match output ", output_shape(input_shape_));
    dx_ = dy;
    dx_.reshape(input_shape_);
    return dx_;
  }

 private:
  Shape input_shape_;
  Tensor<T> y_, dx_;
};

}  // namespace mien
