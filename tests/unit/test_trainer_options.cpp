// Trainer options beyond the paper's Table 3: the cosine learning-rate schedule follows half a cosine over the
// run's epochs, and mirror test-time augmentation averages each image's and its mirror image's probabilities.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include "mien/train/trainer.hpp"
#include "../support/temp_dir.hpp"
#include "../support/tiny_run.hpp"

using namespace mien;

TEST_CASE("The cosine schedule anneals the learning rate from the base rate towards zero", "[trainer][schedule]") {
  CHECK(cosine_lr_scale(1, 10) == Approx(1.0));
  CHECK(cosine_lr_scale(6, 10) == Approx(0.5));
  CHECK(cosine_lr_scale(10, 10) == Approx(0.5 * (1 + std::cos(3.14159265358979 * 0.9))));
  for (int e = 2; e <= 10; ++e) CHECK(cosine_lr_scale(e, 10) < cosine_lr_scale(e - 1, 10));

  testing::TempDir dir("mien-cosine");
  testing::TinyRun run;  // Adam without time-based decay, so the recorded rate is base * schedule
  run.fit(dir.path(), 4, "cosine");
  REQUIRE(run.state.history.size() == 4);
  for (int e = 1; e <= 4; ++e) {
    INFO("epoch " << e);
    CHECK(run.state.history[static_cast<std::size_t>(e - 1)].learning_rate == Approx(1e-3 * cosine_lr_scale(e, 4)));
  }
  // The scale is part of the training state, so a resumed run continues the same curve.
  CHECK(run.state.lr_scale == Approx(cosine_lr_scale(4, 4)));
}

TEST_CASE("Mirror test-time augmentation averages the probabilities of each image and its mirror image",
          "[trainer][evaluate]") {
  testing::TinyRun run;
  // Train a little so that the network is not symmetric by accident.
  testing::TempDir dir("mien-tta");
  run.fit(dir.path(), 2);

  // The same images, mirrored left to right, as a second data set.
  Dataset mirrored = run.data;
  const int side = mirrored.width;
  for (std::size_t i = 0; i < mirrored.size(); ++i)
    for (int y = 0; y < side; ++y) {
      auto row = mirrored.pixels.begin() + static_cast<std::ptrdiff_t>(i * mirrored.image_pixels() + y * side);
      std::reverse(row, row + side);
    }

  auto probabilities = [&](const Dataset& data, bool tta, EvaluationReport* report = nullptr) {
    BatchLoader loader(data, run.val_idx, run.loader_options(false));
    std::vector<std::vector<float>> p;
    const EvaluationReport r = evaluate(run.ctx, run.model, loader, run.data.class_names, &p, tta);
    if (report) *report = r;
    return p;
  };
  const auto plain = probabilities(run.data, false), flipped = probabilities(mirrored, false);
  EvaluationReport report;
  const auto averaged = probabilities(run.data, true, &report);
  REQUIRE(averaged.size() == run.val_idx.size());
  double nll = 0, largest_difference = 0;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < averaged.size(); ++i) {
    for (std::size_t c = 0; c < 3; ++c) {
      CHECK(averaged[i][c] == Approx(0.5f * (plain[i][c] + flipped[i][c])).margin(1e-6));
      largest_difference = std::max<double>(largest_difference, std::abs(plain[i][c] - flipped[i][c]));
    }
    const auto label = static_cast<std::size_t>(run.data.labels[run.val_idx[i]]);
    nll -= std::log(averaged[i][label]);
    correct += static_cast<std::size_t>(std::max_element(averaged[i].begin(), averaged[i].end()) - averaged[i].begin()) ==
               label;
  }
  CHECK(largest_difference > 1e-4);  // the mirror images did give other answers
  CHECK(report.loss == Approx(nll / averaged.size()).epsilon(1e-4));
  CHECK(report.accuracy == Approx(double(correct) / averaged.size()));
}
