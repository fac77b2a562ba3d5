// The GPU op tests the op table (mien/testing/op_cases.hpp, run by test_cuda_op_table.cu) cannot express: max
// pooling's tie rule, dropout's keep ratio over a large tensor, the unweighted and unsmoothed cross-entropy paths
// and its rejection of bad labels.
#include <catch2/catch.hpp>

#include <cstdint>

#include "mien/ops/dropout.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/pooling.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

namespace {

Tensor<float> gpu(const Tensor<float>& t) { return t.to(Device::cuda); }
Tensor<double> dbl(const Tensor<float>& t) { return convert<double>(t); }

}  // namespace

TEST_CASE("GPU max pooling routes ties like the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  INFO("max pool with ties: the first maximum in row-major order takes the gradient");
  Tensor<float> x(Shape{1, 1, 4, 4});
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>((i * 7) % 3);
  const Tensor<float> dy = uniform_tensor(Shape{1, 1, 2, 2}, 22);
  Tensor<float> y, dx;
  Tensor<double> yr, dxr;
  ops::maxpool2d_forward(ctx, gpu(x), 2, y);
  ops::maxpool2d_forward(ctx, dbl(x), 2, yr);
  ops::maxpool2d_backward(ctx, gpu(x), y, gpu(dy), 2, dx);
  ops::maxpool2d_backward(ctx, dbl(x), yr, dbl(dy), 2, dxr);
  MIEN_REQUIRE_CLOSE(dx, dxr, 0.0);
}

TEST_CASE("GPU dropout keeps the expected share", "[cuda][ops][sanitize]") {
  Context ctx;
  const RandomStream stream{42, 3, 7};
  const Tensor<float> ones = Tensor<float>::filled(Shape{1 << 20}, 1.0f);
  Tensor<float> y;
  ops::dropout_forward(ctx, gpu(ones), 0.5f, stream, y);
  std::size_t kept = 0;
  for (float v : y.to_vector()) kept += v != 0.0f;
  CHECK(static_cast<double>(kept) / ones.numel() == Approx(0.5).margin(0.005));
}

TEST_CASE("GPU softmax cross-entropy matches the CPU and rejects bad labels", "[cuda][ops][sanitize]") {
  Context ctx;
  const int n = 32, k = 7;
  const Tensor<float> logits = uniform_tensor(Shape{n, k}, 80, -5, 5);
  Tensor<std::int32_t> labels(Shape{n});
  for (int i = 0; i < n; ++i) labels[i] = (i * 5) % k;
  const Tensor<float> weights = uniform_tensor(Shape{k}, 81, 0.5f, 2.0f);
  for (const bool weighted : {false, true})
    for (const float smoothing : {0.0f, 0.1f}) {
      INFO("weighted " << weighted << ", smoothing " << smoothing);
      const Tensor<float> w = weighted ? weights : Tensor<float>(Shape{0});
      Tensor<float> probs, dlogits;
      Tensor<double> probs_r, dlogits_r;
      const float loss =
          ops::softmax_cross_entropy_forward(ctx, gpu(logits), labels.to(Device::cuda), gpu(w), smoothing, probs);
      const double loss_r = ops::softmax_cross_entropy_forward(ctx, dbl(logits), labels, dbl(w),
                                                               static_cast<double>(smoothing), probs_r);
      // The GPU forms x - max in float, the reference in double: up to half an ulp of 10 (5e-7) in each exponent.
      CHECK(loss == Approx(loss_r).epsilon(1e-5));
      MIEN_REQUIRE_CLOSE(probs, probs_r, 1e-5);
      ops::softmax_cross_entropy_backward(ctx, probs, labels.to(Device::cuda), gpu(w), smoothing, dlogits);
      ops::softmax_cross_entropy_backward(ctx, probs_r, labels, dbl(w), static_cast<double>(smoothing), dlogits_r);
      MIEN_REQUIRE_CLOSE(dlogits, dlogits_r, 1e-5);
    }
  Tensor<std::int32_t> bad = labels;
  bad[9] = 7;
  bad[20] = -1;
  Tensor<float> probs;
  const Tensor<float> none(Shape{0});
  try {
    ops::softmax_cross_entropy_forward(ctx, gpu(logits), bad.to(Device::cuda), gpu(none), 0.0f, probs);
    FAIL("a label outside [0, 7) was accepted");
  } catch (const InvalidArgument& e) {
    CHECK_THAT(e.what(), Catch::Contains("label 7 of sample 9 is outside [0, 7)"));
  }
  CHECK_THROWS_AS(
      ops::softmax_cross_entropy_backward(ctx, gpu(logits), bad.to(Device::cuda), gpu(none), 0.0f, probs),
      InvalidArgument);
}
