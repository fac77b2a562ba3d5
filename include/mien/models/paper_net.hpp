#pragma once
// The paper's hybrid network, built from a PaperNetConfig:
//
//   input [N, 1, S, S]
//   ├─ stream k=3: (conv k, 32 → BN → ReLU → max-pool) → (conv k, 64 → BN → ReLU → max-pool)
//   └─ stream k=5: the same with 5×5 kernels                      (parallel multi-scale features)
//   concat → [N, 128, S/4, S/4]
//   dynamic attention: scores s [N, 128] = softmax(tanh(Dense(GAP(x)))) · 128; x ⊙ s
//   gated residual block × 2: y = ReLU(BN(conv(ReLU(BN(conv(x))))) + s ⊙ x)
//   max-pool → flatten → Dense 256 → BN → ReLU → Dropout → Dense 128 → BN → ReLU → Dropout → Dense 7 (logits)
//
// Each BN → ReLU pair is one fused BatchNormReLU layer (named bn1, bn2, ...).
// forward returns logits; the softmax lives in the loss (training) and in predict(). The last residual block's
// output and its gradient are kept for Grad-CAM attention maps.
#include <memory>
#include <string>
#include <vector>

#include "mien/layers/batchnorm.hpp"
#include "mien/layers/conv2d.hpp"
#include "mien/layers/dense.hpp"
#include "mien/layers/dropout.hpp"
#include "mien/layers/dynamic_attention.hpp"
#include "mien/layers/flatten.hpp"
#include "mien/layers/gated_residual_block.hpp"
#include "mien/layers/parallel.hpp"
#include "mien/layers/pooling.hpp"
#include "mien/layers/sequential.hpp"
#include "mien/models/model.hpp"
#include "mien/models/paper_net_config.hpp"
#include "mien/ops/elementwise.hpp"

namespace mien {

template <class T>
class PaperNet : public Model<T> {
 public:
  PaperNet(Context& ctx, const PaperNetConfig& config) : config_(config) {
    config_.validate();
    for (int k : config_.stream_kernels) {
      auto stream = std::make_unique<Sequential<T>>();
      std::int64_t in = config_.input_channels;
      for (std::size_t i = 0; i < config_.stream_channels.size(); ++i) {
        const std::int64_t out = config_.stream_channels[i];
        const std::string n = std::to_string(i + 1);
        stream->template emplace<Conv2D<T>>("conv" + n, ctx, in, out, k);
        stream->template emplace<BatchNormReLU<T>>("bn" + n, ctx, out, T(config_.bn_momentum), T(config_.bn_eps));
        stream->template emplace<MaxPool2D<T>>("pool" + n, 2);
        in = out;
      }
      streams_.add("stream" + std::to_string(k), std::move(stream));
    }
    const std::int64_t c = config_.merged_channels();
    attention_ = std::make_unique<DynamicAttention<T>>(
        ctx, c, config_.attention == "paper_literal" ? AttentionScores::paper_literal : AttentionScores::per_channel);
    for (int b = 0; b < config_.residual_blocks; ++b)
      blocks_.push_back(std::make_unique<GatedResidualBlock<T>>(ctx, c, config_.residual_kernel));
    if (config_.final_pool) final_pool_ = std::make_unique<MaxPool2D<T>>(2);

    head_.template emplace<Flatten<T>>("flatten");
    std::int64_t in = c * config_.feature_size() * config_.feature_size();
    for (std::size_t i = 0; i < config_.dense_units.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      head_.template emplace<Dense<T>>("dense" + n, ctx, in, config_.dense_units[i]);
      head_.template emplace<BatchNormReLU<T>>("bn" + n, ctx, config_.dense_units[i], T(config_.bn_momentum),
                                               T(config_.bn_eps));
      if (config_.dropout > 0) head_.template emplace<Dropout<T>>("dropout" + n, ctx, T(config_.dropout));
      in = config_.dense_units[i];
    }
    head_.template emplace<Dense<T>>("logits", ctx, in, config_.classes);
    check_unique_names("PaperNet", state_names(*this));
  }

  const PaperNetConfig& config() const { return config_; }
  std::string type() const override { return "PaperNet"; }

  nlohmann::json architecture() const override {
    return {{"type", "PaperNet"},
            {"input", {config_.input_channels, config_.input_size, config_.input_size}},
            {"config", config_}};
  }
  Shape input_shape(std::int64_t batch) const override {
    return Shape{batch, config_.input_channels, config_.input_size, config_.input_size};
  }
  Shape output_shape(const Shape& input) const override { return Shape{input.n(), config_.classes}; }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    check_arg(x.shape() == input_shape(x.shape().n()), "PaperNet::forward", "input has shape ", x.shape(),
              ", the model expects ", input_shape(x.shape().n()));
    const Tensor<T>* h = &attention_->forward(ctx, streams_.forward(ctx, x, mode), mode);
    for (auto& block : blocks_)
      h = config_.gated_skips ? &block->forward(ctx, *h, attention_->scores(), mode) : &block->forward(ctx, *h, mode);
    features_ = h;
    if (final_pool_) h = &final_pool_->forward(ctx, *h, mode);
    return head_.forward(ctx, *h, mode);
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dlogits) override {
    const Tensor<T>* g = &head_.backward(ctx, dlogits);
    if (final_pool_) g = &final_pool_->backward(ctx, *g);
    feature_grad_ = g;
    // The attention scores feed every gated skip: their gradients add up.
    bool have_gate_grad = false;
    for (auto it = blocks_.rbegin(); it != blocks_.rend(); ++it) {
      g = &(*it)->backward(ctx, *g);
      if (!config_.gated_skips) continue;
      if (have_gate_grad) {
        ops::add(ctx, gate_grad_sum_, (*it)->gate_grad(), gate_grad_sum_);
      } else {
        gate_grad_sum_ = (*it)->gate_grad();
        have_gate_grad = true;
      }
    }
    g = have_gate_grad ? &attention_->backward(ctx, *g, gate_grad_sum_) : &attention_->backward(ctx, *g);
    return streams_.backward(ctx, *g);  // empty when the input gradient is off
  }

  // Training needs no gradient of the images: with it off, the streams' first convolutions skip their
  // backward-data pass (as frameworks do for inputs that need no gradient) and backward returns an empty tensor.
  // On by default, for gradient checks and the reference comparison of the input gradient.
  void set_input_gradient(bool needed) override {
    for (std::size_t s = 0; s < streams_.size(); ++s) static_cast<Conv2D<T>&>(stream(s).at(0)).set_input_gradient(needed);
  }

  DynamicAttention<T>& attention() { return *attention_; }
  // The parts, for walkers such as the ONNX exporter: the streams, the residual blocks, the pool before the head
  // (nullptr without one) and the head.
  Parallel<T>& streams() { return streams_; }
  std::size_t block_count() const { return blocks_.size(); }
  GatedResidualBlock<T>& block(std::size_t b) { return *blocks_.at(b); }
  MaxPool2D<T>* final_pool() { return final_pool_.get(); }
  Sequential<T>& head() { return head_; }
  // The last residual block's output of the latest forward, and dL/d(that) of the latest backward (Grad-CAM).
  const Tensor<T>* feature_map() const override { return features_; }
  const Tensor<T>* feature_map_gradient() const override { return feature_grad_; }
  const Tensor<T>* attention_scores() const override {
    return attention_->scores().numel() > 0 ? &attention_->scores() : nullptr;
  }

  // One row per layer for an input batch of the given size: the model summary the trainer prints.
  std::vector<SummaryRow> summary(std::int64_t batch = 1) override {
    std::vector<SummaryRow> rows;
    const Shape in = input_shape(batch);
    rows.push_back({"input", "Input", in, 0, 0});
    auto walk = [&](const std::string& prefix, Sequential<T>& seq, Shape s) {
      for (std::size_t i = 0; i < seq.size(); ++i) {
        Layer<T>& layer = seq.at(i);
        const std::int64_t macs = layer.macs(s);
        s = layer.output_shape(s);
        rows.push_back({prefix + seq.name_at(i), layer.type(), s, layer.param_count(), macs});
      }
      return s;
    };
    Shape merged;
    for (std::size_t k = 0; k < streams_.size(); ++k) {
      const Shape out = walk(streams_.name_at(k) + ".", stream(k), in);
      merged = k == 0 ? out : Shape{out.n(), merged.c() + out.c(), out.h(), out.w()};
    }
    rows.push_back({"concat", "Concat", merged, 0, 0});
    rows.push_back({"attention", "DynamicAttention", merged, attention_->param_count(), batch * merged.c() * merged.c()});
    const std::int64_t c = merged.c(), k = config_.residual_kernel;
    for (std::size_t b = 0; b < blocks_.size(); ++b)
      rows.push_back({"block" + std::to_string(b + 1), config_.gated_skips ? "GatedResidualBlock" : "ResidualBlock", merged,
                      blocks_[b]->param_count(), 2 * batch * c * c * k * k * merged.h() * merged.w()});
    Shape s = merged;
    if (final_pool_) {
      s = final_pool_->output_shape(s);
      rows.push_back({"pool", "MaxPool2D", s, 0, 0});
    }
    walk("head.", head_, s);
    return rows;
  }

  // Each part moves itself: the attention layer holds constants beside its parameters.
  void to(Device device) override {
    streams_.to(device);
    attention_->to(device);
    for (auto& block : blocks_) block->to(device);
    head_.to(device);
  }

  std::vector<ParamRef<T>> params() override { return collect(&Module<T>::params); }
  std::vector<BufferRef<T>> buffers() override { return collect(&Module<T>::buffers); }

  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = streams_.macs(input);
    const std::int64_t c = config_.merged_channels(), k = config_.residual_kernel;
    std::int64_t side = config_.input_size;
    for (std::size_t i = 0; i < config_.stream_channels.size(); ++i) side /= 2;
    total += input.n() * c * c;  // attention dense
    total += config_.residual_blocks * 2 * input.n() * c * c * k * k * side * side;
    const std::int64_t f = config_.feature_size();
    return total + head_.macs(Shape{input.n(), c, f, f});
  }

 private:
  Sequential<T>& stream(std::size_t s) { return static_cast<Sequential<T>&>(streams_.at(s)); }

  template <class Ref>
  std::vector<Ref> collect(std::vector<Ref> (Module<T>::*list)()) {
    std::vector<Ref> out = (streams_.*list)();  // "stream3.conv1.weight", ...
    append(out, prefixed("attention", ((*attention_).*list)()));
    for (std::size_t b = 0; b < blocks_.size(); ++b)
      append(out, prefixed("block" + std::to_string(b + 1), ((*blocks_[b]).*list)()));
    append(out, prefixed("head", (head_.*list)()));
    return out;
  }

  PaperNetConfig config_;
  Parallel<T> streams_;  // one Sequential per kernel size, named "stream<k>"
  std::unique_ptr<DynamicAttention<T>> attention_;
  std::vector<std::unique_ptr<GatedResidualBlock<T>>> blocks_;
  std::unique_ptr<MaxPool2D<T>> final_pool_;
  Sequential<T> head_;

  Tensor<T> gate_grad_sum_;
  const Tensor<T>* features_ = nullptr;
  const Tensor<T>* feature_grad_ = nullptr;
};

}  // namespace mien
