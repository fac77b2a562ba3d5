#pragma once
// Model<T>: a whole network, as the trainer, checkpoints, evaluation, prediction and the model summary see it.
// Any network is one: a Net declared from layer specs (models/net.hpp), the paper's PaperNet, or a user's class.
//
//   architecture()      the network as data ({"type": ..., "input": [C, H, W], ...}); build_model() rebuilds it
//                       from this, so a checkpoint that stores it loads without the code that declared it
//   input_shape(batch)  the input it was built for, [batch, C, H, W]
//   summary(batch)      one row per layer: output shape, parameters, multiply-accumulates
//   feature_map()       the last convolutional feature map of the latest forward and, after backward, its
//                       gradient (attention maps, Grad-CAM); nullptr where the network has none
//   attention_scores()  the per-channel scores [N, C] of its dynamic-attention layer, nullptr without one
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/layers/layer.hpp"

namespace mien {

struct SummaryRow {
  std::string name, type;
  Shape output;
  std::int64_t params, macs;
};

template <class T>
class Model : public Layer<T> {
 public:
  virtual nlohmann::json architecture() const = 0;
  virtual Shape input_shape(std::int64_t batch) const = 0;
  virtual std::vector<SummaryRow> summary(std::int64_t batch = 1) = 0;
  // Off in training: the first layer that reads the images skips the gradient nobody needs.
  virtual void set_input_gradient(bool /*needed*/) {}
  virtual const Tensor<T>* feature_map() const { return nullptr; }
  virtual const Tensor<T>* feature_map_gradient() const { return nullptr; }
  virtual const Tensor<T>* attention_scores() const { return nullptr; }
  // The image side length it expects (H = W for every model mien trains).
  std::int64_t input_size() const { return input_shape(1).h(); }
};

}  // namespace mien
