#pragma once
// Layers as data. A LayerSpec says what the user chooses for one layer ({"type": "Conv2D", "filters": 32,
// "kernel": 3}), never its input size; LayerRegistry<T> turns a spec into the layer for a given input shape. Every
// layer and block of the library is registered under its type name, and a user adds their own with
// LayerRegistry<T>::instance().add("MyLayer", factory): a checkpoint that stores the specs then rebuilds the
// network in any program that registered the same types.
//
// Names: a spec may carry "name"; otherwise a layer is named after its type and its position in its container
// ("conv2d_1", "batchnorm_relu_2", ...), so the same declaration gives the same parameter names every time.
#include <algorithm>
#include <cctype>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/layers/activation.hpp"
#include "mien/layers/batchnorm.hpp"
#include "mien/layers/conv2d.hpp"
#include "mien/layers/dense.hpp"
#include "mien/layers/dropout.hpp"
#include "mien/layers/dynamic_attention.hpp"
#include "mien/layers/flatten.hpp"
#include "mien/layers/parallel.hpp"
#include "mien/layers/pooling.hpp"
#include "mien/layers/residual.hpp"
#include "mien/layers/sequential.hpp"

namespace mien {

// One layer's declaration: its type and the options its user chose, as JSON.
struct LayerSpec {
  nlohmann::json json;
  // The same spec under a chosen name (the prefix of its parameters in checkpoints).
  LayerSpec named(const std::string& name) const {
    LayerSpec s = *this;
    s.json["name"] = name;
    return s;
  }
};

namespace nn {
inline LayerSpec conv(std::int64_t filters, int kernel = 3) { return {{{"type", "Conv2D"}, {"filters", filters}, {"kernel", kernel}}}; }
inline LayerSpec dense(std::int64_t units) { return {{{"type", "Dense"}, {"units", units}}}; }
inline LayerSpec batchnorm(double momentum = 0.99, double eps = 1e-3) {
  return {{{"type", "BatchNorm"}, {"momentum", momentum}, {"eps", eps}}};
}
// Batch norm and a ReLU in one pass.
inline LayerSpec batchnorm_relu(double momentum = 0.99, double eps = 1e-3) {
  return {{{"type", "BatchNormReLU"}, {"momentum", momentum}, {"eps", eps}}};
}
inline LayerSpec relu() { return {{{"type", "ReLU"}}}; }
inline LayerSpec tanh() { return {{{"type", "Tanh"}}}; }
inline LayerSpec max_pool(int window = 2) { return {{{"type", "MaxPool2D"}, {"window", window}}}; }
inline LayerSpec global_avg_pool() { return {{{"type", "GlobalAvgPool"}}}; }
inline LayerSpec flatten() { return {{{"type", "Flatten"}}}; }
inline LayerSpec dropout(double rate) { return {{{"type", "Dropout"}, {"rate", rate}}}; }
// The paper's dynamic (channel) attention on any NCHW map: "per_channel" or "paper_literal" scores.
inline LayerSpec attention(const std::string& scores = "per_channel") {
  return {{{"type", "DynamicAttention"}, {"scores", scores}}};
}
inline nlohmann::json spec_list(const std::vector<LayerSpec>& specs) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& s : specs) list.push_back(s.json);
  return list;
}
inline LayerSpec sequential(const std::vector<LayerSpec>& layers) {
  return {{{"type", "Sequential"}, {"layers", spec_list(layers)}}};
}
// Branches (each a spec; a stack of layers is nn::sequential) on the same input, concatenated along channels.
inline LayerSpec parallel(const std::vector<LayerSpec>& branches) {
  return {{{"type", "Parallel"}, {"branches", spec_list(branches)}}};
}
// act(body(x) + skip(x)): the skip is the identity, or a 1×1 convolution where the body changes the channel count
// (or projection is true); act is a ReLU unless relu is false.
inline LayerSpec residual(const std::vector<LayerSpec>& body, bool relu = true, bool projection = false) {
  return {{{"type", "Residual"}, {"body", spec_list(body)}, {"relu", relu}, {"projection", projection}}};
}
// The paper's attention-gated skip: act(body(x) + s ⊙ skip(x)), s the scores of the nearest DynamicAttention layer
// before this block in the same sequence.
inline LayerSpec gated_residual(const std::vector<LayerSpec>& body, bool relu = true, bool projection = false) {
  LayerSpec spec = residual(body, relu, projection);
  spec.json["gate"] = "attention";
  return spec;
}
}  // namespace nn

template <class T>
class LayerRegistry {
 public:
  // Builds the layer `spec` describes for inputs of shape `input` (with a batch dimension).
  using Factory = std::function<std::unique_ptr<Layer<T>>(Context&, const nlohmann::json& spec, const Shape& input)>;

  // The registry every program shares, holding the library's layers.
  static LayerRegistry& instance() {
    static LayerRegistry registry = with_library_layers();
    return registry;
  }

  // Registers a layer type; a name already taken is refused (two meanings of one name would rebuild the wrong one).
  void add(const std::string& type, Factory factory) {
    check_arg(!type.empty() && factory != nullptr, "LayerRegistry::add", "needs a type name and a factory");
    check_arg(factories_.count(type) == 0, "LayerRegistry::add", "the layer type '", type, "' is registered already");
    factories_[type] = std::move(factory);
  }
  bool contains(const std::string& type) const { return factories_.count(type) != 0; }
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (const auto& [type, factory] : factories_) out.push_back(type);
    return out;
  }

  std::unique_ptr<Layer<T>> build(Context& ctx, const nlohmann::json& spec, const Shape& input) const {
    check_arg(spec.is_object() && spec.contains("type") && spec["type"].is_string(), "LayerRegistry",
              "a layer spec is a JSON object with a \"type\", got ", spec.dump());
    const std::string type = spec["type"];
    const auto it = factories_.find(type);
    if (it == factories_.end()) {
      std::string known;
      for (const auto& t : types()) known += (known.empty() ? "" : ", ") + t;
      throw InvalidArgument("unknown layer type '" + type + "'; the registered types are: " + known);
    }
    try {
      return it->second(ctx, spec, input);
    } catch (const nlohmann::json::exception& e) {
      throw InvalidArgument(type + ": malformed layer spec " + spec.dump() + ": " + e.what());
    }
  }

  // The layers of `specs` one after the other, each named (see the top of this file).
  std::unique_ptr<Sequential<T>> build_sequence(Context& ctx, const nlohmann::json& specs, Shape input) const {
    check_arg(specs.is_array() && !specs.empty(), "Sequential", "needs a non-empty list of layer specs, got ",
              specs.dump());
    auto seq = std::make_unique<Sequential<T>>();
    DynamicAttention<T>* attention = nullptr;  // the gate of the gated residual blocks that follow it
    for (std::size_t i = 0; i < specs.size(); ++i) {
      const nlohmann::json& spec = specs[i];
      std::unique_ptr<Layer<T>> layer = build(ctx, spec, input);
      if (auto* a = dynamic_cast<DynamicAttention<T>*>(layer.get())) attention = a;
      if (auto* r = dynamic_cast<Residual<T>*>(layer.get()); r && r->gated()) {
        check_arg(attention != nullptr, "Residual", ": a gated block (\"gate\": \"attention\") needs a DynamicAttention "
                  "layer before it in the same sequence");
        const Shape skip = r->output_shape(input);
        check_arg(attention->channels() == skip.c(), "Residual", ": the gate's attention layer has ",
                  attention->channels(), " channels, the skip ", skip.c());
        r->set_gate(*attention);
      }
      input = layer->output_shape(input);
      std::string name = spec.value("name", std::string());
      if (name.empty()) name = default_layer_name(spec["type"], i + 1);
      seq->add(std::move(name), std::move(layer));
    }
    return seq;
  }

  // "conv2d_3" for the third entry of a container: the library's short name for the type (a user's type in lower
  // case), an underscore, the 1-based position.
  static std::string default_layer_name(const std::string& type, std::size_t position) {
    static const std::map<std::string, std::string> short_names = {
        {"Conv2D", "conv2d"},       {"Dense", "dense"},           {"BatchNorm", "batchnorm"},
        {"BatchNormReLU", "batchnorm_relu"}, {"ReLU", "relu"},    {"Tanh", "tanh"},
        {"MaxPool2D", "max_pool"},  {"GlobalAvgPool", "global_avg_pool"}, {"Flatten", "flatten"},
        {"Dropout", "dropout"},     {"DynamicAttention", "attention"}, {"Sequential", "sequential"},
        {"Parallel", "parallel"},   {"Residual", "residual"}};
    const auto it = short_names.find(type);
    std::string name = it != short_names.end() ? it->second : type;
    if (it == short_names.end())
      for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return name + "_" + std::to_string(position);
  }

 private:
  static std::int64_t positive(const nlohmann::json& spec, const char* key) {
    const std::int64_t v = spec.at(key).get<std::int64_t>();
    const std::string type = spec.value("type", std::string("layer"));
    check_arg(v > 0, type.c_str(), ": '", key, "' must be positive, got ", v);
    return v;
  }
  // Channels of an NCHW input or features of an [N, F] one: what a batch norm normalises.
  static std::int64_t features(const Shape& input, const char* type) {
    check_arg(input.rank() == 4 || input.rank() == 2, type, ": expects NCHW or [N, F] input, got ", input);
    return input[1];
  }
  static std::int64_t channels(const Shape& input, const char* type) {
    check_arg(input.rank() == 4, type, ": expects NCHW input, got ", input);
    return input.c();
  }

  static LayerRegistry with_library_layers() {
    LayerRegistry r;
    r.add("Conv2D", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<Conv2D<T>>(ctx, channels(in, "Conv2D"), positive(s, "filters"),
                                         static_cast<int>(positive(s, "kernel")));
    });
    r.add("Dense", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      check_arg(in.rank() == 2, "Dense", ": expects [N, F] input (put a Flatten or GlobalAvgPool before it), got ", in);
      return std::make_unique<Dense<T>>(ctx, in[1], positive(s, "units"));
    });
    r.add("BatchNorm", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<BatchNorm<T>>(ctx, features(in, "BatchNorm"), T(s.value("momentum", 0.99)),
                                            T(s.value("eps", 1e-3)));
    });
    r.add("BatchNormReLU", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<BatchNormReLU<T>>(ctx, features(in, "BatchNormReLU"), T(s.value("momentum", 0.99)),
                                                T(s.value("eps", 1e-3)));
    });
    r.add("ReLU", [](Context&, const nlohmann::json&, const Shape&) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<ReLU<T>>();
    });
    r.add("Tanh", [](Context&, const nlohmann::json&, const Shape&) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<Tanh<T>>();
    });
    r.add("MaxPool2D", [](Context&, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      channels(in, "MaxPool2D");
      return std::make_unique<MaxPool2D<T>>(static_cast<int>(s.contains("window") ? positive(s, "window") : 2));
    });
    r.add("GlobalAvgPool", [](Context&, const nlohmann::json&, const Shape& in) -> std::unique_ptr<Layer<T>> {
      channels(in, "GlobalAvgPool");
      return std::make_unique<GlobalAvgPool<T>>();
    });
    r.add("Flatten", [](Context&, const nlohmann::json&, const Shape&) -> std::unique_ptr<Layer<T>> {
      return std::make_unique<Flatten<T>>();
    });
    r.add("Dropout", [](Context& ctx, const nlohmann::json& s, const Shape&) -> std::unique_ptr<Layer<T>> {
      const double rate = s.at("rate").get<double>();
      check_arg(rate >= 0 && rate < 1, "Dropout", ": 'rate' must be in [0, 1), got ", rate);
      return std::make_unique<Dropout<T>>(ctx, T(rate));
    });
    r.add("DynamicAttention", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      const std::string scores = s.value("scores", std::string("per_channel"));
      check_arg(scores == "per_channel" || scores == "paper_literal", "DynamicAttention",
                ": unknown 'scores' kind '", scores, "'; valid kinds: per_channel, paper_literal");
      return std::make_unique<DynamicAttention<T>>(
          ctx, channels(in, "DynamicAttention"),
          scores == "per_channel" ? AttentionScores::per_channel : AttentionScores::paper_literal);
    });
    r.add("Sequential", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      return instance().build_sequence(ctx, s.at("layers"), in);
    });
    r.add("Parallel", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      const nlohmann::json& branches = s.at("branches");
      check_arg(branches.is_array() && !branches.empty(), "Parallel", ": needs a non-empty list of branches");
      auto block = std::make_unique<Parallel<T>>();
      for (std::size_t i = 0; i < branches.size(); ++i) {
        std::string name = branches[i].value("name", std::string());
        block->add(name.empty() ? "branch" + std::to_string(i + 1) : name, instance().build(ctx, branches[i], in));
      }
      block->output_shape(in);  // branches that disagree on N, H, W fail here, at build
      return block;
    });
    r.add("Residual", [](Context& ctx, const nlohmann::json& s, const Shape& in) -> std::unique_ptr<Layer<T>> {
      std::unique_ptr<Sequential<T>> body = instance().build_sequence(ctx, s.at("body"), in);
      const Shape out = body->output_shape(in);
      std::unique_ptr<Conv2D<T>> projection;
      if (s.value("projection", false) || out.rank() != 4 || out.c() != channels(in, "Residual"))
        projection = std::make_unique<Conv2D<T>>(ctx, in.c(), out.rank() == 4 ? out.c() : 0, 1);
      const std::string gate = s.value("gate", std::string("none"));
      check_arg(gate == "none" || gate == "attention", "Residual", ": unknown 'gate' '", gate,
                "'; valid gates: none, attention");
      auto block = std::make_unique<Residual<T>>(std::move(body), std::move(projection), s.value("relu", true),
                                                 gate == "attention");
      block->output_shape(in);
      return block;
    });
    return r;
  }

  std::map<std::string, Factory> factories_;
};

}  // namespace mien
