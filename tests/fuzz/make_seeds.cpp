// Writes the fuzzers' seed corpora (tests/fuzz/corpus/<target>/): a few small valid files of each kind and a few
// broken ones, so that the fuzzers start from real structure. scripts/fuzz.sh runs it when a corpus is missing.
//
//   make_seeds <corpus folder>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mien/data/image.hpp"
#include "mien/io/checkpoint.hpp"

namespace fs = std::filesystem;

namespace {

void write_bytes(const fs::path& path, const std::string& bytes) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string encoded(bool png, int width, int height, int channels) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(width) * height * channels);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 37 + 11);
  std::string out;
  auto append = [](void* context, void* data, int size) {
    static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
  };
  if (png)
    stbi_write_png_to_func(append, &out, width, height, channels, px.data(), width * channels);
  else
    stbi_write_jpg_to_func(append, &out, width, height, channels, px.data(), 80);
  return out;
}

std::string csv_row(int label, const char* usage) {
  std::string row = std::to_string(label) + ",";
  for (int i = 0; i < 48 * 48; ++i) row += (i ? " " : "") + std::to_string((i * 7 + label) % 256);
  return row + "," + usage + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s <corpus folder>\n", argv[0]);
    return 2;
  }
  const fs::path root = argv[1];

  const fs::path image = root / "fuzz_image";
  write_bytes(image / "gray4x4.png", encoded(true, 4, 4, 1));
  write_bytes(image / "rgba3x2.png", encoded(true, 3, 2, 4));
  write_bytes(image / "gray8x8.jpg", encoded(false, 8, 8, 1));
  write_bytes(image / "rgb9x5.jpg", encoded(false, 9, 5, 3));
  write_bytes(image / "truncated.png", encoded(true, 6, 6, 1).substr(0, 40));
  write_bytes(image / "ascii.pgm", "P2\n3 2\n255\n0 128 255\n255 128 0\n");
  write_bytes(image / "binary.pgm", std::string("P5\n2 2\n255\n", 11) + std::string("\x00\x40\x80\xff", 4));

  const fs::path csv = root / "fuzz_csv";
  write_bytes(csv / "two_rows.csv", "emotion,pixels,Usage\n" + csv_row(3, "Training") + csv_row(5, "PrivateTest"));
  write_bytes(csv / "no_usage_crlf.csv", "emotion,pixels\r\n0,1 2 3\r\n");
  write_bytes(csv / "bom_reordered.csv", "\xEF\xBB\xBFUsage,pixels,emotion\nPublicTest,\"9 x 300\",7\n\n");

  const fs::path ckpt = root / "fuzz_checkpoint";
  fs::create_directories(ckpt);
  mien::Tensor<float> a(mien::Shape{2, 3}), b(mien::Shape{1, 1, 2, 2});
  for (std::size_t i = 0; i < a.numel(); ++i) a[i] = 0.5f * static_cast<float>(i);
  for (std::size_t i = 0; i < b.numel(); ++i) b[i] = -1.0f * static_cast<float>(i);
  const nlohmann::json meta = {{"format", "mien-paper-net"},
                               {"config", {{"input_size", 8}, {"classes", 3}, {"stream_channels", {2, 3}}}},
                               {"class_names", {"a", "b", "c"}},
                               {"normalization", {{"mean", 0.5}, {"stddev", 0.25}}}};
  mien::save_checkpoint((ckpt / "small.ckpt").string(), meta, {{"model.w", &a}, {"model.b", &b}});
  mien::save_checkpoint((ckpt / "empty.ckpt").string(), nlohmann::json::object(), {});
  return 0;
}
