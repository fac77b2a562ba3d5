// cpu::transpose (cpu/transpose.hpp): float through 8×8 register blocks where the build has AVX, any type through
// Eigen otherwise. Every element must land exactly, for sizes with and without partial blocks at either edge and
// with leading dimensions wider than the rows, without touching the padding around the destination.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "mien/cpu/transpose.hpp"

using namespace mien;

namespace {

template <class T>
void check_transpose(std::int64_t rows, std::int64_t cols, std::int64_t src_pad, std::int64_t dst_pad) {
  CAPTURE(rows, cols, src_pad, dst_pad);
  const std::int64_t src_ld = cols + src_pad, dst_ld = rows + dst_pad;
  std::vector<T> src(static_cast<std::size_t>(rows * src_ld));
  for (std::size_t i = 0; i < src.size(); ++i) src[i] = static_cast<T>(i) + T(0.5);
  const T untouched = T(-1);
  std::vector<T> dst(static_cast<std::size_t>(cols * dst_ld), untouched);
  cpu::transpose(src.data(), rows, cols, src_ld, dst.data(), dst_ld);
  int wrong = 0;
  for (std::int64_t c = 0; c < cols; ++c)
    for (std::int64_t r = 0; r < dst_ld; ++r) {
      const T want = r < rows ? src[static_cast<std::size_t>(r * src_ld + c)] : untouched;
      wrong += dst[static_cast<std::size_t>(c * dst_ld + r)] != want;
    }
  CHECK(wrong == 0);
}

}  // namespace

TEST_CASE("transpose moves every element to its place, in float and double", "[transpose]") {
  // Whole 8x8 blocks only, partial blocks at the bottom, at the right, at both, smaller than one block, and the
  // F(4x4, 3x3) path's shapes (channels x pixels of a 12x12 and a 24x24 map, and back).
  const std::int64_t shapes[][2] = {{8, 8},  {16, 24}, {13, 16},  {16, 11},   {13, 37},
                                    {1, 1},  {3, 5},   {128, 144}, {144, 128}, {64, 576}};
  for (const auto& s : shapes) {
    for (std::int64_t pad : {0, 3}) {
      check_transpose<float>(s[0], s[1], pad, 2 * pad);
      check_transpose<double>(s[0], s[1], pad, 2 * pad);
    }
  }
}
