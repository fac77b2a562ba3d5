#pragma once
// Checkpoints of any Model: its architecture as data (Model::architecture(), which build_model() rebuilds), class
// names, input normalisation, weights, batch-norm statistics, the optimizer (its type, options, step count and
// state tensors, "<type>.<param>.<slot>": Adam's "adam.head.logits.weight.m", Sgd's "sgd.<param>.velocity"), and
// where training stands. Loading into a model of another architecture fails with a message that says what
// differs; load_model rebuilds whatever network was saved.
//
// Model descriptions: "mien-model" version 2 (the architecture) is what mien writes; "mien-paper-net" (version 1,
// the paper network's config only, written before any network could be saved) still loads.
#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/data/image.hpp"
#include "mien/io/checkpoint.hpp"
#include "mien/models/build_model.hpp"
#include "mien/models/model.hpp"
#include "mien/optim/optimizer.hpp"
#include "mien/train/plots.hpp"

namespace mien {

constexpr const char* model_format = "mien-model";
constexpr int model_format_version = 2;
constexpr const char* model_format_v1 = "mien-paper-net";

// Where a run stands; saved with every checkpoint so that a resumed run continues exactly.
struct TrainingState {
  int epochs_done = 0;
  std::int64_t batches_done = 0;  // within the epoch after epochs_done (non-zero only for an interrupted epoch)
  std::uint64_t step = 0;         // global training step (keys the dropout masks)
  double best_val_accuracy = -1;
  int best_epoch = 0;
  int epochs_without_improvement = 0;
  double lr_scale = 1;            // the plateau schedule's factor on the base learning rate
  std::vector<EpochRecord> history;
};

inline nlohmann::json to_json(const EpochRecord& r) {
  return {{"epoch", r.epoch},       {"train_loss", r.train_loss}, {"train_accuracy", r.train_accuracy},
          {"val_loss", r.val_loss}, {"val_accuracy", r.val_accuracy}, {"learning_rate", r.learning_rate},
          {"seconds", r.seconds},   {"images_per_second", r.images_per_second}};
}

inline EpochRecord epoch_record_from_json(const nlohmann::json& j) {
  EpochRecord r;
  r.epoch = j.at("epoch");
  r.train_loss = j.at("train_loss");
  r.train_accuracy = j.at("train_accuracy");
  r.val_loss = j.at("val_loss");
  r.val_accuracy = j.at("val_accuracy");
  r.learning_rate = j.value("learning_rate", 0.0);
  r.seconds = j.value("seconds", 0.0);
  r.images_per_second = j.value("images_per_second", 0.0);
  return r;
}

// What, besides tensors, describes a trained model: enough to rebuild it and feed it. Saving takes the
// architecture from the model itself; loading fills it in.
struct ModelInfo {
  nlohmann::json architecture;
  std::vector<std::string> class_names;
  float pixel_mean = 0, pixel_stddev = 1;
  // The image side the model reads (its architecture's "input" [C, H, W]).
  int input_size() const {
    check_arg(architecture.is_object() && architecture.contains("input"), "ModelInfo::input_size",
              "no architecture: it is filled in when a checkpoint is loaded (or from Model::architecture())");
    return architecture.at("input").at(1).get<int>();
  }
};

// The part of a checkpoint's meta that describes the model (training and weights-only files alike), and its
// tensors ("model.<name>").
inline nlohmann::json model_meta(const Model<float>& model, const ModelInfo& info, const nlohmann::json& extra) {
  return {{"format", model_format},
          {"model_version", model_format_version},
          {"architecture", model.architecture()},
          {"class_names", info.class_names},
          {"normalization", {{"mean", info.pixel_mean}, {"stddev", info.pixel_stddev}}},
          {"extra", extra}};
}

inline std::vector<NamedTensor> model_tensors(Model<float>& model) {
  std::vector<NamedTensor> tensors;
  for (auto& [name, tensor] : state_tensors(model)) tensors.push_back({"model." + name, tensor});
  return tensors;
}

inline void save_training_checkpoint(const std::string& path, Model<float>& model, Optimizer<float>& optimizer,
                                     const ModelInfo& info, const TrainingState& state, const nlohmann::json& extra = {}) {
  nlohmann::json history = nlohmann::json::array();
  for (const EpochRecord& r : state.history) history.push_back(to_json(r));
  nlohmann::json meta = model_meta(model, info, extra);
  meta["state"] = {{"epochs_done", state.epochs_done},
                   {"batches_done", state.batches_done},
                   {"step", state.step},
                   {"best_val_accuracy", state.best_val_accuracy},
                   {"best_epoch", state.best_epoch},
                   {"epochs_without_improvement", state.epochs_without_improvement},
                   {"lr_scale", state.lr_scale},
                   {"history", history}};
  meta["optimizer"] = {
      {"type", optimizer.type()}, {"options", optimizer.options_json()}, {"iterations", optimizer.iterations()}};
  std::vector<NamedTensor> tensors = model_tensors(model);
  for (auto& ref : optimizer.state()) tensors.push_back({optimizer.type() + "." + ref.name, ref.value});
  save_checkpoint(path, meta, tensors);
}

// A model to deploy: the same format and model description, the weights and batch-norm statistics, and no
// optimizer or training state (a third of a training checkpoint's size with Adam). `extra` records where the model
// came from (the run, the commit, its accuracy). It loads with load_model; training cannot resume from it.
// With StoredAs::float16 the file is half the size (format version 2; see io/checkpoint.hpp).
inline void save_model_weights(const std::string& path, Model<float>& model, const ModelInfo& info,
                               const nlohmann::json& extra = {}, StoredAs storage = StoredAs::float32) {
  nlohmann::json meta = model_meta(model, info, extra);
  meta["weights_only"] = true;
  save_checkpoint(path, meta, model_tensors(model), storage);
}

inline bool is_weights_only(const Checkpoint& ckpt) { return ckpt.meta.value("weights_only", false); }

inline ModelInfo model_info_from(const Checkpoint& ckpt, const std::string& path) {
  const nlohmann::json& meta = ckpt.meta;
  const std::string format = meta.value("format", std::string());
  ModelInfo info;
  try {
    if (format == model_format) {
      const int version = meta.value("model_version", 0);
      if (version != model_format_version)
        throw InvalidArgument("'" + path + "' holds a model description of version " + std::to_string(version) +
                              "; this mien reads versions 1 and " + std::to_string(model_format_version));
      info.architecture = meta.at("architecture");
    } else if (format == model_format_v1) {
      info.architecture = version1_architecture(meta);
    } else {
      throw InvalidArgument("'" + path + "' is a mien checkpoint of '" + (format.empty() ? "?" : format) +
                            "', not a model (mien writes '" + model_format + "')");
    }
    info.class_names = meta.at("class_names").get<std::vector<std::string>>();
    info.pixel_mean = meta.at("normalization").at("mean");
    info.pixel_stddev = meta.at("normalization").at("stddev");
  } catch (const nlohmann::json::exception& e) {
    throw IoError("checkpoint '" + path + "': malformed model description: " + e.what());
  }
  return info;
}

// Writes a model-size grayscale face into `host` ([1, 1, size, size] on the CPU) as the model was trained to see
// it: (pixel / 255 - mean) / stddev with the checkpoint's normalisation.
inline void fill_model_input(const GrayImage& face, const ModelInfo& info, Tensor<float>& host) {
  check_arg(face.pixels.size() == host.numel(), "fill_model_input", "a ", face.width, "x", face.height,
            " image does not fill an input of shape ", host.shape());
  for (std::size_t i = 0; i < host.numel(); ++i) host[i] = (face.pixels[i] / 255.0f - info.pixel_mean) / info.pixel_stddev;
}

// The optimizer a training checkpoint was written with ("adam" or "sgd").
inline std::string checkpoint_optimizer_type(const Checkpoint& ckpt, const std::string& path) {
  const auto it = ckpt.meta.find("optimizer");
  if (it == ckpt.meta.end() || !it->is_object() || !it->value("type", nlohmann::json()).is_string())
    throw IoError("checkpoint '" + path + "': malformed model description: no optimizer type");
  return it->at("type").get<std::string>();
}

inline std::string checkpoint_optimizer_type(const std::string& path) {
  return checkpoint_optimizer_type(read_checkpoint(path), path);
}

// Loads weights (and, with an optimizer, its step count and state, and the training state) into an existing model,
// whose configuration must equal the checkpoint's. The optimizer must be of the type the checkpoint was trained
// with: Adam's moments cannot continue an SGD run, nor the reverse.
inline ModelInfo load_training_checkpoint(const std::string& path, Model<float>& model,
                                          Optimizer<float>* optimizer = nullptr, TrainingState* state = nullptr) {
  const Checkpoint ckpt = read_checkpoint(path);
  ModelInfo info = model_info_from(ckpt, path);
  const nlohmann::json have = model.architecture(), want = info.architecture;
  if (have != want)
    throw InvalidArgument("checkpoint '" + path + "' holds another architecture: it has " + want.dump() +
                          ", the model being trained has " + have.dump());
  if ((optimizer || state) && is_weights_only(ckpt))
    throw InvalidArgument("'" + path + "' holds a model's weights only (no optimizer or training state): it can be "
                          "evaluated and used for prediction, not resumed");
  load_named(ckpt, "model.", state_tensors(model), "checkpoint '" + path + "'");
  if (optimizer) {
    const std::string trained_with = checkpoint_optimizer_type(ckpt, path);
    if (trained_with != optimizer->type())
      throw InvalidArgument("checkpoint '" + path + "' was trained with the " + trained_with +
                            " optimizer and cannot continue with " + optimizer->type() + "; resume it with " +
                            trained_with);
    optimizer->set_iterations(ckpt.meta.at("optimizer").at("iterations").get<std::int64_t>());
    optimizer->allocate_state(model.params());
    std::vector<std::pair<std::string, Tensor<float>*>> slots;
    for (auto& ref : optimizer->state()) slots.emplace_back(ref.name, ref.value);
    load_named(ckpt, trained_with + ".", slots, "checkpoint '" + path + "' (optimizer state)");
  }
  if (state) {
    const nlohmann::json& s = ckpt.meta.at("state");
    state->epochs_done = s.at("epochs_done");
    state->batches_done = s.value("batches_done", 0);
    state->step = s.at("step");
    state->best_val_accuracy = s.at("best_val_accuracy");
    state->best_epoch = s.at("best_epoch");
    state->epochs_without_improvement = s.value("epochs_without_improvement", 0);
    state->lr_scale = s.value("lr_scale", 1.0);
    state->history.clear();
    for (const auto& r : s.at("history")) state->history.push_back(epoch_record_from_json(r));
  }
  return info;
}

// Builds the network a checkpoint describes, whatever it is, and loads its weights (for evaluation, prediction,
// export). Layer types a user registered must be registered before the call.
inline std::pair<std::unique_ptr<Model<float>>, ModelInfo> load_model(Context& ctx, const std::string& path) {
  const Checkpoint ckpt = read_checkpoint(path);
  ModelInfo info = model_info_from(ckpt, path);
  std::unique_ptr<Model<float>> model = build_model<float>(ctx, info.architecture);
  load_named(ckpt, "model.", state_tensors(*model), "checkpoint '" + path + "'");
  model->to(ctx.device());
  return {std::move(model), info};
}

// How many gray levels of an 8-bit pixel apart normalisation `to` puts a pixel when it is normalised with `from`
// instead (the larger gap of black and white: normalisation is affine in the pixel).
inline double normalisation_gap(const ModelInfo& from, const ModelInfo& to) {
  auto z = [](const ModelInfo& m, double pixel) { return (pixel - m.pixel_mean) / m.pixel_stddev; };
  return std::max(std::abs(z(from, 0) - z(to, 0)), std::abs(z(from, 1) - z(to, 1))) * 255.0 * to.pixel_stddev;
}

// Several loaded models as one Ensemble (their probabilities averaged). They must agree on the class names and on
// the input normalisation, since each image is prepared once for all of them (with the first model's); the
// Ensemble checks the shapes. Models trained on other splits of one data set have statistics a hair apart: they
// are accepted while the first model's normalisation moves no pixel by half a gray level, less than the rounding
// of the 8-bit images themselves.
inline std::pair<std::unique_ptr<Model<float>>, ModelInfo> ensemble_of(
    std::vector<std::pair<std::unique_ptr<Model<float>>, ModelInfo>> loaded, const std::vector<std::string>& sources) {
  check_arg(!loaded.empty() && loaded.size() == sources.size(), "ensemble_of", "needs models, one source name each");
  if (loaded.size() == 1) return std::move(loaded[0]);
  const ModelInfo first = loaded[0].second;
  std::vector<std::unique_ptr<Model<float>>> members;
  for (std::size_t k = 0; k < loaded.size(); ++k) {
    const ModelInfo& info = loaded[k].second;
    check_arg(info.class_names == first.class_names, "ensemble", "'", sources[k], "' has other classes than '",
              sources[0], "'");
    const double gap = normalisation_gap(first, info);
    check_arg(gap < 0.5, "ensemble", "'", sources[k], "' normalises its input with mean ", info.pixel_mean,
              " and stddev ", info.pixel_stddev, ", '", sources[0], "' with ", first.pixel_mean, " and ",
              first.pixel_stddev, ": pixels would reach it ", gap, " gray levels off (less than 0.5 is accepted)");
    members.push_back(std::move(loaded[k].first));
  }
  auto ensemble = std::make_unique<Ensemble<float>>(std::move(members));
  ModelInfo info = first;
  info.architecture = ensemble->architecture();
  return {std::move(ensemble), info};
}

}  // namespace mien
