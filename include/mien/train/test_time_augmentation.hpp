#pragma once
// Test-time augmentation (TTA): the class probabilities of an image are the mean of the model's probabilities
// over several views of it. The views are the image itself, optionally its mirror image, and optionally the four
// translations by `shift_pixels` (left, right, up, down; the border row or column is repeated into the gap, as
// the training augmentation's warp does), each also mirrored when mirroring is on: up to ten views, the
// counterpart for full-image inputs of the ten-crop evaluation of Krizhevsky et al. (2012) that Khaireddin & Chen
// (arXiv:2105.03588) use on FER2013.
#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/layers/layer.hpp"

namespace mien {

struct TestTimeAugmentation {
  bool mirror = false;    // add the mirror image of every view
  int shift_pixels = 0;   // add the four translations by this many pixels; 0: none

  bool enabled() const { return mirror || shift_pixels > 0; }
  int views() const { return (shift_pixels > 0 ? 5 : 1) * (mirror ? 2 : 1); }
  // "mirror TTA", "shift-2 TTA", "mirror + shift-2 TTA" (10 views)
  std::string describe() const {
    std::string s = mirror ? "mirror" : "";
    if (shift_pixels > 0) s += (s.empty() ? "" : " + ") + std::string("shift-") + std::to_string(shift_pixels);
    return s + " TTA (" + std::to_string(views()) + " views)";
  }
};

// Mirrors every image of an [N, C, H, W] host batch left to right, in place.
inline void mirror_images(Tensor<float>& images) {
  const std::int64_t width = images.shape()[3];
  const std::int64_t rows = static_cast<std::int64_t>(images.numel()) / std::max<std::int64_t>(1, width);
  float* data = images.data();
  for (std::int64_t r = 0; r < rows; ++r) std::reverse(data + r * width, data + (r + 1) * width);
}

// Writes into `out` every image of the [N, C, H, W] host batch `images` moved by (dx, dy) pixels (positive: right
// and down); pixels moved in from outside repeat the nearest border pixel.
inline void shift_images(const Tensor<float>& images, int dx, int dy, Tensor<float>& out) {
  const std::int64_t height = images.shape()[2], width = images.shape()[3];
  const std::int64_t planes = static_cast<std::int64_t>(images.numel()) / std::max<std::int64_t>(1, height * width);
  out.resize(images.shape());
  for (std::int64_t p = 0; p < planes; ++p) {
    const float* src = images.data() + p * height * width;
    float* dst = out.data() + p * height * width;
    for (std::int64_t y = 0; y < height; ++y) {
      const float* row = src + std::clamp<std::int64_t>(y - dy, 0, height - 1) * width;
      for (std::int64_t x = 0; x < width; ++x) dst[y * width + x] = row[std::clamp<std::int64_t>(x - dx, 0, width - 1)];
    }
  }
}

// The class probabilities of any model that maps images to logits, for the host batch `images` (inference mode), averaged over the views of `tta`:
// [N * classes], row-major. `x` is a buffer for the device copy, `labels` any labels of the batch on the device
// (only the probabilities are used).
inline std::vector<float> probabilities_over_views(Context& ctx, Layer<float>& model, const Tensor<float>& images,
                                                   Tensor<float>& x, const Tensor<std::int32_t>& labels,
                                                   SoftmaxCrossEntropy<float>& softmax, const TestTimeAugmentation& tta) {
  check_arg(tta.shift_pixels >= 0 && tta.shift_pixels < images.shape()[2] && tta.shift_pixels < images.shape()[3],
            "test-time augmentation", "shift must be in [0, image side), got ", tta.shift_pixels, " pixels for ",
            images.shape()[2], "x", images.shape()[3], " images");
  std::vector<std::pair<int, int>> shifts{{0, 0}};
  if (tta.shift_pixels > 0) {
    const int s = tta.shift_pixels;
    shifts.insert(shifts.end(), {{-s, 0}, {s, 0}, {0, -s}, {0, s}});
  }
  std::vector<float> mean;
  Tensor<float> view;
  auto add_view = [&](const Tensor<float>& host) {
    x.copy_from(host);
    softmax.forward(ctx, model.forward(ctx, x, Mode::infer), labels);
    const std::vector<float> p = softmax.probs().to_vector();
    if (mean.empty()) mean.assign(p.size(), 0.0f);
    for (std::size_t i = 0; i < p.size(); ++i) mean[i] += p[i];
  };
  for (const auto& [dx, dy] : shifts) {
    if (dx == 0 && dy == 0)
      view = images;
    else
      shift_images(images, dx, dy, view);
    add_view(view);
    if (tta.mirror) {
      mirror_images(view);
      add_view(view);
    }
  }
  const float scale = 1.0f / static_cast<float>(tta.views());
  for (float& v : mean) v *= scale;
  return mean;
}

}  // namespace mien
