#pragma once
// DynamicAttention<T>: the paper's dynamic attention, "global average pooling -> dense + tanh -> softmax ->
// reshape -> channel-wise scaling of the feature map". For x [N, C, H, W]:
//
//   per_channel (default):  g = GAP(x) [N, C],  a = Dense(C -> C)(g),  p = softmax(tanh(a)) over the C channels,
//                           s = C p  (mean weight 1, so the map keeps its scale),  y = x ⊙ s per channel.
//   paper_literal:          a = Dense(C -> 1)(g), p = softmax(tanh(a)) over that single value, s = p broadcast to
//                           [N, C]. A softmax over one value is 1 whatever its input, so s is all ones, y = x and
//                           the dense layer never receives a gradient: the block is the identity. It is kept to
//                           show that reading of the paper (and for ablations), which is why it is not the default.
//
// The scores s [N, C] are exposed: the gated residual blocks multiply their skips by them, and their gradient
// flows back here, either through backward(ctx, dy, dscores_extra) or added up by add_score_gradient before
// backward(ctx, dy) runs (a gated Residual in the same sequence).
#include <cstdint>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/activation.hpp"
#include "mien/layers/dense.hpp"
#include "mien/layers/init.hpp"
#include "mien/layers/layer.hpp"
#include "mien/layers/pooling.hpp"
#include "mien/ops/dense.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"

namespace mien {

enum class AttentionScores { per_channel, paper_literal };

inline const char* to_string(AttentionScores kind) {
  return kind == AttentionScores::per_channel ? "per_channel" : "paper_literal";
}

template <class T>
class DynamicAttention : public Layer<T> {
 public:
  DynamicAttention(Context& ctx, std::int64_t channels, AttentionScores kind = AttentionScores::per_channel)
      : channels_(channels), kind_(kind), dense_(ctx, channels, kind == AttentionScores::per_channel ? channels : 1) {
    // s = p expandᵀ with a fixed matrix: C·I [C, C] scales the softmax, a column of ones [C, 1] broadcasts the
    // single value. Running that through the dense op gives both backends the step without an op of its own;
    // its O(N C²) cost is noise next to the convolutions.
    const Device device = ctx.device();
    if (kind == AttentionScores::per_channel) {
      Tensor<T> expand = Tensor<T>::zeros(Shape{channels, channels});
      for (std::int64_t c = 0; c < channels; ++c) expand.at(c, c) = static_cast<T>(channels);
      expand_ = expand.to(device);
    } else {
      expand_ = constant(Shape{channels, 1}, T(1), device);
    }
    no_bias_ = Tensor<T>::zeros(Shape{channels}, device);
  }

  std::string type() const override { return "DynamicAttention"; }
  std::int64_t channels() const { return channels_; }
  AttentionScores kind() const { return kind_; }

  std::vector<ParamRef<T>> params() override { return prefixed("dense", dense_.params()); }

  void to(Device device) override {
    Layer<T>::to(device);
    expand_ = expand_.to(device);
    no_bias_ = no_bias_.to(device);
  }

  Shape output_shape(const Shape& input) const override {
    check_arg(input.rank() == 4 && input.c() == channels_, "DynamicAttention", "expects [N, ", channels_,
              ", H, W] input, got ", input);
    return input;
  }

  // The dense layer, the fixed expand step and the channel scaling (pooling and activations multiply nothing).
  std::int64_t macs(const Shape& input) const override {
    const std::int64_t expand = input.n() * expand_.shape()[0] * expand_.shape()[1];
    return dense_.macs(Shape{input.n(), channels_}) + expand + input.numel();
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    output_shape(x.shape());
    // The fixed tensors follow the input: a model holding this layer moves its parameters and buffers with
    // to(), but not these, which are neither.
    if (expand_.device() != x.device()) {
      expand_ = expand_.to(x.device());
      no_bias_ = no_bias_.to(x.device());
    }
    const Tensor<T>& pooled = pool_.forward(ctx, x, mode);
    // The softmax layer keeps its output for its own backward; the expand step's backward reads it too.
    weights_ = &softmax_.forward(ctx, tanh_.forward(ctx, dense_.forward(ctx, pooled, mode), mode), mode);
    ops::dense_forward(ctx, *weights_, expand_, no_bias_, scores_);
    ops::channel_scale_forward(ctx, x, scores_, y_);
    x_ = &x;
    pending_score_grad_ = false;
    return y_;
  }

  // Attention scores s [N, C] of the last forward.
  const Tensor<T>& scores() const { return scores_; }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    const bool pending = pending_score_grad_;
    pending_score_grad_ = false;
    return backward_through(ctx, dy, pending ? &score_grad_ : nullptr);
  }

  // dL/ds from a user of scores() whose backward runs before this layer's; the sum joins backward(ctx, dy).
  void add_score_gradient(Context& ctx, const Tensor<T>& dscores) {
    check_arg(dscores.shape() == scores_.shape(), "DynamicAttention::add_score_gradient", "score gradient has shape ",
              dscores.shape(), ", scores have ", scores_.shape());
    if (pending_score_grad_) {
      ops::add(ctx, score_grad_, dscores, score_grad_);
    } else {
      score_grad_ = dscores;
      pending_score_grad_ = true;
    }
  }

  // dscores_extra = dL/ds from the other users of scores() (the gated skips), added to the scaling's own.
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy, const Tensor<T>& dscores_extra) {
    check_arg(dscores_extra.shape() == scores_.shape(), "DynamicAttention::backward", "score gradient has shape ",
              dscores_extra.shape(), ", scores have ", scores_.shape());
    return backward_through(ctx, dy, &dscores_extra);
  }

 private:
  const Tensor<T>& backward_through(Context& ctx, const Tensor<T>& dy, const Tensor<T>* dscores_extra) {
    check_arg(x_ != nullptr, "DynamicAttention::backward", "called before forward");
    ops::channel_scale_backward(ctx, *x_, scores_, dy, dx_scaled_, dscores_);
    const Tensor<T>* dscores = &dscores_;
    if (dscores_extra) {
      ops::add(ctx, dscores_, *dscores_extra, dscores_total_);
      dscores = &dscores_total_;
    }
    ops::dense_backward(ctx, *weights_, expand_, *dscores, dweights_, dexpand_unused_, dbias_unused_);
    const Tensor<T>& dpooled = dense_.backward(ctx, tanh_.backward(ctx, softmax_.backward(ctx, dweights_)));
    ops::add(ctx, dx_scaled_, pool_.backward(ctx, dpooled), dx_);
    return dx_;
  }

  std::int64_t channels_;
  AttentionScores kind_;
  GlobalAvgPool<T> pool_;
  Dense<T> dense_;
  Tanh<T> tanh_;
  Softmax<T> softmax_;
  Tensor<T> expand_, no_bias_;
  Tensor<T> scores_, y_;
  Tensor<T> dx_scaled_, dscores_, dscores_total_, dweights_, dexpand_unused_, dbias_unused_, dx_;
  Tensor<T> score_grad_;
  bool pending_score_grad_ = false;
  const Tensor<T>* x_ = nullptr;
  const Tensor<T>* weights_ = nullptr;
};

}  // namespace mien
