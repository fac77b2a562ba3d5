#pragma once
// Net<T>: a network declared as a list of layer specs, built for its input shape when build() is called or on the
// first forward. Nothing in the declaration depends on input sizes, names are optional, and the element type is
// given once:
//
//   mien::Net<float> net({mien::nn::conv(16, 3), mien::nn::batchnorm_relu(), mien::nn::max_pool(),
//                         mien::nn::flatten(), mien::nn::dense(7)});
//   net.build(ctx, mien::Shape{1, 48, 48});     // [C, H, W]; or net.forward(ctx, images, mode) builds it
//
// Its architecture() is {"type": "Net", "input": [C, H, W], "layers": [specs]}: checkpoints store it, and
// build_model() (models/build_model.hpp) rebuilds the network from it through the layer registry.
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/models/layer_registry.hpp"
#include "mien/models/model.hpp"

namespace mien {

template <class T>
class Net : public Model<T> {
 public:
  Net() = default;
  explicit Net(const std::vector<LayerSpec>& layers) {
    for (const auto& l : layers) add(l);
  }
  // From a stored architecture's "layers" list.
  explicit Net(const nlohmann::json& layers) {
    check_arg(layers.is_array(), "Net", "the layers are a JSON list of specs, got ", layers.dump());
    for (const auto& l : layers) add(LayerSpec{l});
  }

  Net& add(const LayerSpec& spec) {
    check_arg(!root_, "Net::add", "the network is built already; declare every layer before build()");
    specs_.push_back(spec.json);
    return *this;
  }
  Net& operator<<(const LayerSpec& spec) { return add(spec); }

  // Builds every layer for images of shape [C, H, W] (a leading batch dimension is ignored), on ctx's device.
  void build(Context& ctx, const Shape& input) {
    check_arg(!root_, "Net::build", "the network is built already");
    check_arg(input.rank() == 3 || input.rank() == 4, "Net::build", "expects an image shape [C, H, W], got ", input);
    input_ = input.rank() == 4 ? Shape{input[1], input[2], input[3]} : input;
    root_ = LayerRegistry<T>::instance().build_sequence(ctx, specs_, Shape{1, input_[0], input_[1], input_[2]});
    check_unique_names("Net", state_names(*root_));
    set_input_gradient(input_gradient_);
  }
  bool built() const { return root_ != nullptr; }

  std::string type() const override { return "Net"; }
  nlohmann::json architecture() const override {
    check_arg(built(), "Net::architecture", "build the network first (its input shape is part of it)");
    return {{"type", "Net"}, {"input", {input_[0], input_[1], input_[2]}}, {"layers", specs_}};
  }
  Shape input_shape(std::int64_t batch) const override {
    check_arg(built(), "Net::input_shape", "the network is not built yet");
    return Shape{batch, input_[0], input_[1], input_[2]};
  }
  Shape output_shape(const Shape& input) const override { return built_root().output_shape(input); }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    if (!root_) build(ctx, x.shape());
    check_arg(x.shape() == input_shape(x.shape().n()), "Net::forward", "input has shape ", x.shape(),
              ", the network was built for ", input_shape(x.shape().n()));
    // Layer by layer, to keep the last NCHW output: the feature map of attention pictures and Grad-CAM. A pooling
    // layer's output is passed over (it only lowers the map's resolution).
    const Tensor<T>* h = &x;
    features_at_ = -1;
    for (std::size_t i = 0; i < root_->size(); ++i) {
      h = &root_->at(i).forward(ctx, *h, mode);
      if (h->shape().rank() == 4 && !dynamic_cast<MaxPool2D<T>*>(&root_->at(i))) {
        features_ = h;
        features_at_ = static_cast<int>(i);
      }
    }
    return *h;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(built(), "Net::backward", "called before forward");
    const Tensor<T>* g = &dy;
    feature_grad_ = nullptr;
    for (int i = static_cast<int>(root_->size()) - 1; i >= 0; --i) {
      if (i == features_at_) feature_grad_ = g;
      g = &root_->at(i).backward(ctx, *g);
    }
    return *g;
  }

  std::vector<ParamRef<T>> params() override { return built_root().params(); }
  std::vector<BufferRef<T>> buffers() override { return built_root().buffers(); }
  void to(Device device) override { built_root().to(device); }
  std::int64_t macs(const Shape& input) const override { return built_root().macs(input); }

  void set_input_gradient(bool needed) override {
    input_gradient_ = needed;
    if (root_) skip_input_gradient(*root_, !needed);
  }

  // A row per layer, containers opened: a parallel block's branches, then its own row (the concatenation).
  std::vector<SummaryRow> summary(std::int64_t batch = 1) override {
    std::vector<SummaryRow> rows{{"input", "Input", input_shape(batch), 0, 0}};
    summarise(built_root(), "", input_shape(batch), rows);
    return rows;
  }

  const Tensor<T>* feature_map() const override { return features_at_ >= 0 ? features_ : nullptr; }
  const Tensor<T>* feature_map_gradient() const override { return feature_grad_; }
  const Tensor<T>* attention_scores() const override {
    for (std::size_t i = root_ ? root_->size() : 0; i-- > 0;)
      if (const auto* a = dynamic_cast<const DynamicAttention<T>*>(&root_->at(i)); a && a->scores().numel() > 0)
        return &a->scores();
    return nullptr;
  }

  Sequential<T>& layers() { return built_root(); }

 private:
  Sequential<T>& built_root() const {
    check_arg(built(), "Net", "the network is not built yet: call build(ctx, input shape) or forward");
    return *root_;
  }
  static Shape summarise(Layer<T>& layer, const std::string& name, Shape in, std::vector<SummaryRow>& rows) {
    auto child = [&](const std::string& c) { return name.empty() ? c : name + "." + c; };
    if (auto* seq = dynamic_cast<Sequential<T>*>(&layer)) {
      for (std::size_t i = 0; i < seq->size(); ++i) in = summarise(seq->at(i), child(seq->name_at(i)), in, rows);
      return in;
    }
    const Shape out = layer.output_shape(in);
    if (auto* par = dynamic_cast<Parallel<T>*>(&layer)) {
      for (std::size_t i = 0; i < par->size(); ++i) summarise(par->at(i), child(par->name_at(i)), in, rows);
      rows.push_back({name, layer.type(), out, 0, 0});  // the concatenation; the branches' rows hold the rest
    } else {
      rows.push_back({name, layer.type(), out, layer.param_count(), layer.macs(in)});
    }
    return out;
  }
  // The layer that reads the images skips its input gradient when training needs none.
  static void skip_input_gradient(Layer<T>& layer, bool skip) {
    if (auto* conv = dynamic_cast<Conv2D<T>*>(&layer)) {
      conv->set_input_gradient(!skip);
    } else if (auto* seq = dynamic_cast<Sequential<T>*>(&layer); seq && seq->size() > 0) {
      skip_input_gradient(seq->at(0), skip);
    } else if (auto* par = dynamic_cast<Parallel<T>*>(&layer)) {
      for (std::size_t i = 0; i < par->size(); ++i) skip_input_gradient(par->at(i), skip);
    }
  }

  nlohmann::json specs_ = nlohmann::json::array();
  Shape input_;
  std::unique_ptr<Sequential<T>> root_;
  bool input_gradient_ = true;
  const Tensor<T>* features_ = nullptr;
  const Tensor<T>* feature_grad_ = nullptr;
  int features_at_ = -1;
};

}  // namespace mien
