// Trainer options beyond the paper's Table 3: the cosine learning-rate schedule follows half a cosine over the
// run's epochs, and test-time augmentation averages each image's probabilities over its mirror and shifted views.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <utility>
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
  run.fit(dir.path(), 4, LrSchedule::cosine);
  REQUIRE(run.state.history.size() == 4);
  for (int e = 1; e <= 4; ++e) {
    INFO("epoch " << e);
    CHECK(run.state.history[static_cast<std::size_t>(e - 1)].learning_rate == Approx(1e-3 * cosine_lr_scale(e, 4)));
  }
  // The scale is part of the training state, so a resumed run continues the same curve.
  CHECK(run.state.lr_scale == Approx(cosine_lr_scale(4, 4)));
}

TEST_CASE("shift_images moves each plane and repeats the border pixels into the gap", "[trainer][tta]") {
  // Two planes of 2x3: values 10*plane + 3*row + column.
  Tensor<float> images(Shape{1, 2, 2, 3});
  for (std::size_t i = 0; i < images.numel(); ++i) images[i] = static_cast<float>(10 * (i / 6) + i % 6);
  Tensor<float> out;
  shift_images(images, 1, 0, out);  // right by one: the left column repeats
  CHECK(out.to_vector() == std::vector<float>{0, 0, 1, 3, 3, 4, 10, 10, 11, 13, 13, 14});
  shift_images(images, -2, 1, out);  // left by two and down by one
  CHECK(out.to_vector() == std::vector<float>{2, 2, 2, 2, 2, 2, 12, 12, 12, 12, 12, 12});
  shift_images(images, 0, 0, out);
  CHECK(out.to_vector() == images.to_vector());
}

TEST_CASE("Test-time augmentation averages the probabilities over the mirror and shifted views of each image",
          "[trainer][evaluate][tta]") {
  testing::TinyRun run;
  // Train a little so that the network is not symmetric by accident.
  testing::TempDir dir("mien-tta");
  run.fit(dir.path(), 2);

  // Each view as a data set of its own, built here pixel by pixel: moved by (dx, dy) with the border repeated,
  // then mirrored left to right.
  const int side = run.data.width;
  auto view = [&](int dx, int dy, bool mirror) {
    Dataset v = run.data;
    for (std::size_t i = 0; i < v.size(); ++i)
      for (int y = 0; y < side; ++y)
        for (int x = 0; x < side; ++x) {
          const int from_x = std::clamp((mirror ? side - 1 - x : x) - dx, 0, side - 1);
          const int from_y = std::clamp(y - dy, 0, side - 1);
          v.pixels[i * v.image_pixels() + y * side + x] =
              run.data.pixels[i * run.data.image_pixels() + from_y * side + from_x];
        }
    return v;
  };
  auto probabilities = [&](const Dataset& data, const TestTimeAugmentation& tta, EvaluationReport* report = nullptr) {
    BatchLoader loader(data, run.val_idx, run.loader_options(false));
    std::vector<std::vector<float>> p;
    const EvaluationReport r = evaluate(run.ctx, run.model, loader, run.data.class_names, &p, tta);
    if (report) *report = r;
    return p;
  };

  const TestTimeAugmentation mirror_only{true, 0}, shift_only{false, 2}, ten_views{true, 1};
  CHECK(mirror_only.views() == 2);
  CHECK(shift_only.views() == 5);
  CHECK(ten_views.views() == 10);
  for (const TestTimeAugmentation& tta : {mirror_only, shift_only, ten_views}) {
    INFO(tta.describe());
    // The expected mean, from one plain evaluation per view.
    const int s = tta.shift_pixels;
    std::vector<std::pair<int, int>> shifts{{0, 0}};
    if (s > 0) shifts.insert(shifts.end(), {{-s, 0}, {s, 0}, {0, -s}, {0, s}});
    std::vector<std::vector<std::vector<float>>> per_view;
    for (const auto& [dx, dy] : shifts)
      for (bool mirror : {false, true})
        if (!mirror || tta.mirror) per_view.push_back(probabilities(view(dx, dy, mirror), {}));
    REQUIRE(per_view.size() == static_cast<std::size_t>(tta.views()));

    EvaluationReport report;
    const auto averaged = probabilities(run.data, tta, &report);
    REQUIRE(averaged.size() == run.val_idx.size());
    double nll = 0, largest_difference = 0;
    std::size_t correct = 0;
    for (std::size_t i = 0; i < averaged.size(); ++i) {
      for (std::size_t c = 0; c < 3; ++c) {
        double mean = 0;
        for (const auto& p : per_view) mean += p[i][c];
        mean /= static_cast<double>(per_view.size());
        CHECK(averaged[i][c] == Approx(mean).margin(1e-6));
        largest_difference = std::max<double>(largest_difference, std::abs(per_view[0][i][c] - per_view[1][i][c]));
      }
      const auto label = static_cast<std::size_t>(run.data.labels[run.val_idx[i]]);
      nll -= std::log(averaged[i][label]);
      correct +=
          static_cast<std::size_t>(std::max_element(averaged[i].begin(), averaged[i].end()) - averaged[i].begin()) ==
          label;
    }
    CHECK(largest_difference > 1e-4);  // the views did give other answers
    CHECK(report.loss == Approx(nll / averaged.size()).epsilon(1e-4));
    CHECK(report.accuracy == Approx(double(correct) / averaged.size()));
  }
}

TEST_CASE("Test-time augmentation refuses a shift as large as the image", "[trainer][tta]") {
  testing::TinyRun run;
  Tensor<float> images = Tensor<float>::zeros(Shape{1, 1, 8, 8}), x;
  const Tensor<std::int32_t> labels = Tensor<std::int32_t>::zeros(Shape{1});
  CHECK_THROWS_WITH(probabilities_over_views(run.ctx, run.model, images, x, labels, run.loss, {false, 8}),
                    Catch::Contains("shift must be in [0, image side), got 8 pixels for 8x8 images"));
}

TEST_CASE("Training options are checked where they are parsed and when the trainer is made", "[trainer][options]") {
  CHECK(parse_lr_schedule("none") == LrSchedule::none);
  CHECK(parse_lr_schedule("plateau") == LrSchedule::plateau);
  CHECK(parse_lr_schedule("cosine") == LrSchedule::cosine);
  for (const LrSchedule s : {LrSchedule::none, LrSchedule::plateau, LrSchedule::cosine})
    CHECK(parse_lr_schedule(to_string(s)) == s);
  // A typo used to mean "no schedule" without a word.
  CHECK_THROWS_WITH(parse_lr_schedule("cosin"),
                    Catch::Contains("unknown learning-rate schedule 'cosin'; valid: none, plateau, cosine"));
  CHECK_THROWS_WITH(parse_optimizer_kind("adamw"), Catch::Contains("unknown optimizer 'adamw'; valid: adam, sgd"));

  testing::TinyRun run;
  auto trainer_with = [&](auto change) {
    TrainOptions o;
    o.run_dir = "unused";
    change(o);
    Trainer(run.ctx, run.model, *run.optimizer, run.loss, run.info, o);
  };
  CHECK_NOTHROW(trainer_with([](TrainOptions&) {}));
  CHECK_THROWS_WITH(trainer_with([](TrainOptions& o) { o.epochs = 0; }), Catch::Contains("epochs must be at least 1"));
  CHECK_THROWS_WITH(trainer_with([](TrainOptions& o) { o.plateau_factor = 0; }),
                    Catch::Contains("plateau_factor must be in (0, 1], got 0"));
  CHECK_THROWS_WITH(trainer_with([](TrainOptions& o) { o.plateau_patience = 0; }),
                    Catch::Contains("plateau_patience must be at least 1"));
  CHECK_THROWS_WITH(trainer_with([](TrainOptions& o) { o.run_dir.clear(); }), Catch::Contains("run_dir"));
}
