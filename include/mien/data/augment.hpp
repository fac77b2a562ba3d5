#pragma once
// Training-time augmentation, the paper's Algorithm 1: a random rotation, a random scaling and a random
// horizontal flip, applied together as one affine warp about the image centre (bilinear sampling, edge pixels
// replicated beyond the border, so no black corners appear).
//
// Two further regularizers, off by default (not in the paper): a random translation, folded into the same warp,
// and random erasing (Zhong et al., "Random Erasing Data Augmentation", arXiv:1708.04896): with some probability
// a rectangle of 2-25% of the image, aspect ratio 0.3-3.3, is filled with uniform noise.
//
// The paper names the transforms but not every range; mien's defaults are rotation uniform in +-15 degrees,
// scale uniform in [0.9, 1.1] (above 1 zooms in), and a flip with probability 0.5: the usual values for
// 48x48 FER2013 faces, large enough to regularize, small enough to keep the face in the frame.
//
// Each sample's parameters are drawn from Philox keyed by (seed, epoch, sample index in the data set), so an
// augmented batch is the same whatever the thread count, batch order or shuffling.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "mien/core/error.hpp"
#include "mien/core/philox.hpp"
#include "mien/data/random.hpp"

namespace mien {

struct AugmentOptions {
  float max_rotation_degrees = 15.0f;  // rotation uniform in [-max, max]
  float min_scale = 0.9f;              // scale uniform in [min_scale, max_scale]
  float max_scale = 1.1f;
  float flip_probability = 0.5f;  // horizontal (left-right) flip
  float max_shift = 0.0f;          // translation uniform in [-max, max] times the width (x) and height (y)
  float erase_probability = 0.0f;  // random erasing
};

// One sample's transform. The defaults are the identity.
struct AugmentParams {
  float rotation_degrees = 0.0f;  // positive turns the picture clockwise as viewed (rows run downwards)
  float scale = 1.0f;
  bool flip = false;
  float shift_x = 0.0f, shift_y = 0.0f;  // fractions of the width and height; positive moves the content right/down
  bool erase = false;
  float erase_area = 0.0f, erase_aspect = 1.0f;  // fraction of the image; height / width of the rectangle
  float erase_x = 0.0f, erase_y = 0.0f;          // left/top edge, as a fraction of the room the rectangle leaves
  std::uint32_t noise_key = 0;                   // keys the noise that fills the rectangle
};

// Fixed ranges of random erasing (the values Zhong et al. use).
namespace erase_ranges {
inline constexpr float min_area = 0.02f, max_area = 0.25f, min_aspect = 0.3f, max_aspect = 3.3f;
}

inline void check_augment_options(const AugmentOptions& o) {
  check_arg(o.max_rotation_degrees >= 0.0f && o.max_rotation_degrees <= 180.0f, "augment",
            "max_rotation_degrees must be in [0, 180], got ", o.max_rotation_degrees);
  check_arg(o.min_scale > 0.0f && o.min_scale <= o.max_scale, "augment", "scale range [", o.min_scale, ", ",
            o.max_scale, "] must be positive and ordered");
  check_arg(o.flip_probability >= 0.0f && o.flip_probability <= 1.0f, "augment",
            "flip_probability must be in [0, 1], got ", o.flip_probability);
  check_arg(o.max_shift >= 0.0f && o.max_shift <= 0.5f, "augment", "max_shift must be in [0, 0.5], got ", o.max_shift);
  check_arg(o.erase_probability >= 0.0f && o.erase_probability <= 1.0f, "augment",
            "erase_probability must be in [0, 1], got ", o.erase_probability);
}

// The transform of sample `sample` in epoch `epoch`: words 4*sample .. 4*sample+2 of the augment stream, and
// words 8*sample .. 8*sample+7 of the augment_extra stream (so turning the extras on leaves the rest as it was).
inline AugmentParams draw_augment_params(const AugmentOptions& o, std::uint64_t seed, std::uint64_t epoch,
                                         std::uint64_t sample) {
  const RandomStream stream{seed, data_streams::augment, epoch};
  AugmentParams p;
  p.rotation_degrees = (2.0f * stream.uniform(4 * sample) - 1.0f) * o.max_rotation_degrees;
  p.scale = o.min_scale + stream.uniform(4 * sample + 1) * (o.max_scale - o.min_scale);
  p.flip = stream.uniform(4 * sample + 2) < o.flip_probability;
  if (o.max_shift > 0.0f || o.erase_probability > 0.0f) {
    const RandomStream extra{seed, data_streams::augment_extra, epoch};
    const std::uint64_t w = 8 * sample;
    p.shift_x = (2.0f * extra.uniform(w) - 1.0f) * o.max_shift;
    p.shift_y = (2.0f * extra.uniform(w + 1) - 1.0f) * o.max_shift;
    p.erase = extra.uniform(w + 2) < o.erase_probability;
    if (p.erase) {
      using namespace erase_ranges;
      p.erase_area = min_area + extra.uniform(w + 3) * (max_area - min_area);
      // Aspect ratio uniform in log space, so tall and wide rectangles are equally likely.
      const float log_lo = std::log(min_aspect), log_hi = std::log(max_aspect);
      p.erase_aspect = std::exp(log_lo + extra.uniform(w + 4) * (log_hi - log_lo));
      p.erase_x = extra.uniform(w + 5);
      p.erase_y = extra.uniform(w + 6);
      p.noise_key = random_bits(extra, w + 7);
    }
  }
  return p;
}

// The erased rectangle in pixels, [x0, x1) x [y0, y1); empty when the sample is not erased.
struct PixelRect {
  int x0 = 0, y0 = 0, x1 = 0, y1 = 0;
  bool contains(int x, int y) const { return x >= x0 && x < x1 && y >= y0 && y < y1; }
};

inline PixelRect erase_rect(const AugmentParams& p, int height, int width) {
  if (!p.erase) return {};
  const float area = p.erase_area * static_cast<float>(height) * static_cast<float>(width);
  auto fit = [](float v, int hi) { return std::max(1, std::min(hi, static_cast<int>(std::lround(v)))); };
  const int h = fit(std::sqrt(area * p.erase_aspect), height), w = fit(std::sqrt(area / p.erase_aspect), width);
  const int x0 = std::min(width - w, static_cast<int>(p.erase_x * static_cast<float>(width - w + 1)));
  const int y0 = std::min(height - h, static_cast<int>(p.erase_y * static_cast<float>(height - h + 1)));
  return {x0, y0, x0 + w, y0 + h};
}

namespace detail {

// Calls store(pixel index, value) with the warped value (in 0..255, unrounded) of every output pixel. The
// output pixel's position is mirrored (flip), moved back by the shift, then mapped back through the inverse
// rotation and scaling to the source position that bilinear sampling reads. The identity maps every pixel onto
// itself exactly. Pixels in the erased rectangle get noise instead.
template <class Store>
void warp_affine(const std::uint8_t* src, int height, int width, const AugmentParams& p, Store&& store) {
  constexpr float degrees_to_radians = 3.14159265358979323846f / 180.0f;
  const float angle = p.rotation_degrees * degrees_to_radians;
  const float cos_s = std::cos(angle) / p.scale, sin_s = std::sin(angle) / p.scale;
  const float cx = 0.5f * static_cast<float>(width - 1), cy = 0.5f * static_cast<float>(height - 1);
  const float tx = p.shift_x * static_cast<float>(width), ty = p.shift_y * static_cast<float>(height);
  const PixelRect erased = erase_rect(p, height, width);
  const RandomStream noise{p.noise_key, data_streams::erase_noise, 0};
  for (int y = 0; y < height; ++y) {
    const float dy = static_cast<float>(y) - cy - ty;
    for (int x = 0; x < width; ++x) {
      const std::size_t out = static_cast<std::size_t>(y) * width + x;
      if (erased.contains(x, y)) {
        store(out, static_cast<float>(random_bits(noise, out) >> 24));
        continue;
      }
      const float dx = static_cast<float>(p.flip ? width - 1 - x : x) - cx - tx;
      const float sx = cx + (cos_s * dx + sin_s * dy);
      const float sy = cy + (cos_s * dy - sin_s * dx);
      const float fx0 = std::floor(sx), fy0 = std::floor(sy);
      const float wx = sx - fx0, wy = sy - fy0;
      auto clamp = [](int v, int hi) { return v < 0 ? 0 : (v > hi ? hi : v); };
      const int x0 = clamp(static_cast<int>(fx0), width - 1), x1 = clamp(static_cast<int>(fx0) + 1, width - 1);
      const int y0 = clamp(static_cast<int>(fy0), height - 1), y1 = clamp(static_cast<int>(fy0) + 1, height - 1);
      const std::uint8_t* row0 = src + static_cast<std::size_t>(y0) * width;
      const std::uint8_t* row1 = src + static_cast<std::size_t>(y1) * width;
      const float top = static_cast<float>(row0[x0]) + wx * (static_cast<float>(row0[x1]) - row0[x0]);
      const float bottom = static_cast<float>(row1[x0]) + wx * (static_cast<float>(row1[x1]) - row1[x0]);
      store(out, top + wy * (bottom - top));
    }
  }
}

}  // namespace detail

// Warps one image into floats: dst[i] = gain * warped pixel + offset (the loader's scaling to [0, 1] and
// standardization, fused into the warp so the pixel is rounded nowhere).
inline void augment_image(const std::uint8_t* src, int height, int width, const AugmentParams& p, float* dst,
                          float gain = 1.0f, float offset = 0.0f) {
  detail::warp_affine(src, height, width, p, [&](std::size_t i, float v) { dst[i] = gain * v + offset; });
}

// Warps one image into 8-bit pixels (rounded), e.g. to look at the augmentations.
inline void augment_image(const std::uint8_t* src, int height, int width, const AugmentParams& p, std::uint8_t* dst) {
  detail::warp_affine(src, height, width, p, [&](std::size_t i, float v) {
    dst[i] = static_cast<std::uint8_t>(std::fmin(std::fmax(v, 0.0f), 255.0f) + 0.5f);
  });
}

}  // namespace mien
