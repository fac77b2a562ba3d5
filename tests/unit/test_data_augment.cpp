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

TEST_CASE("A shift moves the content by whole pixels and replicates the edge", "[data][augment]") {
  const int side = 10;
  std::vector<std::uint8_t> src(static_cast<std::size_t>(side) * side), out(src.size());
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<std::uint8_t>(3 * i);
  AugmentParams shift;
  shift.shift_x = 2.0f / side;   // two pixels right
  shift.shift_y = -1.0f / side;  // one pixel up
  augment_image(src.data(), side, side, shift, out.data());
  for (int y = 0; y < side; ++y)
    for (int x = 0; x < side; ++x) {
      const int sx = std::max(0, x - 2), sy = std::min(side - 1, y + 1);
      INFO("x " << x << " y " << y);
      REQUIRE(out[static_cast<std::size_t>(y) * side + x] == src[static_cast<std::size_t>(sy) * side + sx]);
    }
}

TEST_CASE("Random erasing fills one rectangle of the drawn size with seeded noise", "[data][augment]") {
  const int height = 48, width = 40;
  const std::vector<std::uint8_t> flat(static_cast<std::size_t>(height) * width, 77);
  AugmentOptions o;
  o.erase_probability = 1.0f;
  for (std::uint64_t sample = 0; sample < 50; ++sample) {
    const AugmentParams p = draw_augment_params(o, 3, 1, sample);
    REQUIRE(p.erase);
    const PixelRect r = erase_rect(p, height, width);
    REQUIRE(r.x0 >= 0);
    REQUIRE(r.y0 >= 0);
    REQUIRE(r.x1 <= width);
    REQUIRE(r.y1 <= height);
    const double area = double(r.x1 - r.x0) * (r.y1 - r.y0) / (height * width);
    // Rounding each side to whole pixels (and clipping very thin or tall ones) moves the area a little.
    CHECK(area >= 0.5 * erase_ranges::min_area);
    CHECK(area <= 1.3 * erase_ranges::max_area);

    std::vector<std::uint8_t> out(flat.size()), again(flat.size());
    augment_image(flat.data(), height, width, p, out.data());
    augment_image(flat.data(), height, width, p, again.data());
    CHECK(out == again);
    int changed_inside = 0;
    for (int y = 0; y < height; ++y)
      for (int x = 0; x < width; ++x) {
        const std::uint8_t v = out[static_cast<std::size_t>(y) * width + x];
        if (r.contains(x, y))
          changed_inside += v != 77;
        else
          REQUIRE(v == 77);  // outside the rectangle the (identity) warp leaves the image alone
      }
    // Noise uniform in 0..255 hits 77 about once in 256 pixels.
    CHECK(changed_inside >= (r.x1 - r.x0) * (r.y1 - r.y0) * 9 / 10);
  }
}

TEST_CASE("Shift and erasing are drawn within their ranges and leave the paper's draws unchanged", "[data][augment]") {
  const AugmentOptions paper;
  AugmentOptions extra = paper;
  extra.max_shift = 0.1f;
  extra.erase_probability = 0.5f;
  int erased = 0;
  double min_shift = 0, max_shift = 0;
  const int n = 4000;
  for (int i = 0; i < n; ++i) {
    const AugmentParams a = draw_augment_params(paper, 9, 2, static_cast<std::uint64_t>(i));
    const AugmentParams b = draw_augment_params(extra, 9, 2, static_cast<std::uint64_t>(i));
    REQUIRE(a.rotation_degrees == b.rotation_degrees);
    REQUIRE(a.scale == b.scale);
    REQUIRE(a.flip == b.flip);
    REQUIRE(a.shift_x == 0.0f);
    REQUIRE_FALSE(a.erase);
    REQUIRE(std::abs(b.shift_x) <= 0.1f);
    REQUIRE(std::abs(b.shift_y) <= 0.1f);
    min_shift = std::min<double>(min_shift, b.shift_x);
    max_shift = std::max<double>(max_shift, b.shift_y);
    erased += b.erase;
    if (b.erase) {
      REQUIRE(b.erase_area >= erase_ranges::min_area);
      REQUIRE(b.erase_area <= erase_ranges::max_area);
      REQUIRE(b.erase_aspect >= erase_ranges::min_aspect * 0.999f);
      REQUIRE(b.erase_aspect <= erase_ranges::max_aspect * 1.001f);
    }
  }
  CHECK(erased == Approx(n / 2).margin(150));
  CHECK(min_shift < -0.095);
  CHECK(max_shift > 0.095);

  AugmentOptions bad;
  bad.max_shift = 0.6f;
  CHECK_THROWS_AS(check_augment_options(bad), InvalidArgument);
  bad = AugmentOptions{};
  bad.erase_probability = -0.1f;
  CHECK_THROWS_AS(check_augment_options(bad), InvalidArgument);
}
