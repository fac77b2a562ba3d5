#pragma once
// Sequential<T>: named layers applied one after the other; backward runs them in reverse.
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/layer.hpp"

namespace mien {

template <class T>
class Sequential : public Layer<T> {
 public:
  // Appends a layer under a name (used as the prefix of its parameters) and returns it, typed. Names must be
  // unique and non-empty: checkpoints find parameters by name.
  template <class L>
  L& add(std::string name, std::unique_ptr<L> layer) {
    check_arg(!name.empty(), "Sequential::add", "a layer needs a name");
    for (const auto& entry : layers_)
      check_arg(entry.name != name, "Sequential::add", "the name '", name, "' is already taken by a ",
                entry.layer->type(), " layer");
    L& ref = *layer;
    layers_.push_back({std::move(name), std::move(layer)});
    return ref;
  }
  template <class L, class... Args>
  L& emplace(std::string name, Args&&... args) {
    return add(std::move(name), std::make_unique<L>(std::forward<Args>(args)...));
  }

  std::string type() const override { return "Sequential"; }
  std::size_t size() const { return layers_.size(); }
  Layer<T>& at(std::size_t i) { return *layers_[i].layer; }
  const std::string& name_at(std::size_t i) const { return layers_[i].name; }

  Shape output_shape(const Shape& input) const override {
    Shape s = input;
    for (const auto& entry : layers_) s = entry.layer->output_shape(s);
    return s;
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    check_arg(!layers_.empty(), "Sequential::forward", "no layers");
    const Tensor<T>* h = &x;
    for (auto& entry : layers_) h = &entry.layer->forward(ctx, *h, mode);
    return *h;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    const Tensor<T>* g = &dy;
    for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) g = &it->layer->backward(ctx, *g);
    return *g;
  }

  std::vector<ParamRef<T>> params() override {
    std::vector<ParamRef<T>> out;
    for (auto& entry : layers_) append(out, prefixed(entry.name, entry.layer->params()));
    return out;
  }
  std::vector<BufferRef<T>> buffers() override {
    std::vector<BufferRef<T>> out;
    for (auto& entry : layers_) append(out, prefixed(entry.name, entry.layer->buffers()));
    return out;
  }

  void to(Device device) override {
    for (auto& entry : layers_) entry.layer->to(device);
  }

  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = 0;
    Shape s = input;
    for (const auto& entry : layers_) {
      total += entry.layer->macs(s);
      s = entry.layer->output_shape(s);
    }
    return total;
  }

 private:
  struct Entry {
    std::string name;
    std::unique_ptr<Layer<T>> layer;
  };
  std::vector<Entry> layers_;
};

}  // namespace mien
