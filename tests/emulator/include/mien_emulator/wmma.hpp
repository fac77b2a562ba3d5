#pragma once
// mien's CUDA emulator, part 3: the WMMA fragments mien's TF32 convolution uses (m16n16k8, TF32 inputs, fp32
// accumulators). Real fragments spread a tile over the 32 lanes in an unspecified layout; here every lane holds
// the whole tile, which gives the same results for code that, as it must, touches fragments only through the
// wmma functions: loads, multiply-adds and stores are warp-wide operations with the same arguments in every lane.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
namespace precision {
struct tf32 {};
}  // namespace precision
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment;

// What the CUDA programming guide requires of every load and store: a 256-bit aligned pointer and, for 32-bit
// elements, a leading dimension that is a multiple of 4. A GPU misbehaves otherwise; the emulator stops.
inline void require_wmma_layout(const float* p, unsigned ldm, const char* what) {
  if (reinterpret_cast<std::uintptr_t>(p) % 32 == 0 && ldm % 4 == 0) return;
  std::fprintf(stderr,
               "mien CUDA emulator: %s with pointer %p (needs 32-byte alignment) and ldm %u (needs a multiple of 4)\n",
               what, static_cast<const void*>(p), ldm);
  std::abort();
}

// A: M x K, stored row-major inside the fragment.
template <class Layout>
struct fragment<matrix_a, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int num_elements = 16 * 8;
  float x[num_elements];
};
// B: K x N, stored row-major inside the fragment.
template <class Layout>
struct fragment<matrix_b, 16, 16, 8, precision::tf32, Layout> {
  static constexpr int num_elements = 8 * 16;
  float x[num_elements];
};
template <>
struct fragment<accumulator, 16, 16, 8, float, void> {
  static constexpr int num_elements = 16 * 16;
  float x[num_elements];
};

// Round to nearest, ties away from zero, keeping 10 mantissa bits (the cvt.rna.tf32.f32 the hardware uses).
inline float __float_to_tf32(float v) {
  std::uint32_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  if ((bits & 0x7f800000u) != 0x7f800000u) bits = (bits + 0x1000u) & 0xffffe000u;
  std::memcpy(&v, &bits, sizeof v);
  return v;
}

template <class Layout>
void load_matrix_sync(fragment<matrix_a, 16, 16, 8, precision::tf32, Layout>& f, const float* p, unsigned ldm) {
  require_wmma_layout(p, ldm, "wmma::load_matrix_sync");
  for (int m = 0; m < 16; ++m)
    for (int k = 0; k < 8; ++k) f.x[m * 8 + k] = std::is_same_v<Layout, col_major> ? p[k * ldm + m] : p[m * ldm + k];
}

template <class Layout>
void load_matrix_sync(fragment<matrix_b, 16, 16, 8, precision::tf32, Layout>& f, const float* p, unsigned ldm) {
  require_wmma_layout(p, ldm, "wmma::load_matrix_sync");
  for (int k = 0; k < 8; ++k)
    for (int n = 0; n < 16; ++n) f.x[k * 16 + n] = std::is_same_v<Layout, col_major> ? p[n * ldm + k] : p[k * ldm + n];
}

inline void fill_fragment(fragment<accumulator, 16, 16, 8, float, void>& f, float v) {
  for (float& e : f.x) e = v;
}

// d = a b + c, in fp32. The inputs are used as TF32: their low 13 mantissa bits are dropped, as the tensor cores
// ignore them (mien rounds them beforehand, so this changes nothing for mien's kernels).
template <class LA, class LB>
void mma_sync(fragment<accumulator, 16, 16, 8, float, void>& d,
              const fragment<matrix_a, 16, 16, 8, precision::tf32, LA>& a,
              const fragment<matrix_b, 16, 16, 8, precision::tf32, LB>& b,
              const fragment<accumulator, 16, 16, 8, float, void>& c) {
  auto truncate = [](float v) {
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    bits &= 0xffffe000u;
    std::memcpy(&v, &bits, sizeof v);
    return v;
  };
  float out[16 * 16];
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) {
      float acc = c.x[m * 16 + n];
      for (int k = 0; k < 8; ++k) acc += truncate(a.x[m * 8 + k]) * truncate(b.x[k * 16 + n]);
      out[m * 16 + n] = acc;
    }
  std::memcpy(d.x, out, sizeof out);
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 8, float, void>& f, unsigned ldm,
                              layout_t layout) {
  require_wmma_layout(p, ldm, "wmma::store_matrix_sync");
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 16; ++n) (layout == mem_row_major ? p[m * ldm + n] : p[n * ldm + m]) = f.x[m * 16 + n];
}

}  // namespace nvcuda::wmma
