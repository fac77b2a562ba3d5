#pragma once
// Building an optimizer by name: from a command line's settings (make_optimizer) or from what a checkpoint
// recorded (optimizer_from_json, the inverse of type() and options_json()). Apart from optimizer.hpp so that
// Adam and Sgd can include the interface without including each other.
#include <algorithm>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"
#include "mien/optim/adam.hpp"
#include "mien/optim/optimizer.hpp"
#include "mien/optim/sgd.hpp"

namespace mien {

// The options a command line offers for either optimizer; each takes the ones it has. The defaults are the
// paper's Adam (Table 3), whose time-based decay SGD then shares. Adam's betas and eps keep Adam's defaults.
struct OptimizerSettings {
  double lr = 1e-4, decay = 1e-6, weight_decay = 0, momentum = 0.9;
  bool nesterov = true;
};

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(OptimizerKind kind, const OptimizerSettings& settings) {
  switch (kind) {
    case OptimizerKind::adam: {
      AdamOptions o;
      o.lr = settings.lr;
      o.decay = settings.decay;
      o.weight_decay = settings.weight_decay;
      return std::make_unique<Adam<T>>(o);
    }
    case OptimizerKind::sgd: {
      SgdOptions o;
      o.lr = settings.lr;
      o.momentum = settings.momentum;
      o.decay = settings.decay;
      o.weight_decay = settings.weight_decay;
      o.nesterov = settings.nesterov;
      return std::make_unique<Sgd<T>>(o);
    }
  }
  throw InvalidArgument("make_optimizer: unknown optimizer kind");
}

namespace optim_detail {

// Reads options_json()'s fields back into an options struct. A missing field keeps its default (a checkpoint
// written before the option existed); an unknown one is refused, as it would mean a misspelt or unsupported
// option silently ignored.
class OptionReader {
 public:
  OptionReader(const std::string& type, const nlohmann::json& options) : type_(type), options_(options) {
    check_arg(options.is_object(), "optimizer_from_json", type, " options must be a JSON object, got ",
              options.dump());
  }

  template <class V>
  void read(const char* key, V& value) {
    known_.emplace_back(key);
    const auto it = options_.find(key);
    if (it == options_.end()) return;
    const bool fits = std::is_same_v<V, bool> ? it->is_boolean() : it->is_number();
    check_arg(fits, "optimizer_from_json", type_, " option '", key, "' must be ",
              std::is_same_v<V, bool> ? "true or false" : "a number", ", got ", it->dump());
    value = it->template get<V>();
  }

  // After every read(): refuses the keys no read() asked for.
  void refuse_unknown() const {
    for (const auto& item : options_.items()) {
      if (std::find(known_.begin(), known_.end(), item.key()) != known_.end()) continue;
      std::string valid;
      for (const std::string& key : known_) valid += (valid.empty() ? "" : ", ") + key;
      throw InvalidArgument("optimizer_from_json: unknown " + type_ + " option '" + item.key() + "'; valid: " + valid);
    }
  }

 private:
  std::string type_;
  const nlohmann::json& options_;
  std::vector<std::string> known_;
};

}  // namespace optim_detail

template <class T>
std::unique_ptr<Optimizer<T>> optimizer_from_json(const std::string& type, const nlohmann::json& options) {
  OptimizerKind kind;
  try {
    kind = parse_optimizer_kind(type);
  } catch (const InvalidArgument&) {
    throw InvalidArgument("optimizer_from_json: unknown optimizer '" + type + "'; valid: adam, sgd");
  }
  optim_detail::OptionReader reader(type, options);
  if (kind == OptimizerKind::adam) {
    AdamOptions o;
    reader.read("lr", o.lr);
    reader.read("decay", o.decay);
    reader.read("beta1", o.beta1);
    reader.read("beta2", o.beta2);
    reader.read("eps", o.eps);
    reader.read("weight_decay", o.weight_decay);
    reader.refuse_unknown();
    return std::make_unique<Adam<T>>(o);
  }
  SgdOptions o;
  reader.read("lr", o.lr);
  reader.read("momentum", o.momentum);
  reader.read("decay", o.decay);
  reader.read("weight_decay", o.weight_decay);
  reader.read("nesterov", o.nesterov);
  reader.refuse_unknown();
  return std::make_unique<Sgd<T>>(o);
}

}  // namespace mien
