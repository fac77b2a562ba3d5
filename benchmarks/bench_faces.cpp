// Faces in frames: how the cascade detector frames a FER2013 face (which sets face_crop's default margin), and
// how many 640x480 frames per second detection plus classification handle with one face in view (the real-time
// target of the video program). Prints a markdown table.
//
//   mien_bench_faces --data /path/to/fer2013 [--checkpoint X] [--frames 200] [--threads 2]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mien/data/image.hpp"
#include "mien/faces/cascade_detector.hpp"
#include "mien/faces/face_crop.hpp"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/testing/face_scenes.hpp"
#include "mien/train/checkpointing.hpp"

namespace fs = std::filesystem;
using namespace mien;

namespace {

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string data, checkpoint;
  int frames = 200, per_class = 60;
  CLI::App app{"Face framing and frames per second of detection + classification."};
  app.add_option("--data", data, "FER2013 image-folder root (its test/ faces are used)")->required();
  app.add_option("--checkpoint", checkpoint, "model to classify with (default: models/fer2013-48.ckpt)");
  app.add_option("--frames", frames, "frames to time")->check(CLI::PositiveNumber);
  app.add_option("--per-class", per_class, "FER2013 test faces per class for the framing measurement")
      ->check(CLI::PositiveNumber);
  CLI11_PARSE(app, argc, argv);
  try {
    if (checkpoint.empty()) checkpoint = std::string(MIEN_SOURCE_DIR) + "/models/fer2013-48.ckpt";
    CascadeFaceDetector detector;

    // Framing: each face at 4x (192 px) in a 640x480 scene; the ratio of the face image's side to the box's.
    std::vector<double> ratios, dx, dy;
    std::size_t seen = 0;
    GrayImage timing_scene;
    for (const fs::path& f : testing::first_faces_per_class(fs::path(data) / "test", static_cast<std::size_t>(per_class))) {
      GrayImage scene = testing::noise_scene(seen++);
      testing::paste_face(scene, resize_gray(read_image(f), 192, 192), 224, 144);
      const std::vector<FaceBox> faces = detector.detect(scene);
      if (faces.empty()) continue;
      const FaceBox& b = faces.front();
      if (timing_scene.pixels.empty()) timing_scene = scene;
      ratios.push_back(192.0 / std::max(b.width, b.height));
      dx.push_back((b.x + b.width / 2.0 - 320.0) / 192.0);
      dy.push_back((b.y + b.height / 2.0 - 240.0) / 192.0);
    }
    std::printf("## Framing: the cascade's box on FER2013 test faces (192 px in a 640x480 scene)\n\n");
    std::printf("| faces | found | side ratio p10 | median | p90 | margin per side (median) | centre offset x | y |\n");
    std::printf("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    std::printf("| %zu | %zu (%.1f%%) | %.3f | %.3f | %.3f | %.3f | %+.3f | %+.3f |\n\n", seen, ratios.size(),
                100.0 * static_cast<double>(ratios.size()) / static_cast<double>(std::max<std::size_t>(1, seen)),
                quantile(ratios, 0.1), quantile(ratios, 0.5), quantile(ratios, 0.9), (quantile(ratios, 0.5) - 1) / 2,
                quantile(dx, 0.5), quantile(dy, 0.5));

    // Frames per second: detect, crop and classify, one face in view.
    if (timing_scene.pixels.empty()) throw Error("no face was found, so there is nothing to time");
    if (!fs::exists(checkpoint)) {
      std::printf("no model at %s: frames per second not measured\n", checkpoint.c_str());
      return 0;
    }
    Context ctx(1);
    auto [model, info] = load_model(ctx, checkpoint);
    const int size = info.input_size();
    SoftmaxCrossEntropy<float> softmax;
    const Tensor<std::int32_t> label = Tensor<std::int32_t>::zeros(Shape{1});
    Tensor<float> x(Shape{1, 1, size, size});
    std::printf("## Frames per second, 640x480, one face in view (%d frames each)\n\n", frames);
    std::printf("| search size | faces per frame | detection ms/frame | classification ms/face | frames/s |\n");
    std::printf("|---|---:|---:|---:|---:|\n");
    for (const int max_side : {0, 480, 320, 240}) {
      CascadeOptions options;
      options.max_side = max_side;
      CascadeFaceDetector timed(options);
      double detect_s = 0, classify_s = 0;
      std::size_t classified = 0;
      for (int i = 0; i < frames; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::vector<FaceBox> faces = timed.detect(timing_scene);
        const auto t1 = std::chrono::steady_clock::now();
        for (const FaceBox& b : faces) {
          const GrayImage face = crop_face(timing_scene, b, size);
          fill_model_input(face, info, x);
          softmax.forward(ctx, model->forward(ctx, x, Mode::infer), label);
          ++classified;
        }
        const auto t2 = std::chrono::steady_clock::now();
        detect_s += std::chrono::duration<double>(t1 - t0).count();
        classify_s += std::chrono::duration<double>(t2 - t1).count();
      }
      std::printf("| %s | %.2f | %.2f | %.2f | %.1f |\n",
                  max_side ? ("longer side " + std::to_string(max_side)).c_str() : "full 640x480",
                  static_cast<double>(classified) / frames, 1e3 * detect_s / frames,
                  1e3 * classify_s / static_cast<double>(std::max<std::size_t>(1, classified)),
                  frames / (detect_s + classify_s));
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
