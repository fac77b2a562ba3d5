#pragma once
// Pieces the example programs share: loading a data set by path, and exit codes scripts can rely on.
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <mien/train.hpp>

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

// Loads a data set from an image-folder root (with train/ and test/ sub-folders) or from fer2013.csv.
inline mien::Dataset load_dataset(const std::string& path, const mien::LoadOptions& options) {
  namespace fs = std::filesystem;
  if (!fs::exists(path)) throw mien::IoError("data path '" + path + "' does not exist");
  mien::Dataset all;
  if (fs::is_regular_file(path)) {
    mien::Fer2013Csv csv = mien::load_fer2013_csv(path, options);
    for (mien::Dataset* part : {&csv.training, &csv.public_test, &csv.private_test}) mien::append(all, *part);
    // The CSV's skipped rows are reported by the file, not by its three parts.
    all.report.skipped_images.insert(all.report.skipped_images.end(), csv.report.skipped_images.begin(),
                                     csv.report.skipped_images.end());
    warn_skipped(all.report);
    return all;
  }
  for (const char* split : {"train", "test"}) {
    if (!fs::exists(fs::path(path) / split))
      throw mien::IoError("'" + path + "' has no '" + split + "' folder (expected <root>/{train,test}/<class>/*.jpg)");
    mien::append(all, mien::load_image_folder(path, split, options));
  }
  warn_skipped(all.report);
  return all;
}

// The official split's parts for a data set loaded by load_dataset: folders train/test (validation carved from
// train), or the CSV's Training / PublicTest (validation) / PrivateTest.
inline mien::OfficialSplitOptions official_parts(const std::string& path) {
  mien::OfficialSplitOptions parts;
  if (std::filesystem::is_regular_file(path)) {
    parts.train_origin = "Training";
    parts.val_origin = "PublicTest";
    parts.test_origin = "PrivateTest";
  }
  return parts;
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
