#pragma once
// The default face detector: OpenCV's boosted Haar cascade (Viola & Jones, CVPR 2001) with the frontal-face model
// that Debian ships in opencv-data. Needs OpenCV (objdetect, imgproc); the rest of mien does not.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

#include "mien/core/error.hpp"
#include "mien/faces/face_detector.hpp"

namespace mien {

struct CascadeOptions {
  std::string model;         // the cascade's XML file; empty: find_frontal_face_cascade()
  double scale_step = 1.1;   // image pyramid step
  int min_neighbors = 5;     // overlapping detections needed to keep a face (fewer: more faces, more false ones)
  int min_face = 24;         // smallest face side in pixels (of the image given)
  int max_side = 0;          // search a copy shrunk to this longer side, for speed (video); 0: full size
};

// The frontal-face cascade of the installed OpenCV data, or "" when none is installed.
inline std::string find_frontal_face_cascade() {
  for (const char* dir : {"/usr/share/opencv4/haarcascades", "/usr/share/opencv/haarcascades",
                          "/usr/local/share/opencv4/haarcascades"}) {
    const std::filesystem::path p = std::filesystem::path(dir) / "haarcascade_frontalface_default.xml";
    std::error_code ec;
    if (std::filesystem::is_regular_file(p, ec)) return p.string();
  }
  return "";
}

class CascadeFaceDetector : public FaceDetector {
 public:
  explicit CascadeFaceDetector(CascadeOptions options = {}) : options_(std::move(options)) {
    if (options_.model.empty()) options_.model = find_frontal_face_cascade();
    if (options_.model.empty())
      throw IoError("no face-detection model found: install Debian's opencv-data (haarcascade_frontalface_default.xml)"
                    " or give the cascade's path");
    check_arg(options_.scale_step > 1.0, "CascadeFaceDetector", "scale_step must be above 1, got ", options_.scale_step);
    check_arg(options_.min_neighbors >= 0 && options_.min_face > 0 && options_.max_side >= 0, "CascadeFaceDetector",
              "min_neighbors must be >= 0, min_face > 0 and max_side >= 0");
    bool loaded = false;
    try {
      loaded = cascade_.load(options_.model);
    } catch (const cv::Exception& e) {
      throw IoError("cannot load the face-detection model '" + options_.model + "': " + e.what());
    }
    if (!loaded || cascade_.empty())
      throw IoError("cannot load the face-detection model '" + options_.model + "' (not an OpenCV cascade)");
  }

  std::vector<FaceBox> detect(const GrayImage& image) override {
    check_arg(image.width > 0 && image.height > 0, "CascadeFaceDetector::detect", "the image is empty");
    const cv::Mat view(image.height, image.width, CV_8UC1, const_cast<std::uint8_t*>(image.pixels.data()));
    // The cascade's work grows with the pixels searched; a shrunk copy finds the same faces larger than its
    // 24-pixel window at a fraction of the cost.
    const int longer = std::max(image.width, image.height);
    const double scale = options_.max_side > 0 && longer > options_.max_side
                             ? static_cast<double>(options_.max_side) / longer : 1.0;
    cv::Mat searched;
    if (scale < 1.0)
      cv::resize(view, searched, cv::Size(), scale, scale, cv::INTER_AREA);
    else
      searched = view;
    cv::Mat equalized;
    cv::equalizeHist(searched, equalized);  // the cascade was trained on contrast-normalised windows
    std::vector<cv::Rect> rects;
    std::vector<int> neighbours;
    const int min_face = std::max(1, static_cast<int>(std::lround(options_.min_face * scale)));
    cascade_.detectMultiScale(equalized, rects, neighbours, options_.scale_step, options_.min_neighbors, 0,
                              cv::Size(min_face, min_face));
    std::vector<FaceBox> faces;
    auto back = [scale](int v) { return static_cast<int>(std::lround(v / scale)); };
    for (std::size_t i = 0; i < rects.size(); ++i)
      faces.push_back({back(rects[i].x), back(rects[i].y), back(rects[i].width), back(rects[i].height),
                       i < neighbours.size() ? static_cast<double>(neighbours[i]) : 1.0});
    std::sort(faces.begin(), faces.end(), [](const FaceBox& a, const FaceBox& b) { return a.area() > b.area(); });
    return faces;
  }

  const CascadeOptions& options() const { return options_; }

 private:
  CascadeOptions options_;
  cv::CascadeClassifier cascade_;
};

}  // namespace mien
