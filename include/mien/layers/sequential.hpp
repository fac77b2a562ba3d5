#pragma once
// Sequential<T>: named layers applied one after the other; backward runs them in reverse.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/layer.hpp"
#include "mien/layers/named_children.hpp"

namespace mien {

template <class T>
class Sequential : public Layer<T> {
 public:
  // Appends a layer under a name (used as the prefix of its parameters) and returns it, typed. Names must be
  // unique and non-empty: checkpoints find parameters by name.
  template <class L>
  L& add(std::string name, std::unique_ptr<L> layer) {
    L& ref = *layer;
    layers_.add("Sequential::add", "layer", std::move(name), std::move(layer));
    return ref;
  }
  template <class L, class... Args>
  L& emplace(std::string name, Args&&... args) {
    return add(std::move(name), std::make_unique<L>(std::forward<Args>(args)...));
  }

  std::string type() const override { return "Sequential"; }
  std::size_t size() const { return layers_.size(); }
  Layer<T>& at(std::size_t i) { return layers_.at(i); }
  const std::string& name_at(std::size_t i) const { return layers_.name_at(i); }

  Shape output_shape(const Shape& input) const override {
    Shape s = input;
    for (std::size_t i = 0; i < layers_.size(); ++i) s = layers_.at(i).output_shape(s);
    return s;
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    check_arg(!layers_.empty(), "Sequential::forward", "no layers");
    const Tensor<T>* h = &x;
    for (std::size_t i = 0; i < layers_.size(); ++i) h = &layers_.at(i).forward(ctx, *h, mode);
    return *h;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    const Tensor<T>* g = &dy;
    for (std::size_t i = layers_.size(); i-- > 0;) g = &layers_.at(i).backward(ctx, *g);
    return *g;
  }

  std::vector<ParamRef<T>> params() override { return layers_.params(); }
  std::vector<BufferRef<T>> buffers() override { return layers_.buffers(); }
  void to(Device device) override { layers_.to(device); }

  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = 0;
    Shape s = input;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
      total += layers_.at(i).macs(s);
      s = layers_.at(i).output_shape(s);
    }
    return total;
  }

 private:
  NamedChildren<T> layers_;
};

}  // namespace mien
