// float16 checkpoints (format version 2): the half conversion's rounding and special values, files that read back
// within half precision, float32 files that stay version 1, values beyond half's range refused before writing, and
// headers that disagree with their version refused.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <string>

#include "mien/io/checkpoint.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {
float through_half(float v) { return detail::half_to_float(detail::float_to_half(v)); }

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}
}  // namespace

TEST_CASE("float -> half -> float keeps what half can hold and rounds the rest to nearest even", "[io][checkpoint]") {
  for (float v : {0.0f, 1.0f, -2.5f, 0.099975586f, 65504.0f, -65504.0f, 0x1p-14f, 0x1p-24f, 3 * 0x1p-24f, 1023 * 0x1p-24f})
    CHECK(through_half(v) == v);
  CHECK(detail::float_to_half(-0.0f) == 0x8000u);
  CHECK(detail::float_to_half(1.0f) == 0x3c00u);
  CHECK(detail::float_to_half(65504.0f) == 0x7bffu);
  // Halfway cases go to the even neighbour; just above halfway goes up.
  CHECK(through_half(1.0f + 0x1p-11f) == 1.0f);
  CHECK(through_half(1.0f + 3 * 0x1p-11f) == 1.0f + 0x1p-9f);
  CHECK(through_half(1.0f + 0x1p-11f + 0x1p-20f) == 1.0f + 0x1p-10f);
  CHECK(through_half(0x1p-25f) == 0.0f);                 // half the smallest subnormal: to even (0)
  CHECK(through_half(3 * 0x1p-26f) == 0x1p-24f);
  CHECK(through_half(2047 * 0x1p-25f) == 0x1p-14f);      // the largest subnormal's rounding carries into a normal
  CHECK(through_half(65519.0f) == 65504.0f);
  CHECK(std::isinf(through_half(65520.0f)));
  CHECK(std::isinf(through_half(-std::numeric_limits<float>::infinity())));
  CHECK(std::isnan(through_half(std::numeric_limits<float>::quiet_NaN())));
  // Every value in [1, 2) comes back within half a unit in the last place (2^-11).
  for (float v = 1.0f; v < 2.0f; v += 0.0001234f) CHECK(std::fabs(through_half(v) - v) <= 0x1p-11f);
}

TEST_CASE("A float16 checkpoint is version 2, half the size, and reads back within half precision",
          "[io][checkpoint]") {
  testing::TempDir dir("mien-half");
  Tensor<float> w(Shape{3, 4});
  for (std::size_t i = 0; i < w.numel(); ++i) w[i] = std::sin(static_cast<float>(i)) * 3.0f;
  Tensor<float> var = Tensor<float>::filled(Shape{4}, 1234.0f);
  const std::string full = (dir.path() / "full.ckpt").string(), half = (dir.path() / "half.ckpt").string();
  save_checkpoint(full, {{"note", "x"}}, {{"w", &w}, {"var", &var}});
  save_checkpoint(half, {{"note", "x"}}, {{"w", &w}, {"var", &var}}, StoredAs::float16);
  const std::string full_bytes = read_bytes(full), half_bytes = read_bytes(half);
  CHECK(detail::get<std::uint32_t>(full_bytes, 8) == 1u);  // float32 files stay readable by earlier builds
  CHECK(detail::get<std::uint32_t>(half_bytes, 8) == 2u);
  const Checkpoint a = read_checkpoint(full), b = read_checkpoint(half);
  CHECK(b.meta == a.meta);
  const Tensor<float>& w16 = *b.find("w");
  REQUIRE(w16.shape() == w.shape());
  for (std::size_t i = 0; i < w.numel(); ++i) {
    CHECK(w16[i] == through_half(w[i]));
    CHECK(std::fabs(w16[i] - w[i]) <= std::fabs(w[i]) * 0x1p-11f);
  }
  CHECK((*b.find("var"))[0] == 1234.0f);  // integers up to 2048 are exact in half
  // The data shrink from 16 floats of 4 bytes to 16 halves of 2 (headers differ by the dtype entry).
  CHECK(full_bytes.size() - half_bytes.size() == 16 * 2 - std::string(R"(,"dtype":"float16")").size());
}

TEST_CASE("float16 storage refuses values beyond half's range; bad versions are named", "[io][checkpoint]") {
  testing::TempDir dir("mien-half-bad");
  const std::string path = (dir.path() / "big.ckpt").string();
  Tensor<float> big = Tensor<float>::filled(Shape{2}, 70000.0f);
  CHECK_THROWS_WITH(save_checkpoint(path, {}, {{"running_var", &big}}, StoredAs::float16),
                    Catch::Contains("'running_var'") && Catch::Contains("beyond float16's range"));
  CHECK_FALSE(std::filesystem::exists(path));
  save_checkpoint(path, {}, {{"running_var", &big}});  // float32 holds it

  // A version-2 file whose header does not say float16, and a version this build does not know.
  std::string bytes = read_bytes(path);
  auto with_version = [&](std::uint32_t version) {
    std::string b = bytes.substr(0, bytes.size() - 4);
    for (int i = 0; i < 4; ++i) b[8 + i] = static_cast<char>(version >> (8 * i));
    detail::put<std::uint32_t>(b, detail::crc32_update(0, reinterpret_cast<const unsigned char*>(b.data()), b.size()));
    return b;
  };
  write_bytes(path, with_version(2));
  CHECK_THROWS_WITH(read_checkpoint(path), Catch::Contains("without \"dtype\": \"float16\""));
  write_bytes(path, with_version(3));
  CHECK_THROWS_WITH(read_checkpoint(path), Catch::Contains("format version 3, this mien reads versions 1 and 2"));
}
