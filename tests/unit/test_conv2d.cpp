// Convolution: the CPU op against hand-worked values and a direct-loop reference (im2col and Winograd paths),
// Conv2D's gradients, its initialization and argument checks, float/double agreement, and Winograd against im2col
// in float.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "mien/layers/conv2d.hpp"
#include "mien/ops/conv2d.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;
using mien::testing::check_layer;
using mien::testing::random_tensor;

namespace {

// The definition, written as plainly as possible: y[n,k,h,w] = b[k] + Σ w[k,c,i,j] x[n,c,h+i-p,w+j-p].
Tensor<double> reference_conv(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& b) {
  const Shape& s = x.shape();
  const std::int64_t K = w.shape()[0], k = w.shape()[2], p = k / 2;
  Tensor<double> y(Shape{s.n(), K, s.h(), s.w()});
  for (std::int64_t n = 0; n < s.n(); ++n)
    for (std::int64_t o = 0; o < K; ++o)
      for (std::int64_t h = 0; h < s.h(); ++h)
        for (std::int64_t v = 0; v < s.w(); ++v) {
          double sum = b[o];
          for (std::int64_t c = 0; c < s.c(); ++c)
            for (std::int64_t i = 0; i < k; ++i)
              for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t hh = h + i - p, ww = v + j - p;
                if (hh >= 0 && hh < s.h() && ww >= 0 && ww < s.w()) sum += w.at(o, c, i, j) * x.at(n, c, hh, ww);
              }
          y.at(n, o, h, v) = sum;
        }
  return y;
}

// dx and dw, db of the same definition, by scattering each dy element back along the terms it summed.
void reference_conv_backward(const Tensor<double>& x, const Tensor<double>& w, const Tensor<double>& dy,
                             Tensor<double>& dx, Tensor<double>& dw, Tensor<double>& db) {
  const Shape& s = x.shape();
  const std::int64_t K = w.shape()[0], k = w.shape()[2], p = k / 2;
  dx = Tensor<double>::zeros(s);
  dw = Tensor<double>::zeros(w.shape());
  db = Tensor<double>::zeros(Shape{K});
  for (std::int64_t n = 0; n < s.n(); ++n)
    for (std::int64_t o = 0; o < K; ++o)
      for (std::int64_t h = 0; h < s.h(); ++h)
        for (std::int64_t v = 0; v < s.w(); ++v) {
          const double g = dy.at(n, o, h, v);
          db[o] += g;
          for (std::int64_t c = 0; c < s.c(); ++c)
            for (std::int64_t i = 0; i < k; ++i)
              for (std::int64_t j = 0; j < k; ++j) {
                const std::int64_t hh = h + i - p, ww = v + j - p;
                if (hh < 0 || hh >= s.h() || ww < 0 || ww >= s.w()) continue;
                dx.at(n, c, hh, ww) += g * w.at(o, c, i, j);
                dw.at(o, c, i, j) += g * x.at(n, c, hh, ww);
              }
        }
}

double max_abs_diff(const Tensor<double>& a, const Tensor<double>& b) {
  REQUIRE(a.shape() == b.shape());
  double m = 0;
  for (std::size_t i = 0; i < a.numel(); ++i) m = std::max(m, std::abs(a[i] - b[i]));
  return m;
}

}  // namespace

TEST_CASE("conv2d_forward: a 3x3 kernel on a two-channel 3x4 input, worked by hand", "[conv2d][op]") {
  Context ctx;
  // Channel 0 counts 1..12 row by row; channel 1 is all ones.
  Tensor<double> x(Shape{1, 2, 3, 4}, {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,  //
                                       1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1});
  // Channel 0's kernel is asymmetric, so a flipped (true convolution) kernel would give other numbers:
  // w[0,0] = 1 reads the up-left neighbour, w[1,1] = 2 the pixel, w[2,1] = -1 the pixel below, so
  //   y0[h,w] = x[h-1,w-1] + 2 x[h,w] - x[h+1,w] + bias, with bias 1 and zeros outside the image:
  //   row 0: 2·1-5+1 = -2,  2·2-6+1 = -1,  2·3-7+1 = 0,   2·4-8+1 = 1
  //   row 1: 0+10-9+1 = 2,  1+12-10+1 = 4, 2+14-11+1 = 6, 3+16-12+1 = 8
  //   row 2: 0+18+1 = 19,   5+20+1 = 26,   6+22+1 = 29,   7+24+1 = 32
  // Channel 1's all-ones kernel over all-ones counts the in-image neighbours:
  //   row 0: 4 6 6 4   row 1: 6 9 9 6   row 2: 4 6 6 4
  Tensor<double> w(Shape{1, 2, 3, 3}, {1, 0, 0, 0, 2, 0, 0, -1, 0,  //
                                       1, 1, 1, 1, 1, 1, 1, 1, 1});
  Tensor<double> b(Shape{1}, {1});
  Tensor<double> y;
  ops::conv2d_forward(ctx, x, w, b, y);
  REQUIRE(y.shape() == Shape({1, 1, 3, 4}));
  const std::vector<double> expected{2, 5, 6, 5, 8, 13, 15, 14, 23, 32, 35, 36};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(y[i] == Approx(expected[i]));
}

TEST_CASE("conv2d_forward: a 5x5 kernel larger than a 2x3 input, worked by hand", "[conv2d][op]") {
  Context ctx;
  Tensor<double> x(Shape{1, 1, 2, 3}, {1, 2, 3, 4, 5, 6});
  // Taps (row, col) of the 5x5 kernel and the offsets (dh, dw) = (row - 2, col - 2) they read:
  //   (2,2) =   1: the pixel itself
  //   (0,4) =  10: offset (-2, +2), outside the image for every output (exercises the padding)
  //   (3,0) = 100: offset (+1, -2), inside only for y[0,2], which reads x[1,0] = 4
  //   (1,3) =  -1: offset (-1, +1), inside for y[1,0] (reads x[0,1] = 2) and y[1,1] (reads x[0,2] = 3)
  // y = [[1, 2, 3 + 400], [4 - 2, 5 - 3, 6]] = [[1, 2, 403], [2, 2, 6]]
  Tensor<double> w = Tensor<double>::zeros(Shape{1, 1, 5, 5});
  w.at(0, 0, 2, 2) = 1;
  w.at(0, 0, 0, 4) = 10;
  w.at(0, 0, 3, 0) = 100;
  w.at(0, 0, 1, 3) = -1;
  Tensor<double> b = Tensor<double>::zeros(Shape{1});
  Tensor<double> y;
  ops::conv2d_forward(ctx, x, w, b, y);
  const std::vector<double> expected{1, 2, 403, 2, 2, 6};
  for (std::size_t i = 0; i < expected.size(); ++i) CHECK(y[i] == Approx(expected[i]));
}

TEST_CASE("conv2d forward and both backwards match the direct definition", "[conv2d][op]") {
  Context ctx;
  // Shapes that take every path: large maps cut into bands of rows (28x28 in two, 40x33 in three uneven ones),
  // small maps grouped several images per GEMM with a short last group (7x6), a 1x1 kernel, a kernel wider
  // than the map, batches split over threads, both Winograd 3x3 paths (F(4x4, 3x3) on maps under 32x32 with 32+
  // channels, in bands of tile rows where a map has more than 48 tiles, as 3x340 has; F(2x2, 3x3) on maps of
  // 32x32 or more) and the Winograd 5x5 passes (8+ channels, 16x16 or more; bands from 128 tiles below 32x32, 256
  // above) on odd extents, with tiles hanging over the right and bottom edges.
  struct Case {
    std::int64_t n, c, h, w, k_out;
    int k;
  };
  const std::vector<Case> cases{{3, 2, 28, 28, 3, 3}, {2, 2, 40, 33, 3, 5}, {5, 3, 7, 6, 4, 5}, {9, 2, 7, 6, 3, 3},
                                {2, 3, 5, 4, 2, 1},   {2, 2, 3, 2, 3, 7},   {40, 4, 6, 6, 8, 3},
                                {3, 64, 5, 7, 65, 3}, {2, 64, 33, 32, 64, 3}, {2, 8, 33, 35, 9, 3},
                                {3, 8, 17, 18, 9, 5}, {2, 9, 20, 31, 8, 5}, {2, 8, 33, 35, 9, 5},
                                {2, 32, 3, 340, 32, 3}};
  for (const Case& cs : cases) {
    CAPTURE(cs.n, cs.c, cs.h, cs.w, cs.k_out, cs.k);
    const Tensor<double> x = random_tensor(Shape{cs.n, cs.c, cs.h, cs.w}, 11);
    const Tensor<double> w = random_tensor(Shape{cs.k_out, cs.c, cs.k, cs.k}, 12);
    const Tensor<double> b = random_tensor(Shape{cs.k_out}, 13);
    const Tensor<double> dy = random_tensor(Shape{cs.n, cs.k_out, cs.h, cs.w}, 14);

    Tensor<double> y, dx, db;
    Tensor<double> dw(w.shape());
    ops::conv2d_forward(ctx, x, w, b, y);
    ops::conv2d_backward_data(ctx, dy, w, x.shape(), dx);
    ops::conv2d_backward_filter(ctx, x, dy, dw, db);

    Tensor<double> ref_dx, ref_dw, ref_db;
    reference_conv_backward(x, w, dy, ref_dx, ref_dw, ref_db);
    CHECK(max_abs_diff(y, reference_conv(x, w, b)) < 1e-12);
    CHECK(max_abs_diff(dx, ref_dx) < 1e-12);
    CHECK(max_abs_diff(dw, ref_dw) < 1e-11);
    CHECK(max_abs_diff(db, ref_db) < 1e-11);
  }
}

TEST_CASE("conv2d_forward in float agrees with double", "[conv2d][op]") {
  Context ctx;
  const Tensor<double> xd = random_tensor(Shape{4, 16, 12, 10}, 21);
  const Tensor<double> wd = random_tensor(Shape{8, 16, 3, 3}, 22, 0.2);
  const Tensor<double> bd = random_tensor(Shape{8}, 23);
  Tensor<float> xf(xd.shape()), wf(wd.shape()), bf(bd.shape());
  std::copy(xd.begin(), xd.end(), xf.begin());
  std::copy(wd.begin(), wd.end(), wf.begin());
  std::copy(bd.begin(), bd.end(), bf.begin());
  Tensor<double> yd;
  Tensor<float> yf;
  ops::conv2d_forward(ctx, xd, wd, bd, yd);
  ops::conv2d_forward(ctx, xf, wf, bf, yf);
  double scale = 0, err = 0;
  for (std::size_t i = 0; i < yd.numel(); ++i) {
    scale = std::max(scale, std::abs(yd[i]));
    err = std::max(err, std::abs(yd[i] - static_cast<double>(yf[i])));
  }
  CHECK(err / scale < 1e-5);
}

TEST_CASE("conv2d's Winograd paths agree with im2col in float, and are taken only where they pay", "[conv2d][op]") {
  // Every pass of a convolution takes the same path.
  using cpu::winograd::applies;
  const Shape residual_128{32, 128, 32, 32}, residual_48{32, 128, 12, 12}, filters{128, 128, 3, 3};
  CHECK(applies(residual_128, filters));                                     // residual convs, 128x128
  CHECK(applies(Shape{32, 32, 64, 64}, Shape{64, 32, 3, 3}));                // stream conv2, 128x128
  CHECK_FALSE(applies(residual_48, filters));                                // small maps: F(4x4, 3x3)
  CHECK_FALSE(applies(Shape{32, 1, 128, 128}, Shape{32, 1, 3, 3}));          // one input channel
  CHECK_FALSE(applies(Shape{32, 128, 32, 32}, Shape{128, 128, 5, 5}));       // 5x5
  CHECK(cpu::winograd4::applies(residual_48, filters));                      // residual convs, 48x48
  CHECK(cpu::winograd4::applies(Shape{32, 32, 24, 24}, Shape{64, 32, 3, 3}));  // stream conv2, 48x48
  CHECK_FALSE(cpu::winograd4::applies(Shape{32, 16, 24, 24}, Shape{64, 16, 3, 3}));  // few channels
  CHECK_FALSE(cpu::winograd4::applies(residual_128, filters));               // 32x32 and more: F(2x2, 3x3)
  CHECK_FALSE(cpu::winograd4::applies(residual_48, Shape{128, 128, 5, 5}));  // 5x5
  // 5x5: the second stream convolution, in both networks.
  const Shape stream_48{32, 32, 24, 24}, stream_128{32, 32, 64, 64}, filters_5x5{64, 32, 5, 5};
  CHECK(cpu::winograd5::applies(stream_48, filters_5x5));
  CHECK(cpu::winograd5::applies(stream_128, filters_5x5));
  CHECK_FALSE(cpu::winograd5::applies(stream_48, Shape{64, 32, 3, 3}));
  CHECK_FALSE(cpu::winograd5::applies(Shape{32, 1, 48, 48}, Shape{32, 1, 5, 5}));  // one channel
  CHECK_FALSE(cpu::winograd5::applies(Shape{32, 32, 12, 12}, filters_5x5));
  // One image takes im2col on every path (the filter transform would not pay back); two take Winograd.
  Context automatic;
  CHECK_FALSE(cpu::conv2d_detail::use_winograd4(automatic, Shape{1, 128, 12, 12}, filters));
  CHECK_FALSE(cpu::conv2d_detail::use_winograd(automatic, Shape{1, 128, 32, 32}, filters));
  CHECK_FALSE(cpu::conv2d_detail::use_winograd5(automatic, Shape{1, 32, 64, 64}, Shape{64, 32, 5, 5}));
  CHECK(cpu::conv2d_detail::use_winograd4(automatic, Shape{2, 128, 12, 12}, filters));
  CHECK(cpu::conv2d_detail::use_winograd(automatic, Shape{2, 128, 32, 32}, filters));
  CHECK(cpu::conv2d_detail::use_winograd5(automatic, Shape{2, 32, 64, 64}, Shape{64, 32, 5, 5}));

  const auto to_float = [](const Tensor<double>& d) {
    Tensor<float> f(d.shape());
    std::copy(d.begin(), d.end(), f.begin());
    return f;
  };
  // The largest difference, relative to the largest reference value.
  const auto rel = [](const Tensor<float>& a, const Tensor<float>& ref) {
    double err = 0, scale = 0;
    for (std::size_t e = 0; e < a.numel(); ++e) {
      err = std::max(err, std::abs(static_cast<double>(a[e]) - ref[e]));
      scale = std::max(scale, std::abs(static_cast<double>(ref[e])));
    }
    return err / scale;
  };
  // Both 3x3 paths (F(2x2, 3x3) on a large map with an odd width, F(4x4, 3x3) on a small map with an odd height)
  // and the 5x5 path on a small and a large map. Tolerances are relative to the largest value: F(2x2, 3x3) adds a
  // few roundings per output (seen: about 1e-6); the points 0, ±1, ±2 of F(4x4, 3x3) and F(2x2, 5x5) add more
  // (seen: 4e-6 to 1e-5), and more again to the 5x5 filter gradient, a sum over every tile (about 1e-5).
  struct FloatCase {
    Shape x;
    int k;
    double tolerance, filter_tolerance;
  };
  const std::vector<FloatCase> float_cases{{Shape{3, 64, 32, 33}, 3, 1e-5, 1e-5},
                                           {Shape{5, 64, 11, 12}, 3, 2e-5, 2e-5},
                                           {Shape{3, 32, 24, 25}, 5, 2e-5, 5e-5},
                                           {Shape{2, 32, 33, 34}, 5, 2e-5, 5e-5}};
  for (const FloatCase& fc : float_cases) {
    const Shape& xs = fc.x;
    CAPTURE(xs, fc.k);
    const Tensor<float> x = to_float(random_tensor(xs, 31));
    const Tensor<float> w = to_float(random_tensor(Shape{64, xs.c(), fc.k, fc.k}, 32, 0.1));
    const Tensor<float> b = to_float(random_tensor(Shape{64}, 33));
    const Tensor<float> dy = to_float(random_tensor(Shape{xs.n(), 64, xs.h(), xs.w()}, 34));
    Context winograd_ctx, im2col_ctx;
    im2col_ctx.set_cpu_conv(CpuConv::im2col);
    Tensor<float> y[2], dx[2], dw[2] = {Tensor<float>(w.shape()), Tensor<float>(w.shape())},
                               db[2] = {Tensor<float>(b.shape()), Tensor<float>(b.shape())};
    int i = 0;
    for (Context* ctx : {&winograd_ctx, &im2col_ctx}) {
      ops::conv2d_forward(*ctx, x, w, b, y[i]);
      ops::conv2d_backward_data(*ctx, dy, w, x.shape(), dx[i]);
      ops::conv2d_backward_filter(*ctx, x, dy, dw[i], db[i]);
      ++i;
    }
    CHECK(rel(y[0], y[1]) < fc.tolerance);
    CHECK(rel(dx[0], dx[1]) < fc.tolerance);
    CHECK(rel(dw[0], dw[1]) < fc.filter_tolerance);
    CHECK(rel(db[0], db[1]) < 1e-5);
    // The two paths really differ in rounding: the Winograd path ran every pass.
    CHECK(rel(y[0], y[1]) > 0);
    CHECK(rel(dx[0], dx[1]) > 0);
    CHECK(rel(dw[0], dw[1]) > 0);
  }
}

TEST_CASE("Conv2D gradients are correct (3x3 and 5x5, non-square maps)", "[conv2d][layer][gradcheck]") {
  for (int k : {3, 5}) {
    CAPTURE(k);
    Context ctx(5);
    Conv2D<double> conv(ctx, 3, 4, k);
    // Nonzero biases, so that a backward that ignored them in the forward would show.
    conv.bias() = random_tensor(Shape{4}, 7);
    const auto result = check_layer(conv, ctx, random_tensor(Shape{2, 3, 7, 6}, 8));
    INFO(result.summary());
    REQUIRE(result.ok);
    CHECK(result.max_rel_error <= 1e-6);
    CHECK(result.checked == static_cast<std::size_t>(2 * 3 * 7 * 6 + 4 * 3 * k * k + 4));  // every element
  }
}

TEST_CASE("Conv2D initializes Glorot-uniform weights and zero biases, reproducibly", "[conv2d][layer]") {
  Context ctx(3);
  Conv2D<float> conv(ctx, 8, 16, 3);
  REQUIRE(conv.weight().shape() == Shape({16, 8, 3, 3}));
  const double limit = std::sqrt(6.0 / (8 * 9 + 16 * 9));
  double max_abs = 0, sum_sq = 0;
  for (float v : conv.weight()) {
    max_abs = std::max(max_abs, std::abs(static_cast<double>(v)));
    sum_sq += static_cast<double>(v) * v;
  }
  CHECK(max_abs <= limit);
  CHECK(max_abs > 0.95 * limit);
  // U(-l, l) has variance l²/3.
  CHECK(sum_sq / conv.weight().numel() == Approx(limit * limit / 3).epsilon(0.1));
  for (float v : conv.bias()) CHECK(v == 0);

  Context again(3);
  Conv2D<float> twin(again, 8, 16, 3);
  CHECK(twin.weight().to_vector() == conv.weight().to_vector());
  Conv2D<float> next(again, 8, 16, 3);  // a second layer takes a fresh stream
  CHECK(next.weight().to_vector() != conv.weight().to_vector());

  auto params = conv.params();
  REQUIRE(params.size() == 2);
  CHECK(params[0].name == "weight");
  CHECK(params[1].name == "bias");
  CHECK(conv.macs(Shape{2, 8, 5, 7}) == 2 * 16 * 5 * 7 * 8 * 9);
  CHECK(conv.output_shape(Shape{2, 8, 5, 7}) == Shape({2, 16, 5, 7}));
}

TEST_CASE("conv2d rejects bad arguments", "[conv2d][errors]") {
  Context ctx;
  Tensor<float> x(Shape{1, 3, 5, 5}), y;
  Tensor<float> b(Shape{4});
  CHECK_THROWS_AS(ops::conv2d_forward(ctx, x, Tensor<float>(Shape{4, 2, 3, 3}), b, y), InvalidArgument);  // C
  CHECK_THROWS_AS(ops::conv2d_forward(ctx, x, Tensor<float>(Shape{4, 3, 2, 2}), b, y), InvalidArgument);  // even
  CHECK_THROWS_AS(ops::conv2d_forward(ctx, x, Tensor<float>(Shape{4, 3, 3, 5}), b, y), InvalidArgument);  // not sq.
  CHECK_THROWS_AS(ops::conv2d_forward(ctx, x, Tensor<float>(Shape{4, 3, 3, 3}), Tensor<float>(Shape{3}), y),
                  InvalidArgument);  // bias size
  CHECK_THROWS_AS(ops::conv2d_forward(ctx, Tensor<float>(Shape{3, 5, 5}), Tensor<float>(Shape{4, 3, 3, 3}), b, y),
                  InvalidArgument);  // not NCHW
  Tensor<float> dx, dw(Shape{4, 3, 3, 3}), db;
  CHECK_THROWS_AS(ops::conv2d_backward_data(ctx, Tensor<float>(Shape{1, 4, 5, 4}), dw, x.shape(), dx),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::conv2d_backward_filter(ctx, x, Tensor<float>(Shape{2, 4, 5, 5}), dw, db), InvalidArgument);

  CHECK_THROWS_AS(Conv2D<float>(ctx, 3, 4, 4), InvalidArgument);
  CHECK_THROWS_AS(Conv2D<float>(ctx, 0, 4, 3), InvalidArgument);
  Conv2D<float> conv(ctx, 3, 4, 3);
  CHECK_THROWS_AS(conv.backward(ctx, Tensor<float>(Shape{1, 4, 5, 5})), InvalidArgument);  // before forward
  CHECK_THROWS_AS(conv.forward(ctx, Tensor<float>(Shape{1, 2, 5, 5}), Mode::train), InvalidArgument);
  CHECK_THROWS_AS(conv.output_shape(Shape{1, 2, 5, 5}), InvalidArgument);
}
