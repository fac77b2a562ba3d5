// evaluate() and test-time augmentation take any network that maps images to logits, not only the paper's: a
// small Sequential CNN is evaluated, and its reported probabilities are its own softmax outputs.
#include <catch2/catch.hpp>

#include <cmath>
#include <numeric>
#include <vector>

#include "mien/mien.hpp"
#include "mien/train/trainer.hpp"
#include "../support/synthetic_dataset.hpp"

using namespace mien;

TEST_CASE("evaluate and test-time augmentation run a network of the user's own", "[trainer][tta]") {
  Context ctx(3);
  Sequential<float> net;
  net.emplace<Conv2D<float>>("conv", ctx, 1, 4, 3);
  net.emplace<ReLU<float>>("relu");
  net.emplace<MaxPool2D<float>>("pool", 2);
  net.emplace<Flatten<float>>("flatten");
  net.emplace<Dense<float>>("dense", ctx, 4 * 4 * 4, 7);

  const Dataset data = testing::synthetic_dataset({2, 2, 2, 2, 2, 2, 2}, 8);
  std::vector<std::size_t> all(data.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  LoaderOptions opts;
  opts.batch_size = 5;
  opts.shuffle = false;
  BatchLoader loader(data, all, opts);
  std::vector<std::vector<float>> probs;
  const EvaluationReport report = evaluate(ctx, net, loader, data.class_names, &probs);
  CHECK(report.samples == 14);
  CHECK(report.accuracy >= 0);
  CHECK(report.accuracy <= 1);
  REQUIRE(probs.size() == 14);

  // The first image by hand: forward, softmax.
  Tensor<float> x(Shape{1, 1, 8, 8});
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = data.pixels[i] / 255.0f;
  const Tensor<float>& logits = net.forward(ctx, x, Mode::infer);
  double z = 0;
  for (int c = 0; c < 7; ++c) z += std::exp(static_cast<double>(logits[c]));
  for (int c = 0; c < 7; ++c) CHECK(probs[0][c] == Approx(std::exp(static_cast<double>(logits[c])) / z).margin(1e-6));

  // Ten views: still one probability row per image, each summing to 1.
  std::vector<std::vector<float>> tta_probs;
  const EvaluationReport with_views =
      evaluate(ctx, net, loader, data.class_names, &tta_probs, TestTimeAugmentation{true, 1});
  CHECK(with_views.samples == 14);
  REQUIRE(tta_probs.size() == 14);
  for (const auto& row : tta_probs) CHECK(std::accumulate(row.begin(), row.end(), 0.0) == Approx(1.0).margin(1e-5));
}
