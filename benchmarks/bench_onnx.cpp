// Deployment speed: the paper network's inference on the CPU in mien beside OpenCV DNN running mien's ONNX export
// of the same model, with the same thread count, at batch 1 (latency) and batch 32 (throughput), at 48×48 and
// 128×128. The two runtimes take turns, run after run, and the medians are compared as ratios, so the ratios hold
// on a shared, noisy machine. Both runtimes output probabilities (mien's logits go through its softmax).
//
// --out-dir DIR also writes, per size, the .onnx file, a seeded input batch and mien's probabilities and times
// (manifest.json), for benchmarks/reference/bench_onnx_runtime.py to time ONNX Runtime and check its answers.
//
//   mien_bench_onnx [--threads N] [--reps R] [--sizes 48,128] [--out-dir DIR]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <omp.h>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>

#include "mien/mien.hpp"
#include "seeded_input.hpp"
#include "mien/data/classes.hpp"
#include "mien/onnx/onnx_export.hpp"

using namespace mien;
using Clock = std::chrono::steady_clock;

namespace {

double seconds(const std::function<void()>& run) {
  const auto start = Clock::now();
  run();
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Batch-norm running statistics away from (0, 1), so that the comparison sees them.
void randomise_buffers(Model<float>& model) {
  std::uint64_t seed = 11;
  for (auto& b : model.buffers()) {
    Tensor<float>& t = *b.value;
    const RandomStream s{seed++, 1, 0};
    const bool variance = b.name.find("var") != std::string::npos;
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = variance ? 0.5f + s.uniform(i) : 0.2f * (s.uniform(i) - 0.5f);
  }
}

void write_floats(const std::filesystem::path& path, const Tensor<float>& t) {
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(t.data()), static_cast<std::streamsize>(t.numel() * sizeof(float)));
  if (!out) throw IoError("cannot write '" + path.string() + "'");
}

struct Timing {
  double mien_ms, opencv_ms;
};

}  // namespace

int main(int argc, char** argv) {
  int threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  int reps = 15;
  std::vector<int> sizes{48, 128};
  std::string out_dir;
  CLI::App app{"mien CPU inference beside OpenCV DNN on mien's ONNX export of the paper network."};
  app.add_option("--threads", threads, "threads for both runtimes (default: every core)")->check(CLI::PositiveNumber);
  app.add_option("--reps", reps, "timed runs of each runtime per case (batch 32 at 128x128 runs a third as many)")
      ->check(CLI::PositiveNumber);
  app.add_option("--sizes", sizes, "input sides")->delimiter(',');
  app.add_option("--out-dir", out_dir, "write the ONNX files, inputs, mien's probabilities and times here");
  CLI11_PARSE(app, argc, argv);

  omp_set_num_threads(threads);
  cv::setNumThreads(threads);
  std::printf("mien vs OpenCV DNN %s, CPU inference, %d threads, median of %d alternating runs\n\n", CV_VERSION,
              threads, reps);
  std::printf("| input | batch | mien ms | OpenCV DNN ms | mien speed ÷ OpenCV's | max |Δp| |\n");
  std::printf("|---|---|---|---|---|---|\n");
  nlohmann::json manifest = nlohmann::json::array();
  if (!out_dir.empty()) std::filesystem::create_directories(out_dir);

  for (int size : sizes) {
    Context ctx(3);
    PaperNetConfig config;
    config.input_size = size;
    PaperNet<float> model(ctx, config);
    randomise_buffers(model);
    ModelInfo info;
    info.architecture = model.architecture();
    info.class_names = emotion_class_names();
    const ::onnx::ModelProto proto = to_onnx(model, info);
    std::string bytes;
    proto.SerializeToString(&bytes);
    cv::dnn::Net cv_net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
    cv_net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
    cv_net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);

    nlohmann::json entry = {{"size", size}, {"threads", threads}};
    for (int batch : {1, 32}) {
      const Tensor<float> x = bench::seeded_uniform(model.input_shape(batch), 100 + size + batch);
      const std::vector<int> dims{batch, 1, size, size};
      cv::Mat blob(dims, CV_32F, const_cast<float*>(x.data()));
      Tensor<float> probabilities;
      cv::Mat theirs;
      auto run_mien = [&] { ops::softmax_forward(ctx, model.forward(ctx, x, Mode::infer), probabilities); };
      auto run_opencv = [&] {
        cv_net.setInput(blob);
        theirs = cv_net.forward();
      };
      run_mien();  // warm-up: buffers, OpenCV's layer set-up
      run_opencv();
      float worst = 0;
      for (std::size_t i = 0; i < probabilities.numel(); ++i)
        worst = std::max(worst, std::abs(probabilities[i] - theirs.ptr<float>()[i]));
      const int runs = (size > 64 && batch > 1) ? std::max(3, reps / 3) : reps;
      std::vector<double> mine, opencv;
      for (int r = 0; r < runs; ++r) {
        mine.push_back(seconds(run_mien));
        opencv.push_back(seconds(run_opencv));
      }
      const Timing t{median(mine) * 1e3, median(opencv) * 1e3};
      std::printf("| %dx%d | %d | %.2f | %.2f | %.2f× | %.1e |\n", size, size, batch, t.mien_ms, t.opencv_ms,
                  t.opencv_ms / t.mien_ms, worst);
      std::fflush(stdout);
      const std::string key = "batch" + std::to_string(batch);
      entry[key] = {{"mien_ms", t.mien_ms}, {"opencv_ms", t.opencv_ms}, {"opencv_max_difference", worst}};
      if (!out_dir.empty()) {
        const std::string stem = "paper" + std::to_string(size) + "_b" + std::to_string(batch);
        write_floats(std::filesystem::path(out_dir) / (stem + ".input.f32"), x);
        write_floats(std::filesystem::path(out_dir) / (stem + ".mien.f32"), probabilities);
        entry[key]["input"] = stem + ".input.f32";
        entry[key]["mien_probabilities"] = stem + ".mien.f32";
      }
    }
    if (!out_dir.empty()) {
      const std::string file = "paper" + std::to_string(size) + ".onnx";
      std::ofstream(std::filesystem::path(out_dir) / file, std::ios::binary) << bytes;
      entry["onnx"] = file;
    }
    manifest.push_back(entry);
  }
  if (!out_dir.empty()) {
    std::ofstream(std::filesystem::path(out_dir) / "manifest.json") << manifest.dump(2) << "\n";
    std::printf("\nwrote the models, inputs and mien's answers to %s (manifest.json)\n", out_dir.c_str());
  }
  return 0;
}
