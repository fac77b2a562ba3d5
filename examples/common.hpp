#pragma once
// Pieces the example programs share: loading a data set by path, and exit codes scripts can rely on.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <mien/train.hpp>
#ifdef MIEN_WITH_ONNX
#include <mien/onnx/onnx_import.hpp>
#endif

namespace examples {

// Exit codes: 0 success, 1 an error in the run (I/O, device, divergence), 2 bad command-line usage or input,
// 130 interrupted by Ctrl-C (after saving a checkpoint).
enum ExitCode { ok = 0, run_error = 1, usage_error = 2, interrupted = 130 };

// Tells the user what a load left out (with --on-bad-image skip, or unknown class folders): a run that silently
// trains on fewer images than the folder holds would be a surprise.
inline void warn_skipped(const mien::LoadReport& report) {
  constexpr std::size_t shown = 10;
  auto list = [](const std::vector<std::string>& items, const char* what) {
    if (items.empty()) return;
    std::fprintf(stderr, "warning: skipped %zu %s:\n", items.size(), what);
    for (std::size_t i = 0; i < items.size() && i < shown; ++i) std::fprintf(stderr, "  %s\n", items[i].c_str());
    if (items.size() > shown) std::fprintf(stderr, "  ... and %zu more\n", items.size() - shown);
  };
  list(report.skipped_images, "unreadable images or malformed rows");
  list(report.skipped_folders, "folders that name no emotion class");
}

// Loads the given parts of a data set (folder names of its layout; all parts when none are given). Class folders
// outside the seven emotions (CK+'s "contempt") are left out and reported with their file counts.
inline mien::Dataset load_dataset(const mien::DatasetLayout& layout, mien::LoadOptions options,
                                  const std::vector<std::string>& parts = {}) {
  options.on_unknown_class = mien::OnBadInput::skip;
  mien::Dataset all = parts.empty() ? mien::load_dataset_parts(layout, options)
                                    : mien::load_dataset_parts(layout, parts, options);
  warn_skipped(all.report);
  return all;
}

// The model that ships with mien (models/README.md is its card), for predict and evaluate when no --checkpoint is
// given: beside an installed program (<prefix>/bin/../share/mien/models) or in the source tree it was built from.
constexpr const char* bundled_model_file = "fer2013-48.ckpt";

inline std::string bundled_model_path() {
  namespace fs = std::filesystem;
  std::vector<fs::path> candidates;
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) candidates.push_back(exe.parent_path().parent_path() / "share" / "mien" / "models" / bundled_model_file);
#ifdef MIEN_SOURCE_MODELS_DIR
  candidates.push_back(fs::path(MIEN_SOURCE_MODELS_DIR) / bundled_model_file);
#endif
  std::string looked;
  for (const fs::path& p : candidates) {
    if (fs::is_regular_file(p)) return p.string();
    looked += "\n  " + p.string();
  }
  throw mien::IoError("no --checkpoint given and the bundled model was not found; looked in:" + looked);
}

// --checkpoint when given, the bundled model otherwise (and says which, on stderr).
inline std::string checkpoint_or_bundled(const std::string& checkpoint) {
  if (!checkpoint.empty()) return checkpoint;
  const std::string path = bundled_model_path();
  std::fprintf(stderr, "using the bundled model %s\n", path.c_str());
  return path;
}

// A model file: a mien checkpoint, or an ONNX file (by its .onnx extension) in a build with ONNX support.
inline std::pair<std::unique_ptr<mien::Model<float>>, mien::ModelInfo> load_model_file(mien::Context& ctx,
                                                                                    const std::string& path) {
  if (std::filesystem::path(path).extension() == ".onnx") {
#ifdef MIEN_WITH_ONNX
    return mien::load_onnx_model(ctx, path);
#else
    throw mien::InvalidArgument("'" + path + "' is an ONNX model; this build has no ONNX support (install libonnx-dev "
                                "and libprotobuf-dev, then configure with -DMIEN_ONNX=ON)");
#endif
  }
  return mien::load_model(ctx, path);
}

// The --checkpoint files (the bundled model when none is given) as one model: several are an Ensemble, which
// averages their probabilities. Returns the model, its info, and the files' names for the report.
struct LoadedModel {
  std::unique_ptr<mien::Model<float>> model;
  mien::ModelInfo info;
  std::string name;  // "a.ckpt" or "a.ckpt + b.ckpt"
};

inline LoadedModel load_models(mien::Context& ctx, std::vector<std::string> paths) {
  if (paths.empty()) paths.push_back(checkpoint_or_bundled(""));
  std::vector<std::pair<std::unique_ptr<mien::Model<float>>, mien::ModelInfo>> loaded;
  std::string name;
  for (const std::string& p : paths) {
    loaded.push_back(load_model_file(ctx, p));
    name += (name.empty() ? "" : " + ") + p;
  }
  auto [model, info] = mien::ensemble_of(std::move(loaded), paths);
  return {std::move(model), std::move(info), name};
}

// The --checkpoint option of the programs that run a model: repeatable, one file per occurrence.
inline CLI::Option* add_checkpoint_option(CLI::App& app, std::vector<std::string>& checkpoints) {
  return app.add_option("--checkpoint", checkpoints, "checkpoint written by train_fer, or an .onnx model; give it "
                        "again to average several models (an ensemble). Default: the bundled model, models/README.md")
      ->allow_extra_args(false)
      ->check(CLI::ExistingFile);
}

// Parses --device and fails at once, before any data is loaded, when the device cannot be used.
inline mien::Device usable_device(const std::string& name) {
  const mien::Device device = mien::parse_device(name);
  if (device == mien::Device::cuda) {
#if MIEN_WITH_CUDA
    if (!mien::cuda::device_available()) throw mien::DeviceError("--device cuda: no usable CUDA device on this machine");
#else
    throw mien::DeviceError("--device cuda: this build has no CUDA support (configure with -DMIEN_CUDA=ON)");
#endif
  }
  return device;
}

// Parses the command line. Returns the exit code when the program ends here: 0 after --help, usage_error (with
// CLI11's message) for an unknown option or a bad value, as for an InvalidArgument raised later.
inline std::optional<int> parse_command_line(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
    return std::nullopt;
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? ok : usage_error;
  }
}

// Runs main_body and maps exceptions to messages and exit codes.
template <class Body>
int run_guarded(Body&& body) {
  try {
    return body();
  } catch (const mien::InvalidArgument& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return usage_error;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return run_error;
  }
}

}  // namespace examples
