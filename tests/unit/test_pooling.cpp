// Max pooling and global average pooling: hand-worked values (ties included), gradients, argument checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "mien/layers/pooling.hpp"
#include "mien/ops/pooling.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;
using mien::testing::check_layer;
using mien::testing::random_tensor;

TEST_CASE("maxpool2d: 2x2 windows on a 4x5 map, ties routed to the first maximum", "[pooling][op]") {
  Context ctx;
  // The last column does not fill a window and is dropped (floor). The four windows and their maxima:
  //   rows 0-1, cols 0-1: {1, 3 / 3, 2}      -> 3, first at (0, 1) although (1, 0) ties
  //   rows 0-1, cols 2-3: {2, 0 / 5, 5}      -> 5, first at (1, 2)
  //   rows 2-3, cols 0-1: {-1, -2 / -2, -1}  -> -1, first at (2, 0)
  //   rows 2-3, cols 2-3: {-3, -4 / -4, -3}  -> -3, first at (2, 2)
  Tensor<double> x(Shape{1, 1, 4, 5}, {1,  3,  2,  0,  9,  //
                                       3,  2,  5,  5,  9,  //
                                       -1, -2, -3, -4, 9,  //
                                       -2, -1, -4, -3, 9});
  Tensor<double> y;
  ops::maxpool2d_forward(ctx, x, 2, y);
  REQUIRE(y.shape() == Shape({1, 1, 2, 2}));
  CHECK(y.to_vector() == std::vector<double>{3, 5, -1, -3});

  Tensor<double> dy(Shape{1, 1, 2, 2}, {10, 20, 30, 40}), dx;
  ops::maxpool2d_backward(ctx, x, y, dy, 2, dx);
  REQUIRE(dx.shape() == x.shape());
  CHECK(dx.to_vector() == std::vector<double>{0,  10, 0, 0,  0,  //
                                              0,  0,  20, 0, 0,  //
                                              30, 0,  40, 0, 0,  //
                                              0,  0,  0,  0, 0});
}

TEST_CASE("maxpool2d 2x2 matches the definition on odd extents with ties, writing every input gradient",
          "[pooling][op]") {
  Context ctx;
  for (const Shape& shape : {Shape{2, 3, 7, 9}, Shape{1, 2, 6, 8}, Shape{3, 1, 5, 2}}) {
    INFO("shape " << shape);
    // Values on a coarse grid, so that windows often hold tied maxima.
    Tensor<double> x = random_tensor(shape, 31);
    for (std::size_t i = 0; i < x.numel(); ++i) x[i] = std::floor(x[i] * 2.0);
    Tensor<double> y;
    ops::maxpool2d_forward(ctx, x, 2, y);
    const Tensor<double> dy = random_tensor(y.shape(), 32);
    Tensor<double> dx(shape);
    for (std::size_t i = 0; i < dx.numel(); ++i) dx[i] = std::nan("");  // stale contents must all be overwritten
    ops::maxpool2d_backward(ctx, x, y, dy, 2, dx);

    const std::int64_t h = shape.h(), w = shape.w(), oh_n = h / 2, ow_n = w / 2;
    std::vector<double> want(x.numel(), 0.0);
    for (std::int64_t p = 0; p < shape.n() * shape.c(); ++p)
      for (std::int64_t oh = 0; oh < oh_n; ++oh)
        for (std::int64_t ow = 0; ow < ow_n; ++ow) {
          std::int64_t best = p * h * w + 2 * oh * w + 2 * ow;  // first maximum in row-major order
          for (int i = 0; i < 2; ++i)
            for (int j = 0; j < 2; ++j) {
              const std::int64_t at = p * h * w + (2 * oh + i) * w + 2 * ow + j;
              if (x[at] > x[best]) best = at;
            }
          const std::int64_t o = p * oh_n * ow_n + oh * ow_n + ow;
          REQUIRE(y[o] == x[best]);
          want[best] = dy[o];
        }
    CHECK(dx.to_vector() == want);
  }
}

TEST_CASE("global_avgpool averages each plane and spreads the gradient evenly", "[pooling][op]") {
  Context ctx;
  Tensor<double> x(Shape{1, 2, 2, 2}, {1, 2, 3, 4, -1, 0, 0, 5});
  Tensor<double> y;
  ops::global_avgpool_forward(ctx, x, y);
  REQUIRE(y.shape() == Shape({1, 2}));
  CHECK(y[0] == Approx(2.5));
  CHECK(y[1] == Approx(1.0));
  Tensor<double> dy(Shape{1, 2}, {4, 8}), dx;
  ops::global_avgpool_backward(ctx, dy, x.shape(), dx);
  CHECK(dx.to_vector() == std::vector<double>{1, 1, 1, 1, 2, 2, 2, 2});
}

TEST_CASE("Pooling layer gradients are correct", "[pooling][layer][gradcheck]") {
  Context ctx;
  for (int window : {2, 3}) {
    CAPTURE(window);
    MaxPool2D<double> pool(window);
    const auto result = check_layer(pool, ctx, random_tensor(Shape{2, 3, 7, 8}, 40 + window));
    INFO(result.summary());
    REQUIRE(result.ok);
    CHECK(result.max_rel_error <= 1e-6);
  }
  GlobalAvgPool<double> gap;
  const auto result = check_layer(gap, ctx, random_tensor(Shape{2, 3, 4, 5}, 44));
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Pooling layers give their output shapes", "[pooling][layer]") {
  CHECK(MaxPool2D<float>().output_shape(Shape{8, 32, 48, 47}) == Shape({8, 32, 24, 23}));
  CHECK(MaxPool2D<float>(3).output_shape(Shape{8, 32, 48, 47}) == Shape({8, 32, 16, 15}));
  CHECK(GlobalAvgPool<float>().output_shape(Shape{8, 32, 6, 6}) == Shape({8, 32}));
}

TEST_CASE("Pooling rejects bad arguments", "[pooling][errors]") {
  Context ctx;
  Tensor<float> y, dx;
  CHECK_THROWS_AS(ops::maxpool2d_forward(ctx, Tensor<float>(Shape{1, 1, 3, 3}), 4, y), InvalidArgument);
  CHECK_THROWS_AS(ops::maxpool2d_forward(ctx, Tensor<float>(Shape{1, 1, 3, 3}), 0, y), InvalidArgument);
  CHECK_THROWS_AS(ops::maxpool2d_forward(ctx, Tensor<float>(Shape{3, 3}), 2, y), InvalidArgument);
  CHECK_THROWS_AS(ops::global_avgpool_forward(ctx, Tensor<float>(Shape{3, 3}), y), InvalidArgument);
  CHECK_THROWS_AS(ops::global_avgpool_backward(ctx, Tensor<float>(Shape{1, 3}), Shape{1, 2, 4, 4}, dx),
                  InvalidArgument);
  CHECK_THROWS_AS(MaxPool2D<float>(0), InvalidArgument);
  MaxPool2D<float> pool;
  CHECK_THROWS_AS(pool.backward(ctx, Tensor<float>(Shape{1, 1, 2, 2})), InvalidArgument);
  GlobalAvgPool<float> gap;
  CHECK_THROWS_AS(gap.backward(ctx, Tensor<float>(Shape{1, 1})), InvalidArgument);
}
