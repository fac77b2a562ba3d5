// Every GPU op other than convolution against the CPU backend: paper-sized tensors (the vectorized paths) and
// odd sizes (the scalar paths), forward and backward. References run in double on the CPU, except dropout and
// Adam, whose float results are compared with the CPU's float results (dropout bitwise: same mask, same scale).
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "mien/ops/activation.hpp"
#include "mien/ops/adam.hpp"
#include "mien/ops/batchnorm.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/dense.hpp"
#include "mien/ops/dropout.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/pooling.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

namespace {

Tensor<float> gpu(const Tensor<float>& t) { return t.to(Device::cuda); }
Tensor<double> dbl(const Tensor<float>& t) { return convert<double>(t); }

}  // namespace

TEST_CASE("GPU activations match the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const Shape& s : {Shape{32, 64, 64, 64}, Shape{3, 5, 7}}) {
    INFO("shape " << s);
    const Tensor<float> x = uniform_tensor(s, 10, -3, 3), dy = uniform_tensor(s, 11);
    Tensor<float> y, dx;
    Tensor<double> yr, dxr;
    ops::relu_forward(ctx, gpu(x), y);
    ops::relu_forward(ctx, dbl(x), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 0.0);
    ops::relu_backward(ctx, y, gpu(dy), dx);
    ops::relu_backward(ctx, yr, dbl(dy), dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 0.0);
    ops::tanh_forward(ctx, gpu(x), y);
    ops::tanh_forward(ctx, dbl(x), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 1e-6);
    ops::tanh_backward(ctx, y, gpu(dy), dx);
    ops::tanh_backward(ctx, convert<double>(y), dbl(dy), dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 1e-6);
  }
  for (const Shape& s : {Shape{32, 7}, Shape{5, 1000}, Shape{1, 1}}) {
    INFO("softmax " << s);
    const Tensor<float> x = uniform_tensor(s, 12, -20, 20), dy = uniform_tensor(s, 13);
    Tensor<float> y, dx;
    Tensor<double> yr, dxr;
    ops::softmax_forward(ctx, gpu(x), y);
    ops::softmax_forward(ctx, dbl(x), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 1e-5);
    ops::softmax_backward(ctx, y, gpu(dy), dx);
    ops::softmax_backward(ctx, convert<double>(y), dbl(dy), dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 1e-5);
  }
}

TEST_CASE("GPU pooling matches the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  struct Case {
    Shape shape;
    int window;
  };
  for (const Case& c : {Case{Shape{32, 32, 128, 128}, 2}, Case{Shape{2, 3, 7, 9}, 2}, Case{Shape{2, 3, 7, 9}, 3}}) {
    INFO("max pool " << c.shape << " window " << c.window);
    const Tensor<float> x = uniform_tensor(c.shape, 20);
    Tensor<float> y, dx;
    Tensor<double> yr, dxr;
    ops::maxpool2d_forward(ctx, gpu(x), c.window, y);
    ops::maxpool2d_forward(ctx, dbl(x), c.window, yr);
    MIEN_REQUIRE_CLOSE(y, yr, 0.0);
    const Tensor<float> dy = uniform_tensor(y.shape(), 21);
    ops::maxpool2d_backward(ctx, gpu(x), y, gpu(dy), c.window, dx);
    ops::maxpool2d_backward(ctx, dbl(x), yr, dbl(dy), c.window, dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 0.0);
  }
  {
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
  for (const Shape& s : {Shape{32, 128, 32, 32}, Shape{3, 5, 7, 7}}) {
    INFO("global average pool " << s);
    const Tensor<float> x = uniform_tensor(s, 23), dy = uniform_tensor(Shape{s.n(), s.c()}, 24);
    Tensor<float> y, dx;
    Tensor<double> yr, dxr;
    ops::global_avgpool_forward(ctx, gpu(x), y);
    ops::global_avgpool_forward(ctx, dbl(x), yr);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_tolerance);
    ops::global_avgpool_backward(ctx, gpu(dy), s, dx);
    ops::global_avgpool_backward(ctx, dbl(dy), s, dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 1e-6);
  }
}

TEST_CASE("GPU channel concatenation matches the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const auto& [sa, sb] : {std::pair{Shape{32, 32, 64, 64}, Shape{32, 32, 64, 64}},
                               std::pair{Shape{2, 3, 5, 5}, Shape{2, 2, 5, 5}}}) {
    INFO(sa << " + " << sb);
    const Tensor<float> a = uniform_tensor(sa, 30), b = uniform_tensor(sb, 31);
    Tensor<float> y, da, db;
    Tensor<double> yr, dar, dbr;
    ops::concat_channels_forward(ctx, gpu(a), gpu(b), y);
    ops::concat_channels_forward(ctx, dbl(a), dbl(b), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 0.0);
    const Tensor<float> dy = uniform_tensor(y.shape(), 32);
    ops::concat_channels_backward(ctx, gpu(dy), sa.c(), da, db);
    ops::concat_channels_backward(ctx, dbl(dy), sa.c(), dar, dbr);
    MIEN_REQUIRE_CLOSE(da, dar, 0.0);
    MIEN_REQUIRE_CLOSE(db, dbr, 0.0);
  }
}

TEST_CASE("GPU batch normalization matches the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  // Maps with a large mean against their spread (the variance must not cancel), dense features, odd sizes.
  for (const Shape& s : {Shape{32, 32, 128, 128}, Shape{32, 256}, Shape{3, 5, 7, 7}}) {
    INFO("shape " << s);
    const std::int64_t c = s.c();
    const Tensor<float> x = uniform_tensor(s, 40, 4.0f, 6.0f), dy = uniform_tensor(s, 41);
    const Tensor<float> gamma = uniform_tensor(Shape{c}, 42, 0.5f, 1.5f), beta = uniform_tensor(Shape{c}, 43);
    Tensor<float> rm = uniform_tensor(Shape{c}, 44), rv = uniform_tensor(Shape{c}, 45, 0.5f, 2.0f);
    Tensor<float> rm_g = gpu(rm), rv_g = gpu(rv), y, mean, invstd, dx, dgamma, dbeta;
    Tensor<double> rm_r = dbl(rm), rv_r = dbl(rv), yr, mean_r, invstd_r, dxr, dgamma_r, dbeta_r;
    ops::batchnorm_forward_train(ctx, gpu(x), gpu(gamma), gpu(beta), rm_g, rv_g, 0.99f, 1e-3f, y, mean, invstd);
    ops::batchnorm_forward_train(ctx, dbl(x), dbl(gamma), dbl(beta), rm_r, rv_r, 0.99, 1e-3, yr, mean_r, invstd_r);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_tolerance);
    MIEN_REQUIRE_CLOSE(mean, mean_r, 1e-6);
    MIEN_REQUIRE_CLOSE(invstd, invstd_r, 1e-5);
    MIEN_REQUIRE_CLOSE(rm_g, rm_r, 1e-6);
    MIEN_REQUIRE_CLOSE(rv_g, rv_r, 1e-5);

    ops::batchnorm_backward(ctx, gpu(x), gpu(dy), gpu(gamma), mean, invstd, dx, dgamma, dbeta);
    ops::batchnorm_backward(ctx, dbl(x), dbl(dy), dbl(gamma), mean_r, invstd_r, dxr, dgamma_r, dbeta_r);
    MIEN_REQUIRE_CLOSE(dx, dxr, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(dgamma, dgamma_r, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(dbeta, dbeta_r, fp32_reduction_tolerance);

    ops::batchnorm_forward_infer(ctx, gpu(x), gpu(gamma), gpu(beta), rm_g, rv_g, 1e-3f, y);
    ops::batchnorm_forward_infer(ctx, dbl(x), dbl(gamma), dbl(beta), rm_r, rv_r, 1e-3, yr);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_tolerance);
  }
}

TEST_CASE("GPU batch normalization with a fused ReLU matches the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const Shape& s : {Shape{32, 64, 64, 64}, Shape{32, 128}, Shape{3, 5, 7, 7}}) {
    INFO("shape " << s);
    const std::int64_t c = s.c();
    const Tensor<float> x = uniform_tensor(s, 60), dy = uniform_tensor(s, 61);
    const Tensor<float> gamma = uniform_tensor(Shape{c}, 62, 0.5f, 1.5f), beta = uniform_tensor(Shape{c}, 63);
    Tensor<float> rm = uniform_tensor(Shape{c}, 64), rv = uniform_tensor(Shape{c}, 65, 0.5f, 2.0f);
    Tensor<float> rm_g = gpu(rm), rv_g = gpu(rv), y, mean, invstd, dx, dgamma, dbeta;
    Tensor<double> rm_r = dbl(rm), rv_r = dbl(rv), yr, mean_r, invstd_r, dxr, dgamma_r, dbeta_r;
    ops::batchnorm_forward_train(ctx, gpu(x), gpu(gamma), gpu(beta), rm_g, rv_g, 0.99f, 1e-3f, y, mean, invstd, true);
    ops::batchnorm_forward_train(ctx, dbl(x), dbl(gamma), dbl(beta), rm_r, rv_r, 0.99, 1e-3, yr, mean_r, invstd_r,
                                 true);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_tolerance);

    // The reference masks with the GPU's own output, so that a value rounding to either side of 0 in float and
    // double does not count as a difference of the whole gradient.
    const Tensor<double> y_mask = dbl(y);
    ops::batchnorm_backward(ctx, gpu(x), gpu(dy), gpu(gamma), mean, invstd, dx, dgamma, dbeta, &y);
    ops::batchnorm_backward(ctx, dbl(x), dbl(dy), dbl(gamma), mean_r, invstd_r, dxr, dgamma_r, dbeta_r, &y_mask);
    MIEN_REQUIRE_CLOSE(dx, dxr, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(dgamma, dgamma_r, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(dbeta, dbeta_r, fp32_reduction_tolerance);

    ops::batchnorm_forward_infer(ctx, gpu(x), gpu(gamma), gpu(beta), rm_g, rv_g, 1e-3f, y, true);
    ops::batchnorm_forward_infer(ctx, dbl(x), dbl(gamma), dbl(beta), rm_r, rv_r, 1e-3, yr, true);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_tolerance);
  }
}

TEST_CASE("GPU dropout draws the CPU's mask", "[cuda][ops][sanitize]") {
  Context ctx;
  const RandomStream stream{42, 3, 7};
  for (const Shape& s : {Shape{32, 256}, Shape{3, 5, 7}}) {
    INFO("shape " << s);
    const Tensor<float> x = uniform_tensor(s, 50);
    Tensor<float> y, yr, dx, dxr;
    ops::dropout_forward(ctx, gpu(x), 0.3f, stream, y);
    ops::dropout_forward(ctx, x, 0.3f, stream, yr);
    MIEN_REQUIRE_CLOSE(y, yr, 0.0);  // bitwise
    ops::dropout_backward(ctx, gpu(x), 0.3f, stream, dx);
    ops::dropout_backward(ctx, x, 0.3f, stream, dxr);
    MIEN_REQUIRE_CLOSE(dx, dxr, 0.0);
  }
  const Tensor<float> ones = Tensor<float>::filled(Shape{1 << 20}, 1.0f);
  Tensor<float> y;
  ops::dropout_forward(ctx, gpu(ones), 0.5f, stream, y);
  std::size_t kept = 0;
  for (float v : y.to_vector()) kept += v != 0.0f;
  CHECK(static_cast<double>(kept) / ones.numel() == Approx(0.5).margin(0.005));
}

TEST_CASE("GPU gating matches the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const Shape& s : {Shape{32, 128, 32, 32}, Shape{3, 5, 7, 7}}) {
    INFO("shape " << s);
    const Shape gate_shape{s.n(), s.c()};
    const Tensor<float> x = uniform_tensor(s, 60), skip = uniform_tensor(s, 61), dy = uniform_tensor(s, 62);
    const Tensor<float> gate = uniform_tensor(gate_shape, 63, 0, 1);
    Tensor<float> y, dx, dgate;
    Tensor<double> yr, dxr, dgate_r;
    ops::channel_scale_forward(ctx, gpu(x), gpu(gate), y);
    ops::channel_scale_forward(ctx, dbl(x), dbl(gate), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 1e-6);
    ops::channel_scale_backward(ctx, gpu(x), gpu(gate), gpu(dy), dx, dgate);
    ops::channel_scale_backward(ctx, dbl(x), dbl(gate), dbl(dy), dxr, dgate_r);
    MIEN_REQUIRE_CLOSE(dx, dxr, 1e-6);
    MIEN_REQUIRE_CLOSE(dgate, dgate_r, fp32_tolerance);
    ops::gated_add_forward(ctx, gpu(x), gpu(skip), gpu(gate), y);
    ops::gated_add_forward(ctx, dbl(x), dbl(skip), dbl(gate), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 1e-6);
    ops::gated_add_backward(ctx, gpu(skip), gpu(gate), gpu(dy), dx, dgate);
    ops::gated_add_backward(ctx, dbl(skip), dbl(gate), dbl(dy), dxr, dgate_r);
    MIEN_REQUIRE_CLOSE(dx, dxr, 1e-6);
    MIEN_REQUIRE_CLOSE(dgate, dgate_r, fp32_tolerance);
  }
}

TEST_CASE("GPU dense layers (cuBLAS) match the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  struct Case {
    int n, f, o;
  };
  // The paper head (8192 -> 256 -> 128 -> 7 at batch 32) and an odd size.
  for (const Case& c : {Case{32, 8192, 256}, Case{32, 256, 128}, Case{32, 128, 7}, Case{3, 5, 7}}) {
    INFO(c.n << " x " << c.f << " -> " << c.o);
    const Tensor<float> x = uniform_tensor(Shape{c.n, c.f}, 70), w = uniform_tensor(Shape{c.o, c.f}, 71, -0.1f, 0.1f);
    const Tensor<float> b = uniform_tensor(Shape{c.o}, 72), dy = uniform_tensor(Shape{c.n, c.o}, 73);
    Tensor<float> y, dx, dw, db;
    Tensor<double> yr, dxr, dwr, dbr;
    // Dot products of up to 8192 terms, in whatever order cuBLAS picks: the reduction tolerance.
    ops::dense_forward(ctx, gpu(x), gpu(w), gpu(b), y);
    ops::dense_forward(ctx, dbl(x), dbl(w), dbl(b), yr);
    MIEN_REQUIRE_CLOSE(y, yr, fp32_reduction_tolerance);
    ops::dense_backward(ctx, gpu(x), gpu(w), gpu(dy), dx, dw, db);
    ops::dense_backward(ctx, dbl(x), dbl(w), dbl(dy), dxr, dwr, dbr);
    MIEN_REQUIRE_CLOSE(dx, dxr, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(dw, dwr, fp32_reduction_tolerance);
    MIEN_REQUIRE_CLOSE(db, dbr, fp32_reduction_tolerance);
  }
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

TEST_CASE("GPU Adam updates match the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const std::int64_t count : {std::int64_t{100003}, std::int64_t{4096}}) {
    Tensor<float> p = uniform_tensor(Shape{count}, 90), m = Tensor<float>::zeros(Shape{count});
    Tensor<float> v = Tensor<float>::zeros(Shape{count});
    Tensor<float> pg = gpu(p), mg = gpu(m), vg = gpu(v);
    for (int step = 0; step < 3; ++step) {
      const Tensor<float> g = uniform_tensor(Shape{count}, 91 + step);
      // Step 2 with decoupled weight decay (AdamW's shrink).
      const ops::AdamStep<float> s{1e-3f * (step + 1), 0.9f, 0.999f, 1e-7f, step == 1 ? 0.999f : 1.0f};
      ops::adam_update(ctx, pg, gpu(g), mg, vg, s);
      ops::adam_update(ctx, p, g, m, v, s);
    }
    MIEN_REQUIRE_CLOSE(pg, p, 1e-6);
    MIEN_REQUIRE_CLOSE(mg, m, 1e-6);
    MIEN_REQUIRE_CLOSE(vg, v, 1e-6);
  }
}

TEST_CASE("GPU element-wise utilities match the CPU", "[cuda][ops][sanitize]") {
  Context ctx;
  for (const Shape& s : {Shape{32, 64, 64, 64}, Shape{3, 5, 7}}) {
    INFO("shape " << s);
    const Tensor<float> a = uniform_tensor(s, 100), b = uniform_tensor(s, 101);
    Tensor<float> y;
    Tensor<double> yr;
    ops::add(ctx, gpu(a), gpu(b), y);
    ops::add(ctx, dbl(a), dbl(b), yr);
    MIEN_REQUIRE_CLOSE(y, yr, 1e-6);
    ops::fill(ctx, y, 2.5f);
    for (float v : y.to_vector()) REQUIRE(v == 2.5f);
  }
  Tensor<float> x = uniform_tensor(Shape{1000003}, 102);
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[77777] = std::numeric_limits<float>::infinity();
  x[1000002] = -std::numeric_limits<float>::infinity();
  CHECK(ops::count_nonfinite(ctx, gpu(x)) == 3);
  CHECK(ops::count_nonfinite(ctx, x) == 3);
}
