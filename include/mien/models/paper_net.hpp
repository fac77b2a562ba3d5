#pragma once
// The paper's hybrid network: a Net declared from a PaperNetConfig with the library's blocks.
//
//   input [N, 1, S, S]
//   ├─ stream k=3: (conv k, 32 → BN → ReLU → max-pool) → (conv k, 64 → BN → ReLU → max-pool)
//   └─ stream k=5: the same with 5×5 kernels                      (Parallel: multi-scale features)
//   concat → [N, 128, S/4, S/4]
//   dynamic attention: scores s [N, 128] = softmax(tanh(Dense(GAP(x)))) · 128; x ⊙ s
//   gated residual block × 2: y = ReLU(BN(conv(ReLU(BN(conv(x))))) + s ⊙ x)     (Residual with an attention gate)
//   max-pool → flatten → Dense 256 → BN → ReLU → Dropout → Dense 128 → BN → ReLU → Dropout → Dense 7 (logits)
//
// Each BN → ReLU pair is one fused BatchNormReLU layer. forward returns logits; the softmax lives in the loss
// (training) and in predict(). Its architecture is the config, so checkpoints store a few numbers, not the specs.
#include <memory>
#include <string>
#include <vector>

#include "mien/models/model.hpp"
#include "mien/models/net.hpp"
#include "mien/models/paper_net_config.hpp"

namespace mien {

// The paper's layers as specs, named so that parameters keep the names of checkpoints written before PaperNet
// was a Net ("stream3.conv1.weight", "block1.bn2.gamma", "head.dense1.weight"; see PaperNet::checkpoint_name).
inline std::vector<LayerSpec> paper_net_layers(const PaperNetConfig& config) {
  const double m = config.bn_momentum, eps = config.bn_eps;
  std::vector<LayerSpec> streams;
  for (int k : config.stream_kernels) {
    std::vector<LayerSpec> stream;
    for (std::size_t i = 0; i < config.stream_channels.size(); ++i) {
      const std::string n = std::to_string(i + 1);
      stream.push_back(nn::conv(config.stream_channels[i], k).named("conv" + n));
      stream.push_back(nn::batchnorm_relu(m, eps).named("bn" + n));
      stream.push_back(nn::max_pool(2).named("pool" + n));
    }
    streams.push_back(nn::sequential(stream).named("stream" + std::to_string(k)));
  }
  std::vector<LayerSpec> layers{nn::parallel(streams).named("streams"), nn::attention(config.attention).named("attention")};

  const std::int64_t c = config.merged_channels();
  const std::vector<LayerSpec> body{nn::conv(c, config.residual_kernel).named("conv1"), nn::batchnorm_relu(m, eps).named("bn1"),
                                    nn::conv(c, config.residual_kernel).named("conv2"), nn::batchnorm(m, eps).named("bn2")};
  for (int b = 1; b <= config.residual_blocks; ++b)
    layers.push_back((config.gated_skips ? nn::gated_residual(body) : nn::residual(body)).named("block" + std::to_string(b)));
  if (config.final_pool) layers.push_back(nn::max_pool(2).named("pool"));

  std::vector<LayerSpec> head{nn::flatten().named("flatten")};
  for (std::size_t i = 0; i < config.dense_units.size(); ++i) {
    const std::string n = std::to_string(i + 1);
    head.push_back(nn::dense(config.dense_units[i]).named("dense" + n));
    head.push_back(nn::batchnorm_relu(m, eps).named("bn" + n));
    if (config.dropout > 0) head.push_back(nn::dropout(config.dropout).named("dropout" + n));
  }
  head.push_back(nn::dense(config.classes).named("logits"));
  layers.push_back(nn::sequential(head).named("head"));
  return layers;
}

template <class T>
class PaperNet : public Model<T> {
 public:
  PaperNet(Context& ctx, const PaperNetConfig& config) : config_(validated(config)), net_(paper_net_layers(config_)) {
    net_.build(ctx, Shape{config_.input_channels, config_.input_size, config_.input_size});
  }

  const PaperNetConfig& config() const { return config_; }
  std::string type() const override { return "PaperNet"; }
  nlohmann::json architecture() const override {
    return {{"type", "PaperNet"},
            {"input", {config_.input_channels, config_.input_size, config_.input_size}},
            {"config", config_}};
  }
  Shape input_shape(std::int64_t batch) const override { return net_.input_shape(batch); }
  Shape output_shape(const Shape& input) const override { return net_.output_shape(input); }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override { return net_.forward(ctx, x, mode); }
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dlogits) override { return net_.backward(ctx, dlogits); }
  void set_input_gradient(bool needed) override { net_.set_input_gradient(needed); }

  // The layers, for walkers such as the ONNX exporter: streams, attention, block1.., pool, head.
  Sequential<T>& layers() { return net_.layers(); }
  const Tensor<T>* feature_map() const override { return net_.feature_map(); }
  const Tensor<T>* feature_map_gradient() const override { return net_.feature_map_gradient(); }
  const Tensor<T>* attention_scores() const override { return net_.attention_scores(); }

  std::vector<SummaryRow> summary(std::int64_t batch = 1) override {
    std::vector<SummaryRow> rows = net_.summary(batch);
    for (auto& row : rows) row.name = checkpoint_name(row.name);
    return rows;
  }
  std::vector<ParamRef<T>> params() override { return renamed(net_.params()); }
  std::vector<BufferRef<T>> buffers() override { return renamed(net_.buffers()); }
  void to(Device device) override { net_.to(device); }
  std::int64_t macs(const Shape& input) const override { return net_.macs(input); }

  // "streams.stream3.conv1.weight" -> "stream3.conv1.weight", "block1.body.bn1.gamma" -> "block1.bn1.gamma": the
  // names of model versions 1 and 2, which every bundled and user checkpoint of the paper network carries.
  static std::string checkpoint_name(std::string name) {
    if (name.rfind("streams.", 0) == 0) return name.substr(8);
    if (const auto body = name.find(".body."); name.rfind("block", 0) == 0 && body != std::string::npos)
      name.erase(body, 5);
    return name;
  }

 private:
  static PaperNetConfig validated(const PaperNetConfig& config) {
    config.validate();
    return config;
  }
  template <class Ref>
  static std::vector<Ref> renamed(std::vector<Ref> refs) {
    for (auto& r : refs) r.name = checkpoint_name(r.name);
    return refs;
  }

  PaperNetConfig config_;
  Net<T> net_;
};

}  // namespace mien
