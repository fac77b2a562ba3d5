// mien_onnx_agree: imports an ONNX file into mien, runs it on a raw float32 input batch [N, C, H, W] and compares
// its probabilities with those another runtime gave for the same batch (raw float32 [N, classes]): prints the
// largest difference and exits 1 when it is above --tol. torch_onnx_twin.py writes such files for PyTorch.
//
//   mien_onnx_agree --model twin48_per_channel.onnx --input twin48_per_channel.input.f32
//                   --expect twin48_per_channel.torch.f32 [--tol 1e-4]         (one command line)
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "mien/mien.hpp"
#include "mien/onnx/onnx_import.hpp"

namespace {

std::vector<float> read_floats(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw mien::IoError("cannot open '" + path + "'");
  const std::streamsize bytes = in.tellg();
  if (bytes % 4 != 0) throw mien::IoError("'" + path + "' is not a whole number of float32 values");
  std::vector<float> values(static_cast<std::size_t>(bytes / 4));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(values.data()), bytes);
  if (!in) throw mien::IoError("cannot read '" + path + "'");
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_path, input_path, expect_path;
  double tol = 1e-4;
  CLI::App app{"Import an ONNX model into mien and compare its probabilities with another runtime's."};
  app.add_option("--model", model_path, "the .onnx file")->required()->check(CLI::ExistingFile);
  app.add_option("--input", input_path, "float32 input batch [N, C, H, W]")->required()->check(CLI::ExistingFile);
  app.add_option("--expect", expect_path, "the other runtime's float32 probabilities [N, classes]")
      ->required()->check(CLI::ExistingFile);
  app.add_option("--tol", tol, "largest accepted difference");
  CLI11_PARSE(app, argc, argv);
  try {
    mien::Context ctx(0);
    auto [model, info] = mien::load_onnx_model(ctx, model_path);
    const mien::Shape one = model->input_shape(1);
    const std::vector<float> x = read_floats(input_path), expected = read_floats(expect_path);
    const std::int64_t per_image = one.c() * one.h() * one.w();
    if (x.empty() || static_cast<std::int64_t>(x.size()) % per_image != 0)
      throw mien::InvalidArgument("the input holds " + std::to_string(x.size()) + " values, not a whole batch of " +
                                  one.str() + " images");
    const std::int64_t n = static_cast<std::int64_t>(x.size()) / per_image;
    mien::Tensor<float> probabilities;
    mien::ops::softmax_forward(ctx, model->forward(ctx, mien::Tensor<float>::from_vector(model->input_shape(n), x),
                                                   mien::Mode::infer), probabilities);
    if (static_cast<std::size_t>(probabilities.numel()) != expected.size())
      throw mien::InvalidArgument("mien gives " + std::to_string(probabilities.numel()) + " probabilities, the file " +
                                  std::to_string(expected.size()));
    double worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
      worst = std::max(worst, static_cast<double>(std::abs(probabilities[i] - expected[i])));
    std::printf("%s: %lld images, %zu layers imported (%s), max |mien - expected| = %.2e (tol %.0e): %s\n",
                model_path.c_str(), static_cast<long long>(n), model->architecture().at("layers").size(),
                model->type().c_str(), worst, tol, worst <= tol ? "agree" : "DISAGREE");
    return worst <= tol ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mien_onnx_agree: %s\n", e.what());
    return 2;
  }
}
