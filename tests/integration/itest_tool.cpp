// The integration tests' helper: makes a small synthetic image-folder data set, and inspects and compares the
// checkpoints that train_fer writes, so that the test scripts need nothing beyond bash and this program.
//
//   mien_itest_tool make-images <root> <train per class> <test per class> <side>
//   mien_itest_tool epochs-done <checkpoint>          prints the training state's epochs_done
//   mien_itest_tool compare <a.ckpt> <b.ckpt>         exit 0 when every model.* and adam.* tensor is bit-identical
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "mien/data/classes.hpp"
#include "mien/data/image.hpp"
#include "mien/io/checkpoint.hpp"

namespace fs = std::filesystem;

namespace {

// Each class gets its own stripe pattern, so that the network has something learnable; a per-image hash adds
// noise so that no two images are equal (the duplicate audit would otherwise flag them).
std::vector<std::uint8_t> synthetic_face(int label, int index, int side) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(side) * side);
  for (int y = 0; y < side; ++y) {
    for (int x = 0; x < side; ++x) {
      std::uint32_t h = static_cast<std::uint32_t>(index * 7919 + label * 104729 + y * side + x) * 2654435761u;
      h ^= h >> 15;
      const int stripe = ((x * (label + 1) + y * label) / 3) % 2 ? 180 : 60;
      px[static_cast<std::size_t>(y) * side + x] = static_cast<std::uint8_t>(stripe + static_cast<int>(h % 41) - 20);
    }
  }
  return px;
}

int make_images(const fs::path& root, int train_per_class, int test_per_class, int side) {
  const auto& names = mien::emotion_names();
  for (int label = 0; label < mien::num_emotion_classes; ++label) {
    int index = 0;
    for (const auto& [split, count] : {std::pair<const char*, int>{"train", train_per_class}, {"test", test_per_class}}) {
      const fs::path dir = root / split / names[label];
      fs::create_directories(dir);
      for (int k = 0; k < count; ++k, ++index) {
        const std::vector<std::uint8_t> px = synthetic_face(label, index, side);
        char name[32];
        std::snprintf(name, sizeof name, "%04d.png", k);
        mien::write_png(dir / name, px.data(), side, side, 1);
      }
    }
  }
  return 0;
}

int epochs_done(const std::string& path) {
  const mien::Checkpoint ckpt = mien::read_checkpoint(path);
  std::printf("%d\n", ckpt.meta.at("state").at("epochs_done").get<int>());
  return 0;
}

bool tracked(const std::string& name) { return name.rfind("model.", 0) == 0 || name.rfind("adam.", 0) == 0; }

int compare(const std::string& path_a, const std::string& path_b) {
  const mien::Checkpoint a = mien::read_checkpoint(path_a), b = mien::read_checkpoint(path_b);
  std::size_t compared = 0, differing = 0;
  for (const auto& [name, tensor] : a.tensors) {
    if (!tracked(name)) continue;
    const mien::Tensor<float>* other = b.find(name);
    if (!other) {
      std::fprintf(stderr, "'%s' is only in %s\n", name.c_str(), path_a.c_str());
      ++differing;
      continue;
    }
    if (other->shape() != tensor.shape()) {
      std::fprintf(stderr, "'%s': shape %s vs %s\n", name.c_str(), tensor.shape().str().c_str(),
                   other->shape().str().c_str());
      ++differing;
      continue;
    }
    ++compared;
    // Bit patterns, not values: a resumed run must repeat the uninterrupted one exactly.
    std::size_t unequal = 0;
    double largest = 0;
    for (std::size_t i = 0; i < tensor.numel(); ++i) {
      if (std::memcmp(&tensor[i], &(*other)[i], sizeof(float)) != 0) {
        ++unequal;
        largest = std::max(largest, static_cast<double>(std::abs(tensor[i] - (*other)[i])));
      }
    }
    if (unequal) {
      std::fprintf(stderr, "'%s': %zu of %zu values differ (largest difference %g)\n", name.c_str(), unequal,
                   tensor.numel(), largest);
      ++differing;
    }
  }
  for (const auto& entry : b.tensors)
    if (tracked(entry.first) && !a.find(entry.first)) {
      std::fprintf(stderr, "'%s' is only in %s\n", entry.first.c_str(), path_b.c_str());
      ++differing;
    }
  const auto step_a = a.meta.at("state").at("step").get<std::uint64_t>();
  const auto step_b = b.meta.at("state").at("step").get<std::uint64_t>();
  if (step_a != step_b) {
    std::fprintf(stderr, "training step %llu vs %llu\n", static_cast<unsigned long long>(step_a),
                 static_cast<unsigned long long>(step_b));
    ++differing;
  }
  std::printf("%zu tensors compared, %zu differences\n", compared, differing);
  return compared > 0 && differing == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string mode = argc > 1 ? argv[1] : "";
  try {
    if (mode == "make-images" && argc == 6)
      return make_images(argv[2], std::stoi(argv[3]), std::stoi(argv[4]), std::stoi(argv[5]));
    if (mode == "epochs-done" && argc == 3) return epochs_done(argv[2]);
    if (mode == "compare" && argc == 4) return compare(argv[2], argv[3]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
  std::fprintf(stderr,
               "usage: %s make-images <root> <train per class> <test per class> <side>\n"
               "       %s epochs-done <checkpoint>\n"
               "       %s compare <a.ckpt> <b.ckpt>\n",
               argv[0], argv[0], argv[0]);
  return 2;
}
