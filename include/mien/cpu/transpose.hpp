#pragma once
// Matrix transposition for the CPU backend: dst [cols, rows] = src [rows, cols]ᵀ, row-major, each with its own
// leading dimension. Float matrices go through 8×8 blocks transposed in AVX registers where the build has AVX
// (-march=native on any x86 CPU of the last decade); everything else through Eigen. The F(4×4, 3×3) convolution
// turns every image into channels-last order and back (cpu/conv2d_winograd_4x4.hpp): its [128, 144] planes went
// about 2× faster this way (15 floats/ns) than through Eigen's transposed assignment (7), which moves one or two
// floats at a time (docs/benchmarks.md).
#include <cstdint>

#if defined(__AVX__)
#include <immintrin.h>
#endif

#include "mien/cpu/eigen.hpp"

namespace mien::cpu {

namespace transpose_detail {

#if defined(__AVX__)
// One 8×8 block: rows src, src + src_ld, ... → rows dst, dst + dst_ld, ...
inline void block8(const float* src, std::int64_t src_ld, float* dst, std::int64_t dst_ld) {
  __m256 r[8], t[8], s[8];
  for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(src + i * src_ld);
  // Interleave pairs of rows, then pairs of pairs, then swap 128-bit halves: element (i, j) ends in row j.
  for (int i = 0; i < 4; ++i) {
    t[2 * i] = _mm256_unpacklo_ps(r[2 * i], r[2 * i + 1]);
    t[2 * i + 1] = _mm256_unpackhi_ps(r[2 * i], r[2 * i + 1]);
  }
  for (int i = 0; i < 2; ++i) {
    const int a = 4 * i;
    s[a] = _mm256_shuffle_ps(t[a], t[a + 2], _MM_SHUFFLE(1, 0, 1, 0));
    s[a + 1] = _mm256_shuffle_ps(t[a], t[a + 2], _MM_SHUFFLE(3, 2, 3, 2));
    s[a + 2] = _mm256_shuffle_ps(t[a + 1], t[a + 3], _MM_SHUFFLE(1, 0, 1, 0));
    s[a + 3] = _mm256_shuffle_ps(t[a + 1], t[a + 3], _MM_SHUFFLE(3, 2, 3, 2));
  }
  for (int j = 0; j < 4; ++j) {
    _mm256_storeu_ps(dst + j * dst_ld, _mm256_permute2f128_ps(s[j], s[j + 4], 0x20));
    _mm256_storeu_ps(dst + (j + 4) * dst_ld, _mm256_permute2f128_ps(s[j], s[j + 4], 0x31));
  }
}
#endif

}  // namespace transpose_detail

template <class T>
void transpose(const T* src, std::int64_t rows, std::int64_t cols, std::int64_t src_ld, T* dst, std::int64_t dst_ld) {
  as_strided_matrix(dst, cols, rows, dst_ld) = as_strided_matrix(src, rows, cols, src_ld).transpose();
}

#if defined(__AVX__)
template <>
inline void transpose<float>(const float* src, std::int64_t rows, std::int64_t cols, std::int64_t src_ld, float* dst,
                             std::int64_t dst_ld) {
  const std::int64_t rows8 = rows - rows % 8, cols8 = cols - cols % 8;
  for (std::int64_t c = 0; c < cols8; c += 8)
    for (std::int64_t r = 0; r < rows8; r += 8)
      transpose_detail::block8(src + r * src_ld + c, src_ld, dst + c * dst_ld + r, dst_ld);
  // The edges: the last rows % 8 rows, and the last cols % 8 columns of the others.
  for (std::int64_t r = rows8; r < rows; ++r)
    for (std::int64_t c = 0; c < cols; ++c) dst[c * dst_ld + r] = src[r * src_ld + c];
  for (std::int64_t r = 0; r < rows8; ++r)
    for (std::int64_t c = cols8; c < cols; ++c) dst[c * dst_ld + r] = src[r * src_ld + c];
}
#endif

}  // namespace mien::cpu
