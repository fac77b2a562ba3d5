#pragma once
// The layer contract, in one place.
//
// Module<T>: anything that owns trainable parameters and saved state. params() lists each parameter with its
// gradient tensor under a stable name ("weight", "bias", "gamma", ...; composites prefix their children's,
// "conv1.weight"); checkpoints and optimizers work through these lists only.
//
// Layer<T>: a module with one input and one output.
//   forward(ctx, x, mode)  computes y and returns it. The layer keeps a pointer to x for backward: x must stay
//                          alive and unchanged until backward has run.
//   backward(ctx, dy)      given dL/dy for the last forward, returns dL/dx and OVERWRITES every parameter's
//                          gradient with dL/dparameter (no accumulation; each layer runs once per step).
// Returned references stay valid until the next call on the same layer. Layers call ops:: only, so the same
// layer runs on whichever device its tensors are on.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"

namespace mien {

enum class Mode { train, infer };

template <class T>
struct ParamRef {
  std::string name;
  Tensor<T>* value;
  Tensor<T>* grad;
};

template <class T>
struct BufferRef {
  std::string name;
  Tensor<T>* value;
};

template <class T>
class Module {
 public:
  virtual ~Module() = default;
  Module() = default;
  Module(const Module&) = delete;
  Module& operator=(const Module&) = delete;

  // Type name for summaries and error messages, e.g. "Conv2D".
  virtual std::string type() const = 0;
  // Trainable parameters with their gradients.
  virtual std::vector<ParamRef<T>> params() { return {}; }
  // State that is saved but not trained (batch-norm running averages).
  virtual std::vector<BufferRef<T>> buffers() { return {}; }

  std::int64_t param_count() {
    std::int64_t n = 0;
    for (auto& p : params()) n += static_cast<std::int64_t>(p.value->numel());
    return n;
  }

  // Moves parameters, gradients and buffers to a device. Activations follow their inputs by themselves.
  virtual void to(Device device) {
    for (auto& p : params()) {
      *p.value = p.value->to(device);
      *p.grad = p.grad->to(device);
    }
    for (auto& b : buffers()) *b.value = b.value->to(device);
  }
};

template <class T>
class Layer : public Module<T> {
 public:
  virtual Shape output_shape(const Shape& input) const = 0;
  virtual const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) = 0;
  virtual const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) = 0;
  // Multiply-accumulates of one forward pass over the given input shape (for the model summary).
  virtual std::int64_t macs(const Shape& /*input*/) const { return 0; }
};

// Prefixes child names: prefixed("conv1", child.params()) -> "conv1.weight", ...
template <class Ref>
std::vector<Ref> prefixed(const std::string& prefix, std::vector<Ref> refs) {
  for (auto& r : refs) r.name = prefix + "." + r.name;
  return refs;
}

template <class Ref>
void append(std::vector<Ref>& out, std::vector<Ref> more) {
  for (auto& r : more) out.push_back(std::move(r));
}

// The first name, in sorted order, that occurs more than once; empty when every name is unique.
inline std::string repeated_name(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  const auto twice = std::adjacent_find(names.begin(), names.end());
  return twice == names.end() ? std::string() : *twice;
}

// Refuses a list of tensor names in which one occurs twice: saved under one name, two tensors would load each
// other's values. `what` says whose names they are, for the message.
inline void check_unique_names(const std::string& what, const std::vector<std::string>& names) {
  const std::string twice = repeated_name(names);
  if (!twice.empty())
    throw InvalidArgument(what + ": the tensor name '" + twice + "' occurs twice; every parameter and buffer needs "
                          "a name of its own");
}

// The names of a module's parameters and buffers, all of which checkpoints store.
template <class T>
std::vector<std::string> state_names(Module<T>& module) {
  std::vector<std::string> names;
  for (const auto& p : module.params()) names.push_back(p.name);
  for (const auto& b : module.buffers()) names.push_back(b.name);
  return names;
}

}  // namespace mien
