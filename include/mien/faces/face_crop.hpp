#pragma once
// Cuts a detected face out of a photo the way FER2013 frames its faces, so that the model sees what it was
// trained on: a square centred on the detector's box, `margin` of the box's side wider on every side, with pixels
// outside the photo repeating its border, resized to the model's input.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/image.hpp"
#include "mien/faces/face_detector.hpp"

namespace mien {

struct FaceCropOptions {
  // 0 because the cascade already frames a face as FER2013 does: on FER2013 test faces placed in scenes, the
  // median ratio of the face image's side to the detected box's side is 1.00 (mien_bench_faces, docs/faces.md).
  // Another detector may frame tighter and need a margin.
  double margin = 0.0;
};

// The square region of the photo that crop_face takes for `box`.
inline FaceBox face_crop_region(const FaceBox& box, const FaceCropOptions& options = {}) {
  const double side = std::max(box.width, box.height) * (1.0 + 2.0 * options.margin);
  const double cx = box.x + box.width / 2.0, cy = box.y + box.height / 2.0;
  FaceBox region;
  region.width = region.height = std::max(1, static_cast<int>(std::lround(side)));
  region.x = static_cast<int>(std::lround(cx - side / 2.0));
  region.y = static_cast<int>(std::lround(cy - side / 2.0));
  return region;
}

// The face in `box` as a size x size grayscale image.
inline GrayImage crop_face(const GrayImage& image, const FaceBox& box, int size, const FaceCropOptions& options = {}) {
  check_arg(image.width > 0 && image.height > 0, "crop_face", "the image is empty");
  check_arg(box.width > 0 && box.height > 0, "crop_face", "the box must have a positive size, got ", box.width, "x",
            box.height);
  check_arg(size > 0, "crop_face", "size must be positive, got ", size);
  check_arg(options.margin > -0.5, "crop_face", "margin must be above -0.5, got ", options.margin);
  const FaceBox r = face_crop_region(box, options);
  GrayImage square;
  square.width = square.height = r.width;
  square.pixels.resize(static_cast<std::size_t>(r.width) * r.width);
  for (int y = 0; y < r.height; ++y) {
    const int sy = std::clamp(r.y + y, 0, image.height - 1);
    for (int x = 0; x < r.width; ++x)
      square.pixels[static_cast<std::size_t>(y) * r.width + x] = image.at(std::clamp(r.x + x, 0, image.width - 1), sy);
  }
  return resize_gray(square, size, size);
}

}  // namespace mien
