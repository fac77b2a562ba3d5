// Video end to end (faces/video.hpp): a short video made here from FER2013 faces moving through a scene, and
// opencv-doc's Megamind.avi where installed, run with the right frame count, the face followed as one track; a
// damaged file is a clear error.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "mien/data/image.hpp"
#include "mien/faces/cascade_detector.hpp"
#include "mien/faces/video.hpp"
#include "mien/testing/face_scenes.hpp"
#include "../support/fer2013.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;
namespace fs = std::filesystem;

namespace {

// A stand-in classifier: the crop's mean brightness as a two-class "probability".
std::vector<float> brightness(const GrayImage& face) {
  double sum = 0;
  for (std::uint8_t v : face.pixels) sum += v;
  const float p = static_cast<float>(sum / (255.0 * static_cast<double>(face.pixels.size())));
  return {p, 1 - p};
}

}  // namespace

TEST_CASE("A video made of a FER2013 face moving through a scene runs end to end", "[faces][video]") {
  std::string why;
  const auto root = testing::fer2013_root(&why);
  if (!root) {
    WARN("skipped: " << why);
    return;
  }
  // A face the cascade finds (the first happy test face it finds at 4x), drifting right over 24 frames.
  CascadeFaceDetector detector;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(*root / "test" / "happy")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  GrayImage face;
  for (const fs::path& f : files) {
    GrayImage candidate = resize_gray(read_image(f), 192, 192);
    GrayImage padded;
    padded.width = padded.height = 320;
    padded.pixels.assign(320 * 320, 128);
    testing::paste_face(padded, candidate, 64, 64);
    if (!detector.detect(padded).empty()) {
      face = candidate;
      break;
    }
  }
  REQUIRE(face.width == 192);

  testing::TempDir dir("mien-video");
  const fs::path path = dir.path() / "moving.avi";
  constexpr int frames = 24;
  {
    cv::VideoWriter writer(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), 12.0, cv::Size(640, 480));
    REQUIRE(writer.isOpened());
    for (int i = 0; i < frames; ++i) {
      cv::Mat frame(480, 640, CV_8UC3, cv::Scalar(128, 128, 128));
      const int x0 = 40 + 12 * i, y0 = 140;
      for (int y = 0; y < 192; ++y)
        for (int x = 0; x < 192; ++x) {
          const std::uint8_t v = face.at(x, y);
          frame.at<cv::Vec3b>(y0 + y, x0 + x) = cv::Vec3b(v, v, v);
        }
      writer.write(frame);
    }
  }

  cv::VideoCapture capture = open_video(path.string());
  std::int64_t seen = 0, with_face = 0;
  std::vector<int> tracks;
  const VideoSummary summary = recognise_video(
      capture, detector, 48, brightness,
      [&](std::int64_t index, cv::Mat& frame, const std::vector<VideoFace>& faces) {
        CHECK(index == seen);
        CHECK(frame.cols == 640);
        ++seen;
        with_face += !faces.empty();
        for (const VideoFace& f : faces) tracks.push_back(f.track);
      });
  CHECK(summary.frames == frames);
  CHECK(seen == frames);
  CHECK(summary.width == 640);
  CHECK(summary.height == 480);
  CHECK(summary.source_fps == Approx(12.0));
  CHECK(with_face >= frames * 3 / 4);
  // The drifting face is one track (a stray detection may add one more).
  REQUIRE(!tracks.empty());
  const auto first = std::count(tracks.begin(), tracks.end(), tracks.front());
  CHECK(first >= static_cast<long>(tracks.size()) * 3 / 4);
  CHECK(summary.tracks <= 2);

  // max_frames stops early.
  cv::VideoCapture again = open_video(path.string());
  VideoRunOptions some;
  some.max_frames = 5;
  CHECK(recognise_video(again, detector, 48, brightness, [](std::int64_t, cv::Mat&, const std::vector<VideoFace>&) {},
                        some)
            .frames == 5);
}

TEST_CASE("A damaged or missing video is a clear error", "[faces][video]") {
  testing::TempDir dir("mien-video");
  const fs::path garbage = dir.path() / "broken.avi";
  { std::ofstream(garbage) << "RIFF....AVI this is not a video at all"; }
  CascadeFaceDetector detector;
  auto run = [&](const fs::path& p) {
    cv::VideoCapture capture = open_video(p.string());
    return recognise_video(capture, detector, 48, brightness,
                           [](std::int64_t, cv::Mat&, const std::vector<VideoFace>&) {}, {}, p.string());
  };
  CHECK_THROWS_AS(run(garbage), IoError);
  CHECK_THROWS_WITH(run(dir.path() / "missing.avi"), Catch::Contains("does not exist"));
}

TEST_CASE("opencv-doc's Megamind.avi runs with its frame count", "[faces][video]") {
  const fs::path clip = "/usr/share/doc/opencv-doc/examples/data/Megamind.avi";
  if (!fs::exists(clip)) {
    WARN("skipped: " << clip.string() << " is absent (Debian's opencv-doc)");
    return;
  }
  cv::VideoCapture probe(clip.string());
  const auto expected = static_cast<std::int64_t>(probe.get(cv::CAP_PROP_FRAME_COUNT));
  REQUIRE(expected > 0);
  CascadeFaceDetector detector;
  cv::VideoCapture capture = open_video(clip.string());
  std::int64_t with_face = 0;
  const VideoSummary summary = recognise_video(
      capture, detector, 48, brightness,
      [&](std::int64_t, cv::Mat&, const std::vector<VideoFace>& faces) { with_face += !faces.empty(); });
  CHECK(summary.frames == expected);
  CHECK(with_face > 0);
}
