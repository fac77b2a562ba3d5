#pragma once
// Residual<T>: y = act(body(x) + skip(x)), the skip the identity or, where the body changes the channel count (or
// the user asks), a 1×1 convolution (a projection). act is ReLU or nothing. The body must keep H and W.
// Gated (the paper's attention-gated skip): y = act(body(x) + s ⊙ skip(x)), s [N, C] the scores of a
// DynamicAttention layer that ran earlier in the same forward pass (set_gate); the gradient of s goes back to that
// layer through add_score_gradient, before its own backward runs.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/conv2d.hpp"
#include "mien/layers/dynamic_attention.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/activation.hpp"
#include "mien/ops/elementwise.hpp"

namespace mien {

template <class T>
class Residual : public Layer<T> {
 public:
  // projection: a 1×1 convolution from the input's channels to the body's on the skip (nullptr: identity).
  // gated: the skip is scaled by attention scores, from the layer set_gate names before the first forward.
  Residual(std::unique_ptr<Layer<T>> body, std::unique_ptr<Conv2D<T>> projection, bool relu, bool gated = false)
      : body_(std::move(body)), projection_(std::move(projection)), relu_(relu), gated_(gated) {
    check_arg(body_ != nullptr, "Residual", "needs a body");
    check_arg(!projection_ || projection_->kernel() == 1, "Residual", "the projection is a 1x1 convolution");
  }

  std::string type() const override { return "Residual"; }
  Layer<T>& body() { return *body_; }
  bool has_projection() const { return projection_ != nullptr; }
  Conv2D<T>& projection() {
    check_arg(projection_ != nullptr, "Residual::projection", "this block's skip is the identity");
    return *projection_;
  }
  bool relu() const { return relu_; }
  bool gated() const { return gated_; }
  const DynamicAttention<T>* gate() const { return gate_; }

  // The attention layer whose scores scale the skip; it must run before this block in every forward pass.
  void set_gate(DynamicAttention<T>& attention) {
    check_arg(gated_, "Residual::set_gate", "this block was built without a gate");
    gate_ = &attention;
  }

  Shape output_shape(const Shape& input) const override {
    const Shape out = body_->output_shape(input);
    const Shape skip = projection_ ? projection_->output_shape(input) : input;
    check_arg(out == skip, "Residual", "the body turns ", input, " into ", out, ", the skip into ", skip,
              projection_ ? "" : " (a projection would match the channels; the body must keep H and W)");
    return out;
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    output_shape(x.shape());
    const Tensor<T>& b = body_->forward(ctx, x, mode);
    const Tensor<T>& s = projection_ ? projection_->forward(ctx, x, mode) : x;
    if (gated_) {
      check_arg(gate_ != nullptr, "Residual", "a gated block needs its attention layer (a DynamicAttention before it "
                "in the same sequence)");
      skip_ = &s;
      ops::gated_add_forward(ctx, b, s, gate_->scores(), sum_);
    } else {
      ops::add(ctx, b, s, sum_);
    }
    if (!relu_) return sum_;
    ops::relu_forward(ctx, sum_, y_);
    return y_;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(sum_.numel() > 0, "Residual::backward", "called before forward");
    const Tensor<T>* g = &dy;
    if (relu_) {
      ops::relu_backward(ctx, y_, dy, dsum_);
      g = &dsum_;
    }
    const Tensor<T>* dskip = g;
    if (gated_) {
      ops::gated_add_backward(ctx, *skip_, gate_->scores(), *g, dskip_, dgate_);
      gate_->add_score_gradient(ctx, dgate_);
      dskip = &dskip_;
    }
    const Tensor<T>& dbody = body_->backward(ctx, *g);
    const Tensor<T>& skip = projection_ ? projection_->backward(ctx, *dskip) : *dskip;
    if (dbody.numel() == 0) return dbody;  // the body skipped its input gradient, so the model needs none
    ops::add(ctx, dbody, skip, dx_);
    return dx_;
  }

  std::vector<ParamRef<T>> params() override {
    std::vector<ParamRef<T>> out = prefixed("body", body_->params());
    if (projection_) append(out, prefixed("projection", projection_->params()));
    return out;
  }
  std::vector<BufferRef<T>> buffers() override {
    std::vector<BufferRef<T>> out = prefixed("body", body_->buffers());
    if (projection_) append(out, prefixed("projection", projection_->buffers()));
    return out;
  }
  void to(Device device) override {
    body_->to(device);
    if (projection_) projection_->to(device);
  }
  std::int64_t macs(const Shape& input) const override {
    return body_->macs(input) + (projection_ ? projection_->macs(input) : 0) + output_shape(input).numel();
  }

 private:
  std::unique_ptr<Layer<T>> body_;
  std::unique_ptr<Conv2D<T>> projection_;
  bool relu_;
  bool gated_;
  DynamicAttention<T>* gate_ = nullptr;
  const Tensor<T>* skip_ = nullptr;
  Tensor<T> sum_, y_, dsum_, dskip_, dgate_, dx_;
};

}  // namespace mien
