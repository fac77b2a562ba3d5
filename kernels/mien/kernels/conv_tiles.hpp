#pragma once
// The thread-block tiles of the implicit-GEMM convolution kernels (conv_implicit_gemm.cuh): tile shapes, the
// loaders that gather each thread's share of the A and B tiles from the tensors, and the output writers. They
// take the thread index as an argument and are host-callable, so that tests/unit/test_cuda_indexing.cpp can run
// whole thread blocks on the CPU and check every index against a direct convolution.
#include <cstdint>

#include "mien/core/config.hpp"
#include "mien/kernels/conv_indexing.hpp"
#include "mien/kernels/vec.hpp"

namespace mien::cuda::conv {

// Elements added to each shared-memory row: keeps rows 16-byte aligned and spreads the transposing stores of
// the loaders over more banks.
constexpr int smem_pad = 4;

// FFMA tile: BM x BN outputs per block, BK deep, TM x TN outputs per thread.
template <int BM_, int BN_, int BK_, int TM_, int TN_>
struct FmaTile {
  static constexpr int BM = BM_, BN = BN_, BK = BK_, TM = TM_, TN = TN_;
  static constexpr int threads = (BM / TM) * (BN / TN);
  static_assert(TM % 2 == 0 && TN % 2 == 0, "thread tiles are split in two halves");
};

// Tensor-core tile: 8 warps, warps_m x warps_n of them, each owning a 32 x WN patch of 16 x 16 accumulators;
// BK is a multiple of the fragments' depth of 8. TM x TN is the per-thread share when the same tile runs on
// FFMA instead (a build for a GPU without TF32 tensor cores).
template <int BM_, int BN_, int BK_ = 16>
struct Tf32Tile {
  static constexpr int BM = BM_, BN = BN_, BK = BK_;
  static constexpr int threads = 256;
  static constexpr int warps_m = BM / 32, warps_n = 8 / warps_m;
  static constexpr int WN = BN / warps_n;
  static constexpr int FM = 2, FN = WN / 16;
  static constexpr int TN = 8, TM = BM * BN / (threads * TN);
  static_assert(BM % 32 == 0 && BM <= 256 && WN % 16 == 0 && BK % 8 == 0, "unsupported TF32 tile");
  static_assert(BN % TN == 0 && TM % 2 == 0 && (BM / TM) * (BN / TN) == threads, "no FFMA split of the tile");
};

// Both operands' tiles, double-buffered. A is stored k-major ([k][m]) so that the multiply reads contiguous m.
template <class T, class Tile>
struct alignas(32) SharedTiles {
  T a[2][Tile::BK][Tile::BM + smem_pad];
  T b[2][Tile::BK][Tile::BN + smem_pad];
};

// Passes values through unchanged on their way to shared memory (the fp32 kernels; the TF32 ones round).
struct NoRounding {
  template <class T>
  MIEN_HD T operator()(T v) const {
    return v;
  }
};

// ---- Loaders ----------------------------------------------------------------------------------------------------

// Forward and backward data: A is a row-major [M, C·k·k] weight matrix, B the im2col of x [N, C, H, W] (columns
// are pixels). Each thread always loads B values of one pixel (decomposed once) at several k rows; its A
// values run along k, contiguous in memory.
template <class T, int KS, class Tile>
class Im2colLoader {
  static constexpr int BM = Tile::BM, BN = Tile::BN, BK = Tile::BK, threads = Tile::threads;
  static constexpr int a_elems = BM * BK;
  static constexpr int a_slots = (a_elems + threads - 1) / threads;
  static_assert(threads % BN == 0, "a thread's B values must share one pixel");
  static constexpr int b_step = threads / BN;
  static constexpr int b_slots = BK / b_step;
  static_assert(BK % b_step == 0, "B tile rows must split evenly over the threads");

 public:
  MIEN_HD Im2colLoader(int tid, const T* a, const T* x, const ConvShape& s, const FastDivmod& plane,
                       const FastDivmod& width, int m0, int n0)
      : a_(a), x_(x), s_(s), tid_(tid), m0_(m0), reduction_(s.patch()) {
    b_col_ = tid % BN;
    b_row_ = tid / BN;
    const int p = n0 + b_col_;
    pixel_valid_ = p < s.pixels();
    px_ = pixel_of(pixel_valid_ ? p : 0, plane, width);
  }

  // Loads the tile at the current k into registers and moves to the next.
  MIEN_HD void load() {
MIEN_UNROLL
    for (int i = 0; i < a_slots; ++i) {
      const int idx = tid_ + i * threads;
      const int m = m0_ + idx / BK, k = k0_ + idx % BK;
      a_reg_[i] = (idx < a_elems && m < s_.k && k < reduction_) ? a_[m * reduction_ + k] : T(0);
    }
MIEN_UNROLL
    for (int i = 0; i < b_slots; ++i) {
      const int k = k0_ + b_row_ + i * b_step;
      T v = T(0);
      if (pixel_valid_ && k < reduction_) {
        const int off = input_offset(s_, px_, tap_of<KS>(k, s_.ks));
        if (off >= 0) v = x_[off];
      }
      b_reg_[i] = v;
    }
    k0_ += BK;
  }

  // Writes the loaded values into the shared-memory tiles, through `stage` (TF32 rounding or none).
  template <class Stage>
  MIEN_HD void store(T (*as)[BM + smem_pad], T (*bs)[BN + smem_pad], const Stage& stage) const {
MIEN_UNROLL
    for (int i = 0; i < a_slots; ++i) {
      const int idx = tid_ + i * threads;
      if (idx < a_elems) as[idx % BK][idx / BK] = stage(a_reg_[i]);
    }
MIEN_UNROLL
    for (int i = 0; i < b_slots; ++i) bs[b_row_ + i * b_step][b_col_] = stage(b_reg_[i]);
  }

 private:
  const T* __restrict__ a_;
  const T* __restrict__ x_;
  ConvShape s_;
  int tid_, m0_, reduction_, k0_ = 0;
  int b_col_, b_row_;
  bool pixel_valid_;
  Pixel px_;
  T a_reg_[a_slots];
  T b_reg_[b_slots];
};

// Backward filter: A is dy [N, K, H, W] viewed as [K, P], B the transposed im2col [P, C·k·k]; the reduction runs
// over the pixels [range.begin, range.end). Consecutive threads load consecutive pixels (contiguous in both
// tensors), so every thread's values share one pixel per step, which a cursor advances without dividing; each
// thread's B columns (kernel taps) are fixed and decomposed once.
template <class T, class Tile>
class FilterLoader {
  static constexpr int BM = Tile::BM, BN = Tile::BN, BK = Tile::BK, threads = Tile::threads;
  static_assert(threads % BK == 0, "a thread's values must share one pixel");
  static constexpr int row_step = threads / BK;
  static constexpr int a_slots = BM / row_step, b_slots = BN / row_step;
  static_assert(BM % row_step == 0 && BN % row_step == 0, "tiles must split evenly over the threads");

 public:
  MIEN_HD FilterLoader(int tid, const T* dy, const T* x, const ConvShape& s, const FastDivmod& plane,
                       const FastDivmod& width, int m0, int n0, IndexRange range)
      : dy_(dy), x_(x), s_(s), m0_(m0), end_(range.end) {
    k_local_ = tid % BK;
    first_ = tid / BK;
    cursor_.p = range.begin + k_local_;
    cursor_.px = pixel_of(cursor_.p, plane, width);
MIEN_UNROLL
    for (int i = 0; i < b_slots; ++i) {
      const int col = n0 + first_ + i * row_step;
      col_valid_[i] = col < s.patch();
      taps_[i] = tap_of<0>(col_valid_[i] ? col : 0, s.ks);
    }
  }

  MIEN_HD void load() {
    const bool live = cursor_.p < end_;
MIEN_UNROLL
    for (int i = 0; i < a_slots; ++i) {
      const int m = m0_ + first_ + i * row_step;
      a_reg_[i] = (live && m < s_.k) ? dy_[output_offset(s_, cursor_.px, m)] : T(0);
    }
MIEN_UNROLL
    for (int i = 0; i < b_slots; ++i) {
      T v = T(0);
      if (live && col_valid_[i]) {
        const int off = input_offset(s_, cursor_.px, taps_[i]);
        if (off >= 0) v = x_[off];
      }
      b_reg_[i] = v;
    }
    cursor_.advance(BK, s_.h, s_.w);
  }

  template <class Stage>
  MIEN_HD void store(T (*as)[BM + smem_pad], T (*bs)[BN + smem_pad], const Stage& stage) const {
MIEN_UNROLL
    for (int i = 0; i < a_slots; ++i) as[k_local_][first_ + i * row_step] = stage(a_reg_[i]);
MIEN_UNROLL
    for (int i = 0; i < b_slots; ++i) bs[k_local_][first_ + i * row_step] = stage(b_reg_[i]);
  }

 private:
  const T* __restrict__ dy_;
  const T* __restrict__ x_;
  ConvShape s_;
  int m0_, end_;
  int k_local_, first_;
  PixelCursor cursor_;
  bool col_valid_[b_slots];
  Tap taps_[b_slots];
  T a_reg_[a_slots];
  T b_reg_[b_slots];
};

// ---- Outputs ----------------------------------------------------------------------------------------------------

// y [N, M, H, W] (+ bias[M] when given): GEMM columns are pixels.
template <class T>
struct NchwOutput {
  T* y;
  const T* bias;  // may be null
  ConvShape s;    // s.k == M
  FastDivmod plane, width;
  bool plane_multiple_of_4;  // then a run of <= 4 pixels starting at a multiple of its length stays in one row

  template <int R>
  MIEN_HD void store_run(int m, int p, const T (&v)[R]) const {
    if (m >= s.k) return;
    const T b = bias ? bias[m] : T(0);
    const int pixels = s.pixels();
    if (plane_multiple_of_4 && p + R <= pixels) {
      Vec<T, R> out;
MIEN_UNROLL
      for (int r = 0; r < R; ++r) out.v[r] = v[r] + b;
      store_vec<R>(y + output_offset(s, pixel_of(p, plane, width), m), out);
      return;
    }
MIEN_UNROLL
    for (int r = 0; r < R; ++r)
      if (p + r < pixels) y[output_offset(s, pixel_of(p + r, plane, width), m)] = v[r] + b;
  }
};

// A row-major [rows, cols] matrix per split part (backward filter's partial sums, or dw itself).
template <class T>
struct MatrixOutput {
  T* out;
  int rows, cols;

  template <int R>
  MIEN_HD void store_run(int part, int m, int n, const T (&v)[R]) const {
    if (m >= rows) return;
    T* row = out + (static_cast<std::int64_t>(part) * rows + m) * cols;
    if (cols % R == 0 && n + R <= cols) {
      Vec<T, R> o;
MIEN_UNROLL
      for (int r = 0; r < R; ++r) o.v[r] = v[r];
      store_vec<R>(row + n, o);
      return;
    }
MIEN_UNROLL
    for (int r = 0; r < R; ++r)
      if (n + r < cols) row[n + r] = v[r];
  }
};

// Row (or column) of a thread-tile element: the tile is two halves, BM/2 apart, so that a warp's shared-memory
// reads of each half are contiguous 16-byte vectors (conflict-free) rather than strided.
template <int Extent, int Per>
MIEN_HD int half_split_index(int i, int t) {
  return i < Per / 2 ? t * (Per / 2) + i : Extent / 2 + t * (Per / 2) + (i - Per / 2);
}

}  // namespace mien::cuda::conv
