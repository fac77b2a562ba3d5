#pragma once
// Optimizer<T>: what the trainer and the checkpoints need from an optimizer (Adam<T>, Sgd<T>), so that they can
// hold either. type() and options_json() are enough to build the same optimizer again (optimizer_from_json in
// optim/make_optimizer.hpp); with iterations() and the state() tensors copied over, it continues exactly where
// the first one stopped.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"

namespace mien {

template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;
  virtual std::string type() const = 0;                       // "adam" or "sgd": the checkpoint's tag
  virtual nlohmann::json options_json() const = 0;            // hyper-parameters, for checkpoints and logs
  virtual void step(Context& ctx, const std::vector<ParamRef<T>>& params) = 0;
  virtual double base_learning_rate() const = 0;              // lr0, which schedules scale
  virtual void set_learning_rate(double lr) = 0;              // sets lr0
  virtual double current_lr() const = 0;                      // what the next step uses (after time-based decay)
  virtual std::int64_t iterations() const = 0;
  virtual void set_iterations(std::int64_t iterations) = 0;
  virtual void allocate_state(const std::vector<ParamRef<T>>& params) = 0;  // zero state on first call, checks after
  virtual std::vector<BufferRef<T>> state() = 0;              // "<param>.<slot>" tensors, for checkpoints
};

enum class OptimizerKind { adam, sgd };

// The names type() returns and command lines take.
inline const char* to_string(OptimizerKind kind) {
  switch (kind) {
    case OptimizerKind::adam: return "adam";
    case OptimizerKind::sgd: return "sgd";
  }
  return "unknown";
}

inline OptimizerKind parse_optimizer_kind(const std::string& name) {
  for (const OptimizerKind kind : {OptimizerKind::adam, OptimizerKind::sgd})
    if (name == to_string(kind)) return kind;
  throw InvalidArgument("unknown optimizer '" + name + "'; valid: adam, sgd");
}

// Whether decoupled weight decay applies to a parameter: weight matrices and filters (rank 2 or more), not
// biases or batch-norm scales and shifts, which set offsets and scales rather than detect features.
template <class T>
bool weight_decay_applies(const ParamRef<T>& p) {
  return p.value->shape().rank() >= 2;
}

}  // namespace mien
