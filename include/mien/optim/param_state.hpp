#pragma once
// The per-parameter tensors an optimizer keeps (Adam's two moments, SGD's velocity), keyed by parameter name,
// with the checks both optimizers make: the state is allocated once, for one set of names and shapes, and a later
// call with another set is refused, since state silently applied to a different network would be wrong.
#include <array>
#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"

namespace mien::optim_detail {

// Refuses a gradient of another shape or device than its parameter. Optimizers check every entry before updating
// any, so that a bad one cannot leave the network half updated.
template <class T>
void check_gradients(const char* owner, const std::vector<ParamRef<T>>& params) {
  for (const ParamRef<T>& p : params)
    check_arg(p.grad->shape() == p.value->shape() && p.grad->device() == p.value->device(), owner, "parameter '",
              p.name, "' ", p.value->shape(), " on ", to_string(p.value->device()), " has a gradient ",
              p.grad->shape(), " on ", to_string(p.grad->device()));
}

// Slots tensors per parameter, named "<param>.<slot name>" in state().
template <class T, std::size_t Slots>
class ParamState {
 public:
  using Tensors = std::array<Tensor<T>, Slots>;

  ParamState(const char* owner, std::array<const char*, Slots> slot_names) : owner_(owner), slot_names_(slot_names) {}

  bool empty() const { return entries_.empty(); }

  // Zero tensors for every parameter on the first call; later calls check that the parameters are the same
  // names with the same shapes, and move the state to a parameter's device.
  void allocate(const std::vector<ParamRef<T>>& params) {
    if (entries_.empty()) {
      std::map<std::string, std::size_t> index;
      for (const ParamRef<T>& p : params)
        check_arg(index.emplace(p.name, index.size()).second, owner_, "parameter name '", p.name, "' appears twice");
      for (const ParamRef<T>& p : params) {
        Entry entry{p.name, {}};
        for (Tensor<T>& t : entry.tensors) t = Tensor<T>::zeros(p.value->shape(), p.value->device());
        entries_.push_back(std::move(entry));
      }
      index_ = std::move(index);
      return;
    }
    check_arg(params.size() == entries_.size(), owner_, "got ", params.size(), " parameters, but the optimizer state ",
              "holds ", entries_.size(), " (the set of parameter names changed since the first step)");
    std::vector<bool> seen(entries_.size(), false);
    for (const ParamRef<T>& p : params) {
      const auto it = index_.find(p.name);
      check_arg(it != index_.end(), owner_, "parameter '", p.name, "' has no optimizer state (the set of ",
                "parameter names changed since the first step)");
      check_arg(!seen[it->second], owner_, "parameter name '", p.name, "' appears twice");
      seen[it->second] = true;
      Entry& entry = entries_[it->second];
      check_arg(entry.tensors[0].shape() == p.value->shape(), owner_, "parameter '", p.name, "' has shape ",
                p.value->shape(), ", its optimizer state ", entry.tensors[0].shape());
      if (entry.tensors[0].device() != p.value->device())
        for (Tensor<T>& t : entry.tensors) t = t.to(p.value->device());
    }
  }

  // The tensors of a parameter that allocate() has seen.
  Tensors& of(const std::string& name) { return entries_[index_.at(name)].tensors; }

  // "<param>.<slot>" for every slot of every parameter, in the parameters' first-seen order.
  std::vector<BufferRef<T>> refs() {
    std::vector<BufferRef<T>> out;
    for (Entry& entry : entries_)
      for (std::size_t s = 0; s < Slots; ++s) out.push_back({entry.name + "." + slot_names_[s], &entry.tensors[s]});
    return out;
  }

 private:
  struct Entry {
    std::string name;
    Tensors tensors;
  };

  const char* owner_;
  std::array<const char*, Slots> slot_names_;
  std::vector<Entry> entries_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace mien::optim_detail
