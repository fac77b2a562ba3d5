#pragma once
// A tiny 3-class data set with a tiny paper network, its loaders and everything a Trainer needs, built the same
// way for every run: for the trainer tests (faults, resume, schedules, evaluation).
#include <cstddef>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "mien/optim/make_optimizer.hpp"
#include "mien/train/trainer.hpp"
#include "synthetic_dataset.hpp"

namespace mien::testing {

inline PaperNetConfig tiny_run_config() {
  PaperNetConfig c;
  c.input_size = 8;
  c.classes = 3;
  c.stream_channels = {2, 3};
  c.residual_blocks = 1;
  c.dense_units = {5};
  c.dropout = 0.25;  // dropout on, so that a resumed run must also repeat the masks
  return c;
}

struct TinyRun {
  Dataset data = synthetic_dataset({8, 8, 8}, 8);
  std::vector<std::size_t> train_idx, val_idx;
  ModelInfo info;
  Context ctx{5};
  PaperNet<float> model{ctx, tiny_run_config()};
  // Adam without time-based decay, or SGD with Nesterov momentum and weight decay.
  std::unique_ptr<Optimizer<float>> optimizer;
  SoftmaxCrossEntropy<float> loss;
  TrainingState state;
  bool interrupted = false;

  explicit TinyRun(OptimizerKind kind = OptimizerKind::adam) {
    OptimizerSettings settings;
    settings.lr = kind == OptimizerKind::adam ? 1e-3 : 1e-2;
    settings.decay = 0;
    settings.weight_decay = kind == OptimizerKind::adam ? 0 : 5e-4;
    optimizer = make_optimizer<float>(kind, settings);
    data.class_names = {"a", "b", "c"};
    for (std::size_t i = 0; i < data.size(); ++i) (i % 4 == 0 ? val_idx : train_idx).push_back(i);
    info.class_names = data.class_names;
  }

  LoaderOptions loader_options(bool training) const {
    LoaderOptions o;
    o.batch_size = 4;
    o.seed = 5;
    o.augment = training;
    o.shuffle = training;
    o.drop_last = training;
    o.num_threads = 1;
    return o;
  }

  void fit(const std::filesystem::path& run_dir, int epochs, LrSchedule lr_schedule = LrSchedule::none) {
    BatchLoader train(data, train_idx, loader_options(true));
    BatchLoader val(data, val_idx, loader_options(false));
    TrainOptions options;
    options.epochs = epochs;
    options.lr_schedule = lr_schedule;
    options.progress = false;
    options.run_dir = run_dir;
    Trainer trainer(ctx, model, *optimizer, loss, info, options);
    trainer.fit(train, val, state);
    interrupted = trainer.interrupted();
  }
};

}  // namespace mien::testing
