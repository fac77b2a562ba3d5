#pragma once
// Faces in a photo: a box per face, and the interface a face detector implements, so that the cascade detector
// (faces/cascade_detector.hpp, needs OpenCV) can be replaced by a better one without touching predict or video.
#include <algorithm>
#include <vector>

#include "mien/data/image.hpp"

namespace mien {

struct FaceBox {
  int x = 0, y = 0;           // top-left corner, pixels
  int width = 0, height = 0;
  double score = 1;           // the detector's confidence, where it gives one

  long long area() const { return static_cast<long long>(std::max(0, width)) * std::max(0, height); }
};

// Intersection over union of two boxes: 1 for the same box, 0 for boxes that do not touch.
inline double box_iou(const FaceBox& a, const FaceBox& b) {
  const int x0 = std::max(a.x, b.x), y0 = std::max(a.y, b.y);
  const int x1 = std::min(a.x + a.width, b.x + b.width), y1 = std::min(a.y + a.height, b.y + b.height);
  const long long inter = static_cast<long long>(std::max(0, x1 - x0)) * std::max(0, y1 - y0);
  const long long uni = a.area() + b.area() - inter;
  return uni > 0 ? static_cast<double>(inter) / static_cast<double>(uni) : 0.0;
}

class FaceDetector {
 public:
  virtual ~FaceDetector() = default;
  // The faces in a grayscale image, largest first.
  virtual std::vector<FaceBox> detect(const GrayImage& image) = 0;
};

}  // namespace mien
