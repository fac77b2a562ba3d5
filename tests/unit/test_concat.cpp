// Channel concatenation and the multi-scale convolution built on it.
#include <catch2/catch.hpp>

#include <vector>

#include "mien/layers/multi_scale_conv.hpp"
#include "mien/ops/concat.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;
using mien::testing::check_layer;
using mien::testing::random_tensor;

TEST_CASE("concat_channels stacks a's channels before b's, image by image, and splits back", "[concat][op]") {
  Context ctx;
  // a: 2 images of 1 channel 1x2; b: 2 images of 2 channels 1x2.
  Tensor<int> a(Shape{2, 1, 1, 2}, {1, 2, 3, 4});
  Tensor<int> b(Shape{2, 2, 1, 2}, {10, 11, 12, 13, 20, 21, 22, 23});
  Tensor<int> y;
  ops::concat_channels_forward(ctx, a, b, y);
  REQUIRE(y.shape() == Shape({2, 3, 1, 2}));
  CHECK(y.to_vector() == std::vector<int>{1, 2, 10, 11, 12, 13, 3, 4, 20, 21, 22, 23});

  Tensor<int> da, db;
  ops::concat_channels_backward(ctx, y, 1, da, db);
  CHECK(da.shape() == a.shape());
  CHECK(db.shape() == b.shape());
  CHECK(da.to_vector() == a.to_vector());
  CHECK(db.to_vector() == b.to_vector());
}

TEST_CASE("concat_channels rejects mismatched maps and bad split points", "[concat][errors]") {
  Context ctx;
  Tensor<float> y, da, db;
  CHECK_THROWS_AS(ops::concat_channels_forward(ctx, Tensor<float>(Shape{2, 1, 3, 3}), Tensor<float>(Shape{2, 1, 3, 4}), y),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::concat_channels_forward(ctx, Tensor<float>(Shape{1, 1, 3, 3}), Tensor<float>(Shape{2, 1, 3, 3}), y),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::concat_channels_backward(ctx, Tensor<float>(Shape{2, 3, 2, 2}), 3, da, db), InvalidArgument);
  CHECK_THROWS_AS(ops::concat_channels_backward(ctx, Tensor<float>(Shape{2, 3, 2, 2}), 0, da, db), InvalidArgument);
}

TEST_CASE("MultiScaleConv concatenates its streams' outputs in kernel order", "[concat][layer]") {
  Context ctx(9);
  MultiScaleConv<double> msc(ctx, 2, 3);
  REQUIRE(msc.stream_count() == 2);
  msc.stream(0).bias() = random_tensor(Shape{3}, 1);
  msc.stream(1).bias() = random_tensor(Shape{3}, 2);
  const Tensor<double> x = random_tensor(Shape{2, 2, 5, 4}, 3);
  const Tensor<double> y = msc.forward(ctx, x, Mode::infer);
  REQUIRE(y.shape() == Shape({2, 6, 5, 4}));
  REQUIRE(msc.output_shape(x.shape()) == y.shape());
  const Tensor<double> y3 = msc.stream(0).forward(ctx, x, Mode::infer);
  const Tensor<double> y5 = msc.stream(1).forward(ctx, x, Mode::infer);
  for (std::int64_t n = 0; n < 2; ++n)
    for (std::int64_t c = 0; c < 3; ++c)
      for (std::int64_t h = 0; h < 5; ++h)
        for (std::int64_t w = 0; w < 4; ++w) {
          CHECK(y.at(n, c, h, w) == y3.at(n, c, h, w));
          CHECK(y.at(n, c + 3, h, w) == y5.at(n, c, h, w));
        }

  std::vector<std::string> names;
  for (auto& p : msc.params()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"conv3.weight", "conv3.bias", "conv5.weight", "conv5.bias"});
  CHECK(msc.stream(1).kernel() == 5);
  CHECK(msc.macs(Shape{1, 2, 5, 4}) == 3 * 5 * 4 * 2 * (9 + 25));
}

TEST_CASE("MultiScaleConv gradients are correct for one, two and three streams", "[concat][layer][gradcheck]") {
  const std::vector<std::vector<int>> kernel_sets{{3}, {3, 5}, {1, 3, 5}};
  for (const auto& kernels : kernel_sets) {
    CAPTURE(kernels);
    Context ctx(4);
    MultiScaleConv<double> msc(ctx, 2, 3, kernels);
    for (std::size_t i = 0; i < msc.stream_count(); ++i) msc.stream(i).bias() = random_tensor(Shape{3}, 30 + i);
    const auto result = check_layer(msc, ctx, random_tensor(Shape{2, 2, 6, 5}, 5));
    INFO(result.summary());
    REQUIRE(result.ok);
    CHECK(result.max_rel_error <= 1e-6);
    CHECK(result.skipped_kinks == 0);
  }
}

TEST_CASE("MultiScaleConv rejects empty and repeated kernel lists", "[concat][errors]") {
  Context ctx;
  CHECK_THROWS_AS(MultiScaleConv<float>(ctx, 1, 4, std::vector<int>{}), InvalidArgument);
  CHECK_THROWS_AS(MultiScaleConv<float>(ctx, 1, 4, {3, 5, 3}), InvalidArgument);
  CHECK_THROWS_AS(MultiScaleConv<float>(ctx, 1, 4, {3, 4}), InvalidArgument);
  MultiScaleConv<float> msc(ctx, 1, 4);
  CHECK_THROWS_AS(msc.forward(ctx, Tensor<float>(Shape{1, 2, 6, 6}), Mode::train), InvalidArgument);
}
