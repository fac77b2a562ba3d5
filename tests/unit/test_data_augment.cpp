// Augmentation (rotation, scaling, flip as one warp): the identity is exact, a flip is a mirror, a quarter turn
// is a quarter turn, and each sample's parameters depend only on (seed, epoch, sample).
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "mien/data/augment.hpp"

using namespace mien;

namespace {

std::vector<std::uint8_t> picture(int side) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(side) * side);
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      px[static_cast<std::size_t>(y) * side + x] = static_cast<std::uint8_t>((x * 37 + y * 11 + x * y) % 256);
  return px;
}

}  // namespace

TEST_CASE("The identity warp returns the image and a flip mirrors it exactly", "[data][augment]") {
  const int side = 48;
  const std::vector<std::uint8_t> src = picture(side);
  std::vector<std::uint8_t> out(src.size());
  augment_image(src.data(), side, side, AugmentParams{}, out.data());
  CHECK((out == src));
  std::vector<float> scaled(src.size());
  augment_image(src.data(), side, side, AugmentParams{}, scaled.data(), 1.0f / 255.0f, -0.5f);
  for (std::size_t i = 0; i < src.size(); ++i) REQUIRE(scaled[i] == Approx(src[i] / 255.0 - 0.5).margin(1e-6));

  AugmentParams flip;
  flip.flip = true;
  augment_image(src.data(), side, side, flip, out.data());
  bool mirrored = true;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) mirrored &= out[y * side + x] == src[y * side + (side - 1 - x)];
  CHECK(mirrored);
}

TEST_CASE("A quarter turn moves the right edge to the bottom; scaling keeps the centre", "[data][augment]") {
  const int side = 9;
  const std::vector<std::uint8_t> src = picture(side);
  std::vector<std::uint8_t> out(src.size());
  AugmentParams turn;
  turn.rotation_degrees = 90.0f;  // clockwise as viewed
  augment_image(src.data(), side, side, turn, out.data());
  int worst = 0;
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x)
      worst = std::max(worst, std::abs(out[y * side + x] - src[(side - 1 - x) * side + y]));
  CHECK(worst <= 1);  // float cos(90 degrees) is not exactly 0

  AugmentParams zoom;
  zoom.scale = 1.5f;
  augment_image(src.data(), side, side, zoom, out.data());
  CHECK(out[4 * side + 4] == src[4 * side + 4]);
  CHECK(out[0] != src[0]);

  // Edges are replicated: a constant image stays constant under any warp (no black corners).
  const std::vector<std::uint8_t> flat(static_cast<std::size_t>(side) * side, 77);
  AugmentParams wild{33.0f, 0.7f, true};
  augment_image(flat.data(), side, side, wild, out.data());
  for (std::uint8_t v : out) CHECK(v == 77);
}

TEST_CASE("Augmentation parameters are keyed by seed, epoch and sample, within the ranges", "[data][augment]") {
  const AugmentOptions o;  // +-15 degrees, scale 0.9..1.1, flip 0.5
  const AugmentParams a = draw_augment_params(o, 1, 2, 3), b = draw_augment_params(o, 1, 2, 3);
  CHECK(a.rotation_degrees == b.rotation_degrees);
  CHECK(a.scale == b.scale);
  CHECK(a.flip == b.flip);
  CHECK(draw_augment_params(o, 1, 3, 3).rotation_degrees != a.rotation_degrees);
  CHECK(draw_augment_params(o, 1, 2, 4).rotation_degrees != a.rotation_degrees);
  CHECK(draw_augment_params(o, 2, 2, 3).rotation_degrees != a.rotation_degrees);

  int flips = 0;
  double rotation_sum = 0, min_rotation = 0, max_rotation = 0, min_scale = 2, max_scale = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const AugmentParams p = draw_augment_params(o, 9, 0, static_cast<std::uint64_t>(i));
    REQUIRE(std::abs(p.rotation_degrees) <= 15.0f);
    REQUIRE(p.scale >= 0.9f);
    REQUIRE(p.scale <= 1.1f);
    flips += p.flip;
    rotation_sum += p.rotation_degrees;
    min_rotation = std::min<double>(min_rotation, p.rotation_degrees);
    max_rotation = std::max<double>(max_rotation, p.rotation_degrees);
    min_scale = std::min<double>(min_scale, p.scale);
    max_scale = std::max<double>(max_scale, p.scale);
  }
  CHECK(flips == Approx(n / 2).margin(150));
  CHECK(rotation_sum / n == Approx(0).margin(0.6));
  CHECK(min_rotation < -14.5);
  CHECK(max_rotation > 14.5);
  CHECK(min_scale < 0.905);
  CHECK(max_scale > 1.095);

  AugmentOptions never;
  never.flip_probability = 0;
  never.max_rotation_degrees = 0;
  never.min_scale = never.max_scale = 1;
  const AugmentParams id = draw_augment_params(never, 4, 5, 6);
  CHECK(id.rotation_degrees == 0.0f);
  CHECK(id.scale == 1.0f);
  CHECK_FALSE(id.flip);

  AugmentOptions bad;
  bad.min_scale = 1.2f;
  CHECK_THROWS_AS(check_augment_options(bad), InvalidArgument);
  bad = AugmentOptions{};
  bad.flip_probability = 1.5f;
  CHECK_THROWS_AS(check_augment_options(bad), InvalidArgument);
}
