// Softmax cross-entropy: a known row, label smoothing, class weights, stability on huge logits, gradients,
// and bad labels or shapes.
#include <catch2/catch.hpp>
#include <cmath>

#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {
Tensor<std::int32_t> labels_of(std::initializer_list<std::int32_t> values) {
  return Tensor<std::int32_t>(Shape{static_cast<std::int64_t>(values.size())}, values);
}
}  // namespace

TEST_CASE("Softmax cross-entropy of a known row", "[loss]") {
  Context ctx;
  // logits (1, 2, 3), label 2: log sum exp = 3 + log(1 + e^-1 + e^-2) = 3.4076059644, so the loss is
  // 3.4076059644 - 3 = 0.4076059644 and p = (e^1, e^2, e^3) / sum = (0.0900306, 0.2447285, 0.6652410).
  const Tensor<double> logits(Shape{1, 3}, {1, 2, 3});
  const Tensor<std::int32_t> labels = labels_of({2});
  SoftmaxCrossEntropy<double> plain;
  CHECK(plain.forward(ctx, logits, labels) == Approx(0.40760596444438).epsilon(1e-12));
  CHECK(plain.probs()[0] == Approx(0.09003057317038).epsilon(1e-12));
  CHECK(plain.probs()[1] == Approx(0.24472847105480).epsilon(1e-12));
  CHECK(plain.probs()[2] == Approx(0.66524095577482).epsilon(1e-12));
  // dL/dlogits = p - onehot for one sample.
  const Tensor<double>& d = plain.backward(ctx);
  CHECK(d[0] == Approx(0.09003057317038).epsilon(1e-12));
  CHECK(d[2] == Approx(0.66524095577482 - 1).epsilon(1e-12));

  // Smoothing 0.1 over 3 classes: q = (1/30, 1/30, 0.9 + 1/30). Since -sum_k log p_k / 3 = lse - mean(logits),
  // the loss is 0.9 * 0.4076 + 0.1 * (3.4076 - 2) = 0.4076 + 0.1 = 0.5076059644.
  SoftmaxCrossEntropy<double> smoothed({}, 0.1);
  CHECK(smoothed.forward(ctx, logits, labels) == Approx(0.50760596444438).epsilon(1e-12));
  CHECK(smoothed.backward(ctx)[0] == Approx(0.09003057317038 - 0.1 / 3).epsilon(1e-12));
}

TEST_CASE("Class weights scale each sample's loss by its label's weight, averaged over the batch", "[loss]") {
  Context ctx;
  const Tensor<float> logits(Shape{2, 3}, {1, 2, 3, 0, 0, 0});
  const Tensor<std::int32_t> labels = labels_of({2, 0});
  SoftmaxCrossEntropy<float> weighted(Tensor<float>(Shape{3}, {4.0f, 1.0f, 0.5f}));
  // Sample 0: 0.5 * 0.4076060; sample 1 (uniform logits): 4 * log 3. Keras divides by N, not by the weights.
  const double expected = (0.5 * 0.40760596444438 + 4 * std::log(3.0)) / 2;
  CHECK(weighted.forward(ctx, logits, labels) == Approx(expected).epsilon(1e-6));
  const Tensor<float>& d = weighted.backward(ctx);
  CHECK(d.at(1, 0) == Approx(4 * (1.0 / 3 - 1) / 2).epsilon(1e-6));
  CHECK(d.at(1, 2) == Approx(4 * (1.0 / 3) / 2).epsilon(1e-6));
  CHECK(d.at(0, 1) == Approx(0.5 * 0.24472847 / 2).epsilon(1e-6));
}

TEST_CASE("Softmax cross-entropy stays finite on huge logits", "[loss]") {
  Context ctx;
  const Tensor<float> logits(Shape{2, 3}, {1000, 0, -1000, -500, 500, 0});
  SoftmaxCrossEntropy<float> loss;
  // Sample 0 is confidently right (loss ~0); sample 1 is 1000 off on its label (loss ~1000).
  const float value = loss.forward(ctx, logits, labels_of({0, 0}));
  CHECK(std::isfinite(value));
  CHECK(value == Approx(500).epsilon(1e-6));
  for (std::size_t i = 0; i < 6; ++i) CHECK(std::isfinite(loss.probs()[i]));
  CHECK(loss.probs()[0] == Approx(1));
  CHECK(loss.probs()[4] == Approx(1));
}

TEST_CASE("Softmax cross-entropy gradients match finite differences", "[loss][gradcheck]") {
  Context ctx;
  const bool weighted = GENERATE(false, true);
  const double smoothing = GENERATE(0.0, 0.2);
  SoftmaxCrossEntropy<double> loss(weighted ? Tensor<double>(Shape{5}, {1.0, 2.5, 0.3, 1.7, 0.9}) : Tensor<double>(),
                                   smoothing);
  Tensor<double> logits = testing::random_tensor(Shape{6, 5}, 31, 3.0);
  const Tensor<std::int32_t> labels = labels_of({0, 4, 2, 2, 1, 3});
  loss.forward(ctx, logits, labels);
  const Tensor<double> analytic = loss.backward(ctx);
  const auto result =
      testing::check_gradients([&] { return loss.forward(ctx, logits, labels); }, {{"logits", &logits, &analytic}});
  INFO("weighted " << weighted << ", smoothing " << smoothing << "\n" << result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Softmax cross-entropy rejects bad labels, shapes and smoothing", "[loss][errors]") {
  Context ctx;
  const Tensor<float> logits(Shape{3, 4});
  SoftmaxCrossEntropy<float> loss;
  CHECK_THROWS_WITH(loss.forward(ctx, logits, labels_of({0, 4, 1})), Catch::Contains("sample 1"));
  CHECK_THROWS_AS(loss.forward(ctx, logits, labels_of({0, 1, -1})), InvalidArgument);
  CHECK_THROWS_AS(loss.forward(ctx, logits, labels_of({0, 1})), InvalidArgument);
  CHECK_THROWS_AS(loss.forward(ctx, Tensor<float>(Shape{3, 4, 1}), labels_of({0, 1, 2})), InvalidArgument);
  CHECK_THROWS_AS(loss.backward(ctx), InvalidArgument);  // no successful forward yet
  SoftmaxCrossEntropy<float> wrong_weights(Tensor<float>(Shape{3}, {1, 1, 1}));
  CHECK_THROWS_AS(wrong_weights.forward(ctx, logits, labels_of({0, 1, 2})), InvalidArgument);
  CHECK_THROWS_AS(SoftmaxCrossEntropy<float>({}, 1.0f), InvalidArgument);
  CHECK_THROWS_AS(SoftmaxCrossEntropy<float>({}, -0.1f), InvalidArgument);
  Tensor<float> probs;
  CHECK_THROWS_AS(
      ops::softmax_cross_entropy_forward(ctx, logits, labels_of({0, 1, 2}), Tensor<float>(Shape{0}), 1.5f, probs),
      InvalidArgument);
}
