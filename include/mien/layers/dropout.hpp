#pragma once
// Dropout<T>: inverted dropout in training, the identity in inference. Its mask comes from the context's random
// stream for this layer at the current step, so repeated forwards within a step share one mask and the next
// step (ctx.advance_step()) draws a fresh one; the mask is never stored, backward draws it again.
#include <cstdint>
#include <string>

#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/dropout.hpp"

namespace mien {

template <class T>
class Dropout : public Layer<T> {
 public:
  Dropout(Context& ctx, T rate) : rate_(rate), stream_id_(ctx.next_stream_id()) {
    check_arg(rate >= T(0) && rate < T(1), "Dropout", "rate must be in [0, 1), got ", rate);
  }

  std::string type() const override { return "Dropout"; }
  T rate() const { return rate_; }
  Shape output_shape(const Shape& input) const override { return input; }

  // In inference the input itself is returned, not a copy (the contract keeps x alive until backward anyway).
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    trained_ = mode == Mode::train;
    if (!trained_) return x;
    // Keep the stream of this forward: backward must redraw this mask even if the step moved in between.
    stream_ = ctx.random_stream(stream_id_);
    ops::dropout_forward(ctx, x, rate_, stream_, y_);
    return y_;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    if (!trained_) return dy;
    ops::dropout_backward(ctx, dy, rate_, stream_, dx_);
    return dx_;
  }

 private:
  T rate_;
  std::uint32_t stream_id_;
  RandomStream stream_;
  bool trained_ = false;
  Tensor<T> y_, dx_;
};

}  // namespace mien
