// video: the emotions of the faces in a video file or a camera, frame by frame. Each face is followed across
// frames and its probabilities smoothed over time (include/mien/faces/video.hpp); the program writes the video
// with boxes and emotions drawn (annotated.avi, Motion-JPEG) and a timeline with one row per face and frame
// (timeline.csv, or timeline.json with --json), and reports the frames per second it reached.
//
//   video clip.mp4 --out runs/clip
//   video 0 --out runs/camera --max-frames 300       # the first camera, 300 frames
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

#ifdef _OPENMP
#include <omp.h>
#endif

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/core/utils/logger.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/videoio.hpp>

#include "common.hpp"
#include "mien/faces/cascade_detector.hpp"
#include "mien/faces/video.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<std::string> checkpoints;
  std::string input, out, cascade;
  bool json = false, write_video = true, progress = true;
  mien::VideoRunOptions run;
  mien::CascadeOptions detector_options;
  detector_options.max_side = 240;
  CLI::App app{"Recognise the emotions of the faces in a video or a camera's frames."};
  app.add_option("input", input, "video file, or a camera index (0: the first camera)")->required();
  app.add_option("--out", out, "folder for annotated.avi and the timeline")->required();
  examples::add_checkpoint_option(app, checkpoints);
  app.add_option("--cascade", cascade, "face detector model (OpenCV cascade XML; default: opencv-data's frontal face)")
      ->check(CLI::ExistingFile);
  app.add_option("--search-size", detector_options.max_side, "search for faces in a copy of each frame shrunk to "
                 "this longer side, for speed (0: full size; faces smaller than 24 pixels there are missed)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--max-frames", run.max_frames, "stop after this many frames (0: the whole video)")
      ->check(CLI::NonNegativeNumber);
  app.add_option("--smoothing", run.tracking.smoothing, "weight of the past in each face's moving average (0: none)")
      ->check(CLI::Range(0.0, 0.99))->capture_default_str();
  app.add_option("--margin", run.crop.margin, "widen each detected box by this fraction of its side on every side")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_flag("--json", json, "write timeline.json instead of timeline.csv");
  app.add_flag("--video,!--no-video", write_video, "write annotated.avi")->capture_default_str();
  app.add_flag("--progress,!--no-progress", progress, "progress bar (files whose frame count is known)")
      ->capture_default_str();
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  // OpenCV's own log lines (each video back end it tries on a damaged file) would bury the one error that matters.
  cv::utils::logging::setLogLevel(cv::utils::logging::LOG_LEVEL_SILENT);
#ifdef _OPENMP
  // One face at a time: a batch of one runs faster on one thread (3.4 ms against 10.2 ms on two, mien_bench_faces
  // on the 2-core VM), and leaves the other core to OpenCV's detector.
  omp_set_num_threads(1);
#endif
  return examples::run_guarded([&] {
    mien::Context ctx(0);  // the CPU: the program is built by the C++ compiler, beside OpenCV
    auto [model, info, checkpoint] = examples::load_models(ctx, checkpoints);
    const int size = info.input_size();
    detector_options.model = cascade;
    mien::CascadeFaceDetector detector(detector_options);
    cv::VideoCapture capture = mien::open_video(input);
    fs::create_directories(out);

    mien::SoftmaxCrossEntropy<float> softmax;
    const mien::Tensor<std::int32_t> label = mien::Tensor<std::int32_t>::zeros(mien::Shape{1}, ctx.device());
    mien::Tensor<float> host(mien::Shape{1, 1, size, size}), x(mien::Shape{0}, ctx.device());
    auto classify = [&](const mien::GrayImage& face) {
      mien::fill_model_input(face, info, host);
      x.copy_from(host);
      softmax.forward(ctx, model->forward(ctx, x, mien::Mode::infer), label);
      return softmax.probs().to_vector();
    };

    const double total = capture.get(cv::CAP_PROP_FRAME_COUNT);
    const double fps = capture.get(cv::CAP_PROP_FPS);
    cv::VideoWriter writer;
    std::ofstream csv;
    nlohmann::json timeline = nlohmann::json::array();
    if (!json) {
      csv.open(fs::path(out) / "timeline.csv");
      csv << "frame,time_s,track,x,y,width,height,emotion";
      for (const auto& name : info.class_names) csv << ',' << name;
      csv << '\n';
    }
    const bool bar = progress && total > 0 && isatty(2);
    auto on_frame = [&](std::int64_t index, cv::Mat& frame, const std::vector<mien::VideoFace>& faces) {
      const double t = fps > 0 ? static_cast<double>(index) / fps : 0;
      for (const mien::VideoFace& f : faces) {
        const std::string& emotion = info.class_names[f.emotion];
        if (json) {
          nlohmann::json probs;
          for (std::size_t c = 0; c < f.probabilities.size(); ++c) probs[info.class_names[c]] = f.probabilities[c];
          timeline.push_back({{"frame", index}, {"time_s", t}, {"track", f.track},
                              {"box", {{"x", f.box.x}, {"y", f.box.y}, {"width", f.box.width}, {"height", f.box.height}}},
                              {"emotion", emotion}, {"probabilities", probs}});
        } else {
          csv << index << ',' << t << ',' << f.track << ',' << f.box.x << ',' << f.box.y << ',' << f.box.width << ','
              << f.box.height << ',' << emotion;
          for (float p : f.probabilities) csv << ',' << p;
          csv << '\n';
        }
        if (write_video) {
          const cv::Scalar colour(40, 220, 40);
          cv::rectangle(frame, cv::Rect(f.box.x, f.box.y, f.box.width, f.box.height), colour, 2);
          char label_text[64];
          std::snprintf(label_text, sizeof label_text, "#%d %s %.0f%%", f.track, emotion.c_str(),
                        100.0 * f.probabilities[f.emotion]);
          cv::putText(frame, label_text, cv::Point(f.box.x, std::max(12, f.box.y - 6)), cv::FONT_HERSHEY_SIMPLEX, 0.5,
                      colour, 1);
        }
      }
      if (write_video) {
        if (!writer.isOpened()) {
          const fs::path path = fs::path(out) / "annotated.avi";
          writer.open(path.string(), cv::VideoWriter::fourcc('M', 'J', 'P', 'G'), fps > 0 ? fps : 25.0, frame.size());
          if (!writer.isOpened()) throw mien::IoError("cannot write '" + path.string() + "'");
        }
        writer.write(frame);
      }
      if (bar) {
        std::fprintf(stderr, "\rframe %lld/%.0f", static_cast<long long>(index + 1), total);
        std::fflush(stderr);
      }
    };
    const mien::VideoSummary summary = mien::recognise_video(capture, detector, size, classify, on_frame, run, input);
    if (bar) std::fprintf(stderr, "\n");
    if (json) std::ofstream(fs::path(out) / "timeline.json") << timeline.dump(2) << '\n';
    std::printf("%s: %lld frames of %dx%d, %d faces followed, %.1f frames/s processed (the video's own rate: %.1f)\n",
                input.c_str(), static_cast<long long>(summary.frames), summary.width, summary.height, summary.tracks,
                summary.frames_per_second(), summary.source_fps);
    std::printf("wrote %s%s\n", (fs::path(out) / (json ? "timeline.json" : "timeline.csv")).c_str(),
                write_video ? (" and " + (fs::path(out) / "annotated.avi").string()).c_str() : "");
    return static_cast<int>(examples::ok);
  });
}
