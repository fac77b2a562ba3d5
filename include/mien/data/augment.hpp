#pragma once
// Training-time augmentation, the paper's Algorithm 1: a random rotation, a random scaling and a random
// horizontal flip, applied together as one affine warp about the image centre (bilinear sampling, edge pixels
// replicated beyond the border, so no black corners appear).
//
// The paper names the transforms but not every range; mien's defaults are rotation uniform in +-15 degrees,
// scale uniform in [0.9, 1.1] (above 1 zooms in), and a flip with probability 0.5: the usual values for
// 48x48 FER2013 faces, large enough to regularize, small enough to keep the face in the frame.
//
// Each sample's parameters are drawn from Philox keyed by (seed, epoch, sample index in the data set), so an
// augmented batch is the same whatever the thread count, batch order or shuffling.
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
};

// One sample's transform. The defaults are the identity.
struct AugmentParams {
  float rotation_degrees = 0.0f;  // positive turns the picture clockwise as viewed (rows run downwards)
  float scale = 1.0f;
  bool flip = false;
};

inline void check_augment_options(const AugmentOptions& o) {
  check_arg(o.max_rotation_degrees >= 0.0f && o.max_rotation_degrees <= 180.0f, "augment",
            "max_rotation_degrees must be in [0, 180], got ", o.max_rotation_degrees);
  check_arg(o.min_scale > 0.0f && o.min_scale <= o.max_scale, "augment", "scale range [", o.min_scale, ", ",
            o.max_scale, "] must be positive and ordered");
  check_arg(o.flip_probability >= 0.0f && o.flip_probability <= 1.0f, "augment",
            "flip_probability must be in [0, 1], got ", o.flip_probability);
}

// The transform of sample `sample` in epoch `epoch`: words 4*sample .. 4*sample+2 of the augment stream.
inline AugmentParams draw_augment_params(const AugmentOptions& o, std::uint64_t seed, std::uint64_t epoch,
                                         std::uint64_t sample) {
  const RandomStream stream{seed, data_streams::augment, epoch};
  AugmentParams p;
  p.rotation_degrees = (2.0f * stream.uniform(4 * sample) - 1.0f) * o.max_rotation_degrees;
  p.scale = o.min_scale + stream.uniform(4 * sample + 1) * (o.max_scale - o.min_scale);
  p.flip = stream.uniform(4 * sample + 2) < o.flip_probability;
  return p;
}

namespace detail {

// Calls store(pixel index, value) with the warped value (in 0..255, unrounded) of every output pixel. The
// output pixel's position is mirrored (flip), then mapped back through the inverse rotation and scaling
// to the source position that bilinear sampling reads. The identity maps every pixel onto itself exactly.
template <class Store>
void warp_affine(const std::uint8_t* src, int height, int width, const AugmentParams& p, Store&& store) {
  constexpr float degrees_to_radians = 3.14159265358979323846f / 180.0f;
  const float angle = p.rotation_degrees * degrees_to_radians;
  const float cos_s = std::cos(angle) / p.scale, sin_s = std::sin(angle) / p.scale;
  const float cx = 0.5f * static_cast<float>(width - 1), cy = 0.5f * static_cast<float>(height - 1);
  for (int y = 0; y < height; ++y) {
    const float dy = static_cast<float>(y) - cy;
    for (int x = 0; x < width; ++x) {
      const float dx = static_cast<float>(p.flip ? width - 1 - x : x) - cx;
      const float sx = cx + (cos_s * dx + sin_s * dy);
      const float sy = cy + (cos_s * dy - sin_s * dx);
      const float fx0 = std::floor(sx), fy0 = std::floor(sy);
      const float tx = sx - fx0, ty = sy - fy0;
      auto clamp = [](int v, int hi) { return v < 0 ? 0 : (v > hi ? hi : v); };
      const int x0 = clamp(static_cast<int>(fx0), width - 1), x1 = clamp(static_cast<int>(fx0) + 1, width - 1);
      const int y0 = clamp(static_cast<int>(fy0), height - 1), y1 = clamp(static_cast<int>(fy0) + 1, height - 1);
      const std::uint8_t* row0 = src + static_cast<std::size_t>(y0) * width;
      const std::uint8_t* row1 = src + static_cast<std::size_t>(y1) * width;
      const float top = static_cast<float>(row0[x0]) + tx * (static_cast<float>(row0[x1]) - row0[x0]);
      const float bottom = static_cast<float>(row1[x0]) + tx * (static_cast<float>(row1[x1]) - row1[x0]);
      store(static_cast<std::size_t>(y) * width + x, top + ty * (bottom - top));
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
