// predict: classifies face images with a trained checkpoint (the bundled model when none is given): the emotion and
// the probabilities of all classes, as a table or as JSON. Takes image files and folders (every image inside,
// recursively).
//
//   predict face.jpg more_faces/
//   predict --checkpoint runs/fer48/best.ckpt face.jpg
//   predict --checkpoint runs/fer48/best.ckpt --json face.jpg
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"

namespace fs = std::filesystem;

static std::vector<fs::path> collect_images(const std::vector<std::string>& inputs) {
  std::vector<fs::path> files;
  for (const std::string& in : inputs) {
    if (!fs::exists(in)) throw mien::IoError("'" + in + "' does not exist");
    if (!fs::is_directory(in)) {
      files.emplace_back(in);
      continue;
    }
    std::vector<fs::path> found;
    for (const auto& entry : fs::recursive_directory_iterator(in)) {
      std::string ext = entry.path().extension().string();
      std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
      if (entry.is_regular_file() && (ext == ".jpg" || ext == ".jpeg" || ext == ".png" || ext == ".bmp" ||
                                      ext == ".gif" || ext == ".tga" || ext == ".pgm" || ext == ".ppm"))
        found.push_back(entry.path());
    }
    std::sort(found.begin(), found.end());
    files.insert(files.end(), found.begin(), found.end());
  }
  return files;
}

int main(int argc, char** argv) {
  std::string checkpoint, device = "cpu";
  std::vector<std::string> inputs;
  bool json = false, tta = false;
  int tta_shift = 0;
  CLI::App app{"Classify the facial emotion of images with a trained mien checkpoint."};
  app.add_option("--checkpoint", checkpoint, "checkpoint written by train_fer (default: the bundled model, models/README.md)")
      ->check(CLI::ExistingFile);
  app.add_option("inputs", inputs, "image files or folders")->required();
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_flag("--json", json, "print JSON instead of a table");
  app.add_flag("--tta", tta, "average the image's and its mirror image's probabilities (test-time augmentation)");
  app.add_option("--tta-shift", tta_shift, "also average over the image moved by this many pixels left, right, up "
                 "and down (0: off)")->check(CLI::NonNegativeNumber);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? examples::ok : examples::usage_error;
  }
  return examples::run_guarded([&] {
    mien::Context ctx(0, examples::usable_device(device));
    checkpoint = examples::checkpoint_or_bundled(checkpoint);
    auto [model, info] = mien::load_model(ctx, checkpoint);
    const int size = static_cast<int>(info.config.input_size);
    const std::vector<fs::path> files = collect_images(inputs);
    const mien::TestTimeAugmentation views{tta, tta_shift};
    if (files.empty()) throw mien::InvalidArgument("no images found in the given inputs");

    nlohmann::json results = nlohmann::json::array();
    if (!json) {
      std::printf("%-40s %-10s", "image", "emotion");
      for (const auto& name : info.class_names) std::printf(" %8s", name.substr(0, 8).c_str());
      std::printf("\n");
    }
    mien::SoftmaxCrossEntropy<float> softmax;  // its probs() are the softmax of the logits
    int failures = 0;
    for (const fs::path& file : files) {
      mien::GrayImage image;
      try {
        image = mien::resize_gray(mien::read_image(file), size, size);
      } catch (const mien::Error& e) {
        std::fprintf(stderr, "skipped: %s\n", e.what());
        ++failures;
        continue;
      }
      mien::Tensor<float> host(mien::Shape{1, 1, size, size});
      for (std::size_t i = 0; i < host.numel(); ++i)
        host[i] = (image.pixels[i] / 255.0f - info.pixel_mean) / info.pixel_stddev;
      const mien::Tensor<std::int32_t> dummy_label = mien::Tensor<std::int32_t>::zeros(mien::Shape{1}, ctx.device());
      mien::Tensor<float> x(mien::Shape{0}, ctx.device());
      const std::vector<float> p = mien::probabilities_over_views(ctx, *model, host, x, dummy_label, softmax, views);
      const std::size_t best = static_cast<std::size_t>(std::max_element(p.begin(), p.end()) - p.begin());
      if (json) {
        nlohmann::json probs;
        for (std::size_t c = 0; c < p.size(); ++c) probs[info.class_names[c]] = p[c];
        results.push_back({{"image", file.string()}, {"emotion", info.class_names[best]}, {"probabilities", probs}});
      } else {
        std::printf("%-40s %-10s", file.string().c_str(), info.class_names[best].c_str());
        for (float v : p) std::printf(" %8.4f", v);
        std::printf("\n");
      }
    }
    if (json) std::printf("%s\n", results.dump(2).c_str());
    return failures ? static_cast<int>(examples::run_error) : static_cast<int>(examples::ok);
  });
}
