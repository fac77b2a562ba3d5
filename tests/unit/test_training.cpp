// Training end to end on real data: a small paper network on a FER2013 subset must lower its loss and beat both
// chance (1/7) and the majority class on held-out images. Skipped, with the reason, where the archive is absent.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>

#include "mien/data/dataset.hpp"
#include "mien/data/loader.hpp"
#include "mien/data/split.hpp"
#include "mien/optim/adam.hpp"
#include "mien/train/trainer.hpp"
#include "../support/fer2013.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

TEST_CASE("A small paper network learns FER2013", "[training][fer2013]") {
  std::string why;
  const auto root = testing::fer2013_root(&why);
  if (!root) {
    WARN("skipped: " << why);
    return;
  }
  LoadOptions load;
  load.image_size = 48;
  const Dataset data = load_image_folder(*root, "train", load);
  // A stratified 4,000 / 1,000 subset of the training folder, seeded.
  const Split parts = paper_split(data, PaperSplitOptions{4000.0 / data.size(), 1000.0 / data.size(), 7});
  PaperNetConfig config;
  config.input_size = 48;
  config.stream_channels = {8, 16};
  config.residual_blocks = 1;
  config.dense_units = {64};
  config.dropout = 0.25;
  ModelInfo info;
  info.class_names = data.class_names;
  const PixelStats stats = pixel_stats(data, parts.train);
  info.pixel_mean = stats.mean;
  info.pixel_stddev = stats.stddev;

  LoaderOptions opts;
  opts.batch_size = 32;
  opts.seed = 7;
  opts.mean = stats.mean;
  opts.stddev = stats.stddev;
  opts.drop_last = true;  // a last batch of one sample has no batch statistics
  BatchLoader train(data, parts.train, opts);
  opts.shuffle = false;
  opts.drop_last = false;
  opts.batch_size = 200;
  BatchLoader val(data, parts.val, opts);

  Context ctx(7);
  PaperNet<float> model(ctx, config);
  Adam<float> adam(AdamOptions{1e-3, 0});
  SoftmaxCrossEntropy<float> loss;
  TrainOptions options;
  options.epochs = 4;
  options.progress = false;
  testing::TempDir dir("mien-train");
  options.run_dir = dir.path();
  TrainingState state;
  const auto start = std::chrono::steady_clock::now();
  Trainer(ctx, model, adam, loss, info, options).fit(train, val, state);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  REQUIRE(state.history.size() == 4);
  std::size_t majority = 0;
  for (std::size_t c : class_counts(data, parts.val)) majority = std::max(majority, c);
  const double majority_rate = double(majority) / parts.val.size();
  for (const auto& r : state.history)
    std::printf("epoch %d: train loss %.3f acc %.3f, val loss %.3f acc %.3f (%.0f img/s)\n", r.epoch, r.train_loss,
                r.train_accuracy, r.val_loss, r.val_accuracy, r.images_per_second);
  std::printf("trained in %.1f s; majority-class rate %.3f\n", seconds, majority_rate);
  CHECK(state.history.back().train_loss < state.history.front().train_loss - 0.05);
  CHECK(state.best_val_accuracy > 1.0 / 7 + 0.1);
  CHECK(state.best_val_accuracy > majority_rate + 0.03);
  CHECK(std::filesystem::exists(dir.path() / "best.ckpt"));
}
