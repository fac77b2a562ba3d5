#pragma once
// What train_fer and custom_model share before their networks differ: the data set loaded by path, split (the
// data set's own train/test with validation carved from train, or the paper's pooled 70/15/15), audited for
// duplicates across the parts, and the training part's pixel statistics for the model's input standardisation.
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

#include "common.hpp"

namespace examples {

struct DataFlags {
  std::string data, split = "official", on_bad_image = "fail";
  int input_size = 48, threads = 0;
  std::uint64_t seed = 1;
  double val_fraction = 0.1;
  bool drop_duplicates = false, standardize = true;
  std::int64_t max_train = 0;  // use only this many training images (quick runs); 0: all
};

struct TrainingData {
  mien::Dataset data;
  mien::Split split;
  mien::DuplicateAudit audit;
  mien::ModelInfo info;  // class names and pixel statistics; the architecture comes from the model
};

// The loader options for validation and test images, from the training ones: the same normalisation, no
// augmentation, the data set's order, and every image, even in a last partial batch.
inline mien::LoaderOptions evaluation_options(const mien::LoaderOptions& train) {
  mien::LoaderOptions eval = train;
  eval.augment = false;
  eval.shuffle = false;
  eval.drop_last = false;
  return eval;
}

inline TrainingData load_training_data(const DataFlags& f) {
  TrainingData out;
  mien::LoadOptions load;
  load.image_size = f.input_size;
  load.num_threads = f.threads;
  load.on_bad_image = f.on_bad_image == "skip" ? mien::OnBadInput::skip : mien::OnBadInput::fail;
  const auto t0 = std::chrono::steady_clock::now();
  const mien::DatasetLayout layout = mien::find_dataset_layout(f.data);
  std::fprintf(stderr, "data: %s\n", layout.describe().c_str());
  out.data = load_dataset(layout, load);
  const mien::Dataset& data = out.data;
  std::fprintf(stderr, "loaded %zu images at %dx%d in %.1f s\n", data.size(), f.input_size, f.input_size,
               std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  mien::Split& split = out.split;
  if (f.split == "paper") {
    split = mien::paper_split(data, mien::PaperSplitOptions{0.70, 0.15, f.seed});
  } else {
    mien::OfficialSplitOptions parts = mien::official_parts(layout);
    parts.val_fraction = f.val_fraction;
    parts.seed = f.seed;
    split = mien::official_split(data, parts);
  }
  out.audit = mien::audit_duplicates(data, split);
  std::fprintf(stderr, "%s\n", out.audit.text().c_str());
  if (f.drop_duplicates) split = mien::drop_cross_split_duplicates(data, split);
  if (f.max_train > 0 && static_cast<std::size_t>(f.max_train) < split.train.size()) {
    // A seeded random subset: the indices are sorted by class folder, so their head would hold one class only.
    mien::seeded_shuffle(split.train, mien::RandomStream{f.seed, 0x5B5Eu, 0});
    split.train.resize(static_cast<std::size_t>(f.max_train));
    std::sort(split.train.begin(), split.train.end());
  }
  std::fprintf(stderr, "split '%s': %zu train, %zu validation, %zu test\n", f.split.c_str(), split.train.size(),
               split.val.size(), split.test.size());
  out.info.class_names = data.class_names;
  if (f.standardize) {
    const mien::PixelStats stats = mien::pixel_stats(data, split.train);
    out.info.pixel_mean = stats.mean;
    out.info.pixel_stddev = stats.stddev;
  }
  return out;
}

}  // namespace examples
