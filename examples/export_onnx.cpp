// export_onnx: writes a mien model (a checkpoint of any network, or the bundled model when none is given) as an ONNX
// inference graph for OpenCV DNN, ONNX Runtime, TensorRT and other runtimes: input "input" [N, 1, S, S] (pixels as
// the model was trained: (pixel / 255 - mean) / stddev, both stored in the file's metadata), output
// "probabilities" [N, classes]. docs/onnx.md says what maps to what and how to run the file elsewhere.
//
//   export_onnx --checkpoint runs/fer48/best.ckpt --out fer48.onnx
//   export_onnx --out models/fer2013-48.onnx                         # the bundled model
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include <mien/onnx/onnx_export.hpp>

#include "common.hpp"

int main(int argc, char** argv) {
  std::string checkpoint, out;
  CLI::App app{"Export a mien model to ONNX."};
  app.add_option("--checkpoint", checkpoint, "checkpoint written by train_fer or custom_model (default: the bundled model)")
      ->check(CLI::ExistingFile);
  app.add_option("--out", out, "the .onnx file to write")->required();
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  return examples::run_guarded([&] {
    mien::Context ctx(0);
    checkpoint = examples::checkpoint_or_bundled(checkpoint);
    auto [model, info] = mien::load_model(ctx, checkpoint);
    mien::save_onnx(out, *model, info);
    const mien::Shape in = model->input_shape(1);
    std::printf("wrote %s: %s, input [N, %lld, %lld, %lld], %lld parameters, classes", out.c_str(), model->type().c_str(),
                static_cast<long long>(in.c()), static_cast<long long>(in.h()), static_cast<long long>(in.w()),
                static_cast<long long>(model->param_count()));
    for (const auto& name : info.class_names) std::printf(" %s", name.c_str());
    std::printf("\n");
    return static_cast<int>(examples::ok);
  });
}
