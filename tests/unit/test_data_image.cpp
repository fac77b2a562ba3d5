// Decoding images of any format, channel count and bit depth to 8-bit gray; resizing; PNG output; bad files.
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/image_files.hpp"
#include "../support/temp_dir.hpp"
#include "mien/data/image.hpp"

using namespace mien;
using mien::testing::TempDir;

namespace {

// A w x h pattern with distinct values (so a transposition or flip shows).
std::vector<std::uint8_t> gradient(int w, int h) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      px[static_cast<std::size_t>(y) * w + x] = static_cast<std::uint8_t>((x * 7 + y * 13) % 256);
  return px;
}

int bt601(int r, int g, int b) { return static_cast<int>(std::lround(0.299 * r + 0.587 * g + 0.114 * b)); }

std::string error_of(const std::filesystem::path& path) {
  try {
    read_image(path);
  } catch (const IoError& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Gray, gray+alpha, RGB and RGBA PNGs decode to BT.601 luma", "[data][image]") {
  TempDir dir;
  const int w = 5, h = 3;
  std::vector<std::uint8_t> rgba;
  for (int i = 0; i < w * h; ++i)
    rgba.insert(rgba.end(), {std::uint8_t(i * 17), std::uint8_t(255 - i * 9), std::uint8_t(i * 5), 40});
  for (int channels = 1; channels <= 4; ++channels) {
    std::vector<std::uint8_t> samples;
    for (int i = 0; i < w * h; ++i)
      for (int c = 0; c < channels; ++c) samples.push_back(rgba[static_cast<std::size_t>(i) * 4 + c]);
    const auto path = dir.path() / ("c" + std::to_string(channels) + ".png");
    testing::write_png8(path, samples, w, h, channels);
    const GrayImage image = read_image(path);
    REQUIRE(image.width == w);
    REQUIRE(image.height == h);
    for (int i = 0; i < w * h; ++i) {
      const std::uint8_t* p = &rgba[static_cast<std::size_t>(i) * 4];
      const int expected = channels >= 3 ? bt601(p[0], p[1], p[2]) : p[0];  // alpha is dropped
      CHECK(static_cast<int>(image.pixels[i]) == expected);
    }
  }
}

TEST_CASE("16-bit PNGs decode to rounded 8-bit gray", "[data][image]") {
  TempDir dir;
  const int w = 4, h = 2;
  const std::vector<std::uint16_t> gray = {0, 257, 65535, 32768, 128, 129 * 257, 1000, 65000};
  testing::write_png16(dir.path() / "gray16.png", gray, w, h, 1);
  const GrayImage g = read_image(dir.path() / "gray16.png");
  REQUIRE(g.width == w);
  for (int i = 0; i < w * h; ++i) CHECK(static_cast<int>(g.pixels[i]) == std::lround(gray[i] * 255.0 / 65535.0));

  std::vector<std::uint16_t> rgb;
  for (int i = 0; i < w * h; ++i)
    rgb.insert(rgb.end(), {std::uint16_t(i * 8000), std::uint16_t(65535 - i * 5000), std::uint16_t(i * 300)});
  testing::write_png16(dir.path() / "rgb16.png", rgb, w, h, 3);
  const GrayImage c = read_image(dir.path() / "rgb16.png");
  for (int i = 0; i < w * h; ++i) {
    const double luma = 0.299 * rgb[3 * i] + 0.587 * rgb[3 * i + 1] + 0.114 * rgb[3 * i + 2];
    CHECK(std::abs(c.pixels[i] - luma * 255.0 / 65535.0) <= 0.5 + 1e-9);
  }
}

TEST_CASE("JPEGs decode close to what was encoded", "[data][image]") {
  TempDir dir;
  const int w = 48, h = 40;
  const std::vector<std::uint8_t> gray = gradient(w, h);
  testing::write_jpg(dir.path() / "g.jpg", gray, w, h, 1, 100);
  const GrayImage image = read_image(dir.path() / "g.jpg");
  REQUIRE(image.width == w);
  REQUIRE(image.height == h);
  double error = 0;
  for (std::size_t i = 0; i < gray.size(); ++i) error += std::abs(int(image.pixels[i]) - int(gray[i]));
  CHECK(error / gray.size() < 6.0);  // lossy, but close
}

TEST_CASE("Broken files give an IoError naming the file and the reason", "[data][image]") {
  TempDir dir;
  testing::write_bytes(dir.path() / "empty.png", {});
  testing::write_text(dir.path() / "notes.jpg", "this is not an image\n");
  testing::write_png8(dir.path() / "whole.png", gradient(32, 32), 32, 32, 1);
  std::vector<std::uint8_t> png = testing::read_bytes(dir.path() / "whole.png");
  png.resize(png.size() / 2);
  testing::write_bytes(dir.path() / "truncated.png", png);
  testing::write_jpg(dir.path() / "whole.jpg", gradient(48, 48), 48, 48, 1);
  std::vector<std::uint8_t> jpg = testing::read_bytes(dir.path() / "whole.jpg");
  jpg.resize(jpg.size() / 2);
  testing::write_bytes(dir.path() / "truncated.jpg", jpg);
  std::vector<std::uint8_t> garbage(300);
  for (std::size_t i = 0; i < garbage.size(); ++i) garbage[i] = static_cast<std::uint8_t>(i * 31 + 7);
  garbage[0] = 0xFF, garbage[1] = 0xD8;  // a JPEG signature and nonsense after it
  testing::write_bytes(dir.path() / "corrupt.jpg", garbage);

  const std::string empty = error_of(dir.path() / "empty.png");
  CHECK(empty.find("empty.png") != std::string::npos);
  CHECK(empty.find("empty") != std::string::npos);
  for (const char* name : {"notes.jpg", "truncated.png", "truncated.jpg", "corrupt.jpg"}) {
    const std::string what = error_of(dir.path() / name);
    INFO(name << ": " << what);
    CHECK(what.find(name) != std::string::npos);
    CHECK(what.find("stb_image") != std::string::npos);
  }
  CHECK(error_of(dir.path() / "missing.png").find("cannot open") != std::string::npos);
}

TEST_CASE("Resizing copies equal sizes, averages areas down and interpolates up", "[data][image]") {
  GrayImage src;
  src.width = 4, src.height = 4;
  src.pixels = gradient(4, 4);
  CHECK(resize_gray(src, 4, 4).pixels == src.pixels);

  const GrayImage half = resize_gray(src, 2, 2);
  for (int y = 0; y < 2; ++y)
    for (int x = 0; x < 2; ++x) {
      const double mean =
          (src.at(2 * x, 2 * y) + src.at(2 * x + 1, 2 * y) + src.at(2 * x, 2 * y + 1) + src.at(2 * x + 1, 2 * y + 1)) /
          4.0;
      CHECK(std::abs(half.at(x, y) - mean) <= 0.5);
    }

  // A non-integer factor keeps a constant image constant (the weights sum to one).
  GrayImage flat{7, 5, std::vector<std::uint8_t>(35, 200)};
  for (auto [w, h] : {std::pair{3, 2}, std::pair{48, 48}, std::pair{128, 128}}) {
    const GrayImage r = resize_gray(flat, w, h);
    REQUIRE(r.pixels.size() == static_cast<std::size_t>(w) * h);
    for (std::uint8_t v : r.pixels) CHECK(v == 200);
  }

  // Enlarging a horizontal ramp 2 -> 4 interpolates between pixel centres and holds the edges.
  GrayImage ramp{2, 1, {0, 100}};
  const GrayImage up = resize_gray(ramp, 4, 1);
  CHECK(std::vector<int>(up.pixels.begin(), up.pixels.end()) == std::vector<int>{0, 25, 75, 100});
  // 48 -> 128, the paper's other input size: no value leaves the source range.
  GrayImage face{48, 48, gradient(48, 48)};
  const GrayImage big = resize_gray(face, 128, 128);
  CHECK(big.width == 128);
  CHECK(*std::max_element(big.pixels.begin(), big.pixels.end()) <=
        *std::max_element(face.pixels.begin(), face.pixels.end()));
}

TEST_CASE("write_png writes pictures that read back unchanged", "[data][image]") {
  TempDir dir;
  GrayImage g{9, 6, gradient(9, 6)};
  write_png(dir.path() / "g.png", g);
  CHECK(read_image(dir.path() / "g.png").pixels == g.pixels);

  std::vector<std::uint8_t> rgb(9 * 6 * 3, 0);
  for (std::size_t i = 0; i < rgb.size(); i += 3) rgb[i] = 255;  // pure red
  write_png(dir.path() / "red.png", rgb.data(), 9, 6, 3);
  const GrayImage red = read_image(dir.path() / "red.png");
  CHECK(red.pixels[0] == bt601(255, 0, 0));
  CHECK_THROWS_AS(write_png(dir.path() / "no-such-folder" / "x.png", g), IoError);
  CHECK_THROWS_AS(write_png(dir.path() / "x.png", rgb.data(), 9, 6, 5), InvalidArgument);
}
