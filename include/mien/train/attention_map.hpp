#pragma once
// Attention pictures: where the network looks. For an image, the attention-weighted activation map of the last
// residual block, M(h, w) = ReLU(sum_c s_c · A_c(h, w)) with s the dynamic-attention scores and A the block's
// output, upsampled to the image, normalised to [0, 1], coloured (blue → red) and blended over the face. It needs
// only a forward pass, so it works for any checkpoint and on any device.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "mien/data/image.hpp"
#include "mien/models/model.hpp"

namespace mien {

namespace detail {
// A perceptually ordered blue-cyan-yellow-red ramp for t in [0, 1].
inline void heat_colour(float t, std::uint8_t rgb[3]) {
  const float r = std::clamp(1.5f - std::abs(4 * t - 3), 0.0f, 1.0f);
  const float g = std::clamp(1.5f - std::abs(4 * t - 2), 0.0f, 1.0f);
  const float b = std::clamp(1.5f - std::abs(4 * t - 1), 0.0f, 1.0f);
  rgb[0] = static_cast<std::uint8_t>(255 * r);
  rgb[1] = static_cast<std::uint8_t>(255 * g);
  rgb[2] = static_cast<std::uint8_t>(255 * b);
}
}  // namespace detail

// The [h, w] map of sample n after model.forward has run on a batch. Values in [0, 1].
// The model needs a dynamic-attention layer and a convolutional feature map (Model::attention_scores, feature_map).
inline std::vector<float> attention_weighted_map(Model<float>& model, std::int64_t n, int& map_h, int& map_w) {
  check_arg(model.feature_map() != nullptr && model.attention_scores() != nullptr, "attention_weighted_map",
            "the model has no dynamic-attention layer or no feature map (or has not run forward)");
  const Tensor<float> features = model.feature_map()->to(Device::cpu);
  const Tensor<float> scores = model.attention_scores()->to(Device::cpu);
  check_arg(scores.shape().rank() == 2 && scores.shape()[1] == features.shape().c(), "attention_weighted_map",
            "the attention scores ", scores.shape(), " do not weigh the feature map's channels ", features.shape());
  const Shape& s = features.shape();
  map_h = static_cast<int>(s.h());
  map_w = static_cast<int>(s.w());
  std::vector<float> map(static_cast<std::size_t>(map_h) * map_w, 0.0f);
  for (std::int64_t c = 0; c < s.c(); ++c)
    for (int y = 0; y < map_h; ++y)
      for (int x = 0; x < map_w; ++x) map[y * map_w + x] += scores.at(n, c) * features.at(n, c, y, x);
  float hi = 0;
  for (float& v : map) hi = std::max(hi, v = std::max(v, 0.0f));
  if (hi > 0)
    for (float& v : map) v /= hi;
  return map;
}

// Writes the face (pixels: gray [height, width]) with the map blended over it as an RGB PNG, scaled up `zoom`
// times so that 48×48 faces are visible.
inline void write_attention_overlay(const std::filesystem::path& path, const std::uint8_t* pixels, int height, int width,
                                    const std::vector<float>& map, int map_h, int map_w, int zoom = 4,
                                    float opacity = 0.45f) {
  const int out_h = height * zoom, out_w = width * zoom;
  std::vector<std::uint8_t> rgb(static_cast<std::size_t>(out_h) * out_w * 3);
  auto sample_map = [&](float fy, float fx) {  // bilinear, pixel centres aligned
    fy = std::clamp(fy * map_h - 0.5f, 0.0f, float(map_h - 1));
    fx = std::clamp(fx * map_w - 0.5f, 0.0f, float(map_w - 1));
    const int y0 = static_cast<int>(fy), x0 = static_cast<int>(fx);
    const int y1 = std::min(y0 + 1, map_h - 1), x1 = std::min(x0 + 1, map_w - 1);
    const float ty = fy - y0, tx = fx - x0;
    return (1 - ty) * ((1 - tx) * map[y0 * map_w + x0] + tx * map[y0 * map_w + x1]) +
           ty * ((1 - tx) * map[y1 * map_w + x0] + tx * map[y1 * map_w + x1]);
  };
  for (int y = 0; y < out_h; ++y)
    for (int x = 0; x < out_w; ++x) {
      const float gray = pixels[(y / zoom) * width + x / zoom];
      std::uint8_t heat[3];
      detail::heat_colour(sample_map((y + 0.5f) / out_h, (x + 0.5f) / out_w), heat);
      for (int ch = 0; ch < 3; ++ch)
        rgb[(static_cast<std::size_t>(y) * out_w + x) * 3 + ch] =
            static_cast<std::uint8_t>(std::lround((1 - opacity) * gray + opacity * heat[ch]));
    }
  write_png(path, rgb.data(), out_w, out_h, 3);
}

}  // namespace mien
