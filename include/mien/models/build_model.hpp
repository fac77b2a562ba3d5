#pragma once
// build_model<T>(ctx, architecture): the network a Model's architecture() describes, with fresh weights (a
// checkpoint's loader then fills them). The library's model types are "Net" (any network of registered layers),
// "PaperNet" (the paper's network from its config) and "Ensemble" (several models' averaged probabilities);
// ModelTypes<T>::instance().add registers a user's own Model class.
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/models/ensemble.hpp"
#include "mien/models/model.hpp"
#include "mien/models/net.hpp"
#include "mien/models/paper_net.hpp"

namespace mien {

template <class T>
class ModelTypes {
 public:
  using Factory = std::function<std::unique_ptr<Model<T>>(Context&, const nlohmann::json& architecture)>;

  static ModelTypes& instance() {
    static ModelTypes types = with_library_models();
    return types;
  }
  void add(const std::string& type, Factory factory) {
    check_arg(factories_.count(type) == 0, "ModelTypes::add", "the model type '", type, "' is registered already");
    factories_[type] = std::move(factory);
  }
  std::unique_ptr<Model<T>> build(Context& ctx, const nlohmann::json& architecture) const {
    check_arg(architecture.is_object() && architecture.contains("type") && architecture["type"].is_string(),
              "build_model", "an architecture is a JSON object with a \"type\", got ", architecture.dump());
    const std::string type = architecture["type"];
    const auto it = factories_.find(type);
    if (it == factories_.end()) {
      std::string known;
      for (const auto& [name, f] : factories_) known += (known.empty() ? "" : ", ") + name;
      throw InvalidArgument("unknown model type '" + type + "'; the registered types are: " + known);
    }
    try {
      return it->second(ctx, architecture);
    } catch (const nlohmann::json::exception& e) {
      throw InvalidArgument("malformed " + type + " architecture: " + e.what());
    }
  }

 private:
  static ModelTypes with_library_models() {
    ModelTypes t;
    t.add("Net", [](Context& ctx, const nlohmann::json& a) -> std::unique_ptr<Model<T>> {
      auto net = std::make_unique<Net<T>>(a.at("layers"));
      const auto input = a.at("input").get<std::vector<std::int64_t>>();
      check_arg(input.size() == 3, "build_model", "a Net's input is [C, H, W], got ", a.at("input").dump());
      net->build(ctx, Shape{input[0], input[1], input[2]});
      return net;
    });
    t.add("PaperNet", [](Context& ctx, const nlohmann::json& a) -> std::unique_ptr<Model<T>> {
      return std::make_unique<PaperNet<T>>(ctx, a.at("config").get<PaperNetConfig>());
    });
    t.add("Ensemble", [](Context& ctx, const nlohmann::json& a) -> std::unique_ptr<Model<T>> {
      std::vector<std::unique_ptr<Model<T>>> members;
      for (const auto& m : a.at("members")) members.push_back(instance().build(ctx, m));
      return std::make_unique<Ensemble<T>>(std::move(members));
    });
    return t;
  }
  std::map<std::string, Factory> factories_;
};

// The architecture of a checkpoint written before models were stored as data (model description version 1,
// "format": "mien-paper-net"): those held the paper network's config alone.
inline nlohmann::json version1_architecture(const nlohmann::json& meta) {
  const PaperNetConfig config = meta.at("config").get<PaperNetConfig>();
  return {{"type", "PaperNet"},
          {"input", {config.input_channels, config.input_size, config.input_size}},
          {"config", config}};
}

template <class T>
std::unique_ptr<Model<T>> build_model(Context& ctx, const nlohmann::json& architecture) {
  return ModelTypes<T>::instance().build(ctx, architecture);
}

}  // namespace mien
