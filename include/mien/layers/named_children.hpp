#pragma once
// NamedChildren<T>: the named sub-layers of a container layer (Sequential's layers, Parallel's branches). Names are
// non-empty and unique, because they prefix the children's parameter and buffer names, which checkpoints look up.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/layer.hpp"

namespace mien {

template <class T>
class NamedChildren {
 public:
  // `owner` names the container in error messages ("Sequential::add"), `kind` what a child is ("layer").
  Layer<T>& add(const char* owner, const char* kind, std::string name, std::unique_ptr<Layer<T>> child) {
    check_arg(!name.empty(), owner, "a ", kind, " needs a name");
    for (const auto& c : children_)
      check_arg(c.name != name, owner, "the name '", name, "' is already taken by a ", c.layer->type(), " ", kind);
    children_.push_back({std::move(name), std::move(child)});
    return *children_.back().layer;
  }

  std::size_t size() const { return children_.size(); }
  bool empty() const { return children_.empty(); }
  Layer<T>& at(std::size_t i) { return *children_[i].layer; }
  const Layer<T>& at(std::size_t i) const { return *children_[i].layer; }
  const std::string& name_at(std::size_t i) const { return children_[i].name; }

  std::vector<ParamRef<T>> params() {
    std::vector<ParamRef<T>> out;
    for (auto& c : children_) append(out, prefixed(c.name, c.layer->params()));
    return out;
  }
  std::vector<BufferRef<T>> buffers() {
    std::vector<BufferRef<T>> out;
    for (auto& c : children_) append(out, prefixed(c.name, c.layer->buffers()));
    return out;
  }
  void to(Device device) {
    for (auto& c : children_) c.layer->to(device);
  }

 private:
  struct Child {
    std::string name;
    std::unique_ptr<Layer<T>> layer;
  };
  std::vector<Child> children_;
};

}  // namespace mien
