#pragma once
// Scenes with faces at known places, for testing and measuring face detection without photographs: FER2013 test
// faces (real faces, whose emotion is known) pasted into seeded grey noise. Used by tests/faces and
// benchmarks/bench_faces.cpp.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/image.hpp"
#include "mien/data/random.hpp"

namespace mien::testing {

// The first `per_class` files of every class folder under `split_dir` (e.g. <fer2013>/test), classes and files
// in name order.
inline std::vector<std::filesystem::path> first_faces_per_class(const std::filesystem::path& split_dir,
                                                                std::size_t per_class) {
  namespace fs = std::filesystem;
  std::vector<fs::path> classes, out;
  for (const auto& entry : fs::directory_iterator(split_dir)) classes.push_back(entry.path());
  std::sort(classes.begin(), classes.end());
  for (const fs::path& c : classes) {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(c)) files.push_back(entry.path());
    std::sort(files.begin(), files.end());
    files.resize(std::min(files.size(), per_class));
    out.insert(out.end(), files.begin(), files.end());
  }
  return out;
}

// A width x height scene of faint seeded noise around mid-grey (112..144).
inline GrayImage noise_scene(std::uint64_t seed, int width = 640, int height = 480) {
  GrayImage s;
  s.width = width;
  s.height = height;
  s.pixels.resize(static_cast<std::size_t>(width) * height);
  const RandomStream noise{seed, 0x5CE7Eu, 0};
  for (std::size_t i = 0; i < s.pixels.size(); ++i) s.pixels[i] = static_cast<std::uint8_t>(112 + 32 * noise.uniform(i));
  return s;
}

// Copies `face` into `scene` with its top-left corner at (x0, y0); it must fit.
inline void paste_face(GrayImage& scene, const GrayImage& face, int x0, int y0) {
  check_arg(x0 >= 0 && y0 >= 0 && x0 + face.width <= scene.width && y0 + face.height <= scene.height, "paste_face",
            "a ", face.width, "x", face.height, " face at (", x0, ", ", y0, ") does not fit a ", scene.width, "x",
            scene.height, " scene");
  for (int y = 0; y < face.height; ++y)
    std::copy_n(face.pixels.data() + static_cast<std::size_t>(y) * face.width, face.width,
                scene.pixels.data() + static_cast<std::size_t>(y0 + y) * scene.width + x0);
}

}  // namespace mien::testing
