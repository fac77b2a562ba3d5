#pragma once
// Emotions through a video: every frame's faces detected, cropped and classified, followed across frames
// (faces/face_tracker.hpp) with their probabilities smoothed over time. The caller gets each frame (in colour) and
// its faces, to draw, write or log them. Needs OpenCV (videoio, imgproc).
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "mien/core/error.hpp"
#include "mien/faces/face_crop.hpp"
#include "mien/faces/face_detector.hpp"
#include "mien/faces/face_tracker.hpp"

namespace mien {

struct VideoFace {
  int track = 0;                     // stable across frames
  FaceBox box;
  std::vector<float> probabilities;  // smoothed over the track's frames
  std::size_t emotion = 0;           // the most probable class
};

struct VideoRunOptions {
  TrackerOptions tracking;
  FaceCropOptions crop;
  std::int64_t max_frames = 0;  // 0: to the end (a camera: until stopped)
};

struct VideoSummary {
  std::int64_t frames = 0;
  double seconds = 0;           // processing time
  double source_fps = 0;        // the video's own frame rate (0 when it does not say)
  int width = 0, height = 0;
  int tracks = 0;               // faces followed over the whole video

  double frames_per_second() const { return seconds > 0 ? static_cast<double>(frames) / seconds : 0; }
};

// Opens a video file, or a camera when `input` is a number ("0": the first camera). A file OpenCV cannot open is
// an IoError that says so.
inline cv::VideoCapture open_video(const std::string& input) {
  cv::VideoCapture capture;
  const bool camera = !input.empty() && std::all_of(input.begin(), input.end(), [](unsigned char c) { return std::isdigit(c); });
  if (camera) {
    if (!capture.open(std::stoi(input))) throw IoError("cannot open camera " + input);
    return capture;
  }
  std::error_code ec;
  if (!std::filesystem::is_regular_file(input, ec)) throw IoError("video '" + input + "' does not exist");
  try {
    capture.open(input);
  } catch (const cv::Exception& e) {
    throw IoError("cannot open video '" + input + "': " + e.what());
  }
  if (!capture.isOpened())
    throw IoError("cannot open video '" + input + "': damaged, or in a format this OpenCV cannot decode");
  return capture;
}

// Runs detection, classification and tracking over every frame. `classify` maps a model-size face crop to class
// probabilities; `on_frame` gets the frame's index, the frame (BGR) and its faces. A video from which no frame can
// be decoded is an IoError.
inline VideoSummary recognise_video(cv::VideoCapture& capture, FaceDetector& detector, int face_size,
                                    const std::function<std::vector<float>(const GrayImage&)>& classify,
                                    const std::function<void(std::int64_t, cv::Mat&, const std::vector<VideoFace>&)>& on_frame,
                                    const VideoRunOptions& options = {}, const std::string& name = "video") {
  VideoSummary summary;
  summary.source_fps = capture.get(cv::CAP_PROP_FPS);
  FaceTracker tracker(options.tracking);
  int last_track = 0;
  cv::Mat frame, gray;
  GrayImage image;
  const auto start = std::chrono::steady_clock::now();
  while (options.max_frames <= 0 || summary.frames < options.max_frames) {
    bool got = false;
    try {
      got = capture.read(frame);
    } catch (const cv::Exception& e) {
      throw IoError(name + ": cannot decode frame " + std::to_string(summary.frames + 1) + ": " + e.what());
    }
    if (!got || frame.empty()) break;
    if (frame.channels() == 1)
      gray = frame;
    else
      cv::cvtColor(frame, gray, frame.channels() == 4 ? cv::COLOR_BGRA2GRAY : cv::COLOR_BGR2GRAY);
    image.width = gray.cols;
    image.height = gray.rows;
    image.pixels.resize(static_cast<std::size_t>(gray.cols) * gray.rows);
    for (int y = 0; y < gray.rows; ++y) std::copy_n(gray.ptr<std::uint8_t>(y), gray.cols, image.pixels.data() + y * gray.cols);
    summary.width = image.width;
    summary.height = image.height;

    const std::vector<FaceBox> boxes = detector.detect(image);
    std::vector<std::vector<float>> probs;
    for (const FaceBox& b : boxes) probs.push_back(classify(crop_face(image, b, face_size, options.crop)));
    const std::vector<std::size_t> track_of = tracker.update(boxes, probs);
    std::vector<VideoFace> faces;
    for (std::size_t d = 0; d < boxes.size(); ++d) {
      const FaceTrack& t = tracker.tracks()[track_of[d]];
      VideoFace f;
      f.track = t.id;
      f.box = boxes[d];
      f.probabilities = t.probabilities;
      f.emotion = static_cast<std::size_t>(std::max_element(f.probabilities.begin(), f.probabilities.end()) -
                                           f.probabilities.begin());
      last_track = std::max(last_track, t.id);
      faces.push_back(std::move(f));
    }
    on_frame(summary.frames, frame, faces);
    ++summary.frames;
  }
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  summary.tracks = last_track;
  if (summary.frames == 0) throw IoError(name + ": no frame could be decoded (damaged, empty or not a video)");
  return summary;
}

}  // namespace mien
