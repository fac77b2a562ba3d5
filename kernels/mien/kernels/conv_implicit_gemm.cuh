#pragma once
// mien's own convolution kernels: tiled implicit GEMMs (see conv_indexing.hpp for the three GEMM views).
//
// A thread block computes a BM x BN tile of the output, walking the reduction BK at a time. Each step, its threads
// gather the A and B sub-tiles straight from the tensors (im2col happens in the loads: nothing is unfolded in
// memory), stage them in shared memory, and multiply. Loads for step t+1 are issued into registers before the
// multiply of step t, and shared memory is double-buffered, so global latency hides behind arithmetic with a
// single barrier per step. Two multiply engines share the loaders and the pipeline:
//   fma:  fp32 (or fp64) FFMA, each thread owning a TM x TN register tile; bitwise-independent of cuDNN but
//         accurate to fp32 rounding.
//   tf32: tensor cores through WMMA m16n16k8 TF32 fragments, fp32 accumulation; inputs are rounded to TF32
//         (10-bit mantissa) once, when they are staged in shared memory.
// The reduction is over C·k·k for forward and backward data, and over the N·H·W pixels for backward filter,
// whose output (K x C·k·k) is small: that pass splits the pixels over blockIdx.z and adds the partial results in a
// second, deterministic kernel.
#include <mma.h>

#include <cstdint>

#include "mien/kernels/conv_indexing.hpp"
#include "mien/kernels/launch.cuh"

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

// Tensor-core tile: 8 warps, warps_m x warps_n of them, each owning a 32 x WN patch of 16 x 16 accumulators.
template <int BM_, int BN_>
struct Tf32Tile {
  static constexpr int BM = BM_, BN = BN_, BK = 16;
  static constexpr int threads = 256;
  static constexpr int warps_m = BM / 32, warps_n = 8 / warps_m;
  static constexpr int WN = BN / warps_n;
  static constexpr int FM = 2, FN = WN / 16;
  static_assert(BM % 32 == 0 && BM <= 256 && WN % 16 == 0, "unsupported TF32 tile");
};

// Both operands' tiles, double-buffered. A is stored k-major ([k][m]) so that the multiply reads contiguous m.
template <class T, class Tile>
struct alignas(32) SharedTiles {
  T a[2][Tile::BK][Tile::BM + smem_pad];
  T b[2][Tile::BK][Tile::BN + smem_pad];
};

template <bool Tf32, class T>
__device__ __forceinline__ T staged(T v) {
  if constexpr (Tf32)
    return nvcuda::wmma::__float_to_tf32(v);
  else
    return v;
}

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
  __device__ Im2colLoader(const T* a, const T* x, const ConvShape& s, const FastDivmod& plane,
                          const FastDivmod& width, int m0, int n0)
      : a_(a), x_(x), s_(s), m0_(m0), reduction_(s.patch()) {
    b_col_ = static_cast<int>(threadIdx.x) % BN;
    b_row_ = static_cast<int>(threadIdx.x) / BN;
    const int p = n0 + b_col_;
    pixel_valid_ = p < s.pixels();
    px_ = pixel_of(pixel_valid_ ? p : 0, plane, width);
  }

  // Loads the tile at the current k into registers and moves to the next.
  __device__ void load() {
    const int tid = threadIdx.x;
#pragma unroll
    for (int i = 0; i < a_slots; ++i) {
      const int idx = tid + i * threads;
      const int m = m0_ + idx / BK, k = k0_ + idx % BK;
      a_reg_[i] = (idx < a_elems && m < s_.k && k < reduction_) ? a_[m * reduction_ + k] : T(0);
    }
#pragma unroll
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

  template <bool Tf32>
  __device__ void store(T (*as)[BM + smem_pad], T (*bs)[BN + smem_pad]) const {
    const int tid = threadIdx.x;
#pragma unroll
    for (int i = 0; i < a_slots; ++i) {
      const int idx = tid + i * threads;
      if (idx < a_elems) as[idx % BK][idx / BK] = staged<Tf32>(a_reg_[i]);
    }
#pragma unroll
    for (int i = 0; i < b_slots; ++i) bs[b_row_ + i * b_step][b_col_] = staged<Tf32>(b_reg_[i]);
  }

 private:
  const T* __restrict__ a_;
  const T* __restrict__ x_;
  ConvShape s_;
  int m0_, reduction_, k0_ = 0;
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
  __device__ FilterLoader(const T* dy, const T* x, const ConvShape& s, const FastDivmod& plane,
                          const FastDivmod& width, int m0, int n0, IndexRange range)
      : dy_(dy), x_(x), s_(s), m0_(m0), end_(range.end) {
    k_local_ = static_cast<int>(threadIdx.x) % BK;
    first_ = static_cast<int>(threadIdx.x) / BK;
    cursor_.p = range.begin + k_local_;
    cursor_.px = pixel_of(cursor_.p, plane, width);
#pragma unroll
    for (int i = 0; i < b_slots; ++i) {
      const int col = n0 + first_ + i * row_step;
      col_valid_[i] = col < s.patch();
      taps_[i] = tap_of<0>(col_valid_[i] ? col : 0, s.ks);
    }
  }

  __device__ void load() {
    const bool live = cursor_.p < end_;
#pragma unroll
    for (int i = 0; i < a_slots; ++i) {
      const int m = m0_ + first_ + i * row_step;
      a_reg_[i] = (live && m < s_.k) ? dy_[output_offset(s_, cursor_.px, m)] : T(0);
    }
#pragma unroll
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

  template <bool Tf32>
  __device__ void store(T (*as)[BM + smem_pad], T (*bs)[BN + smem_pad]) const {
#pragma unroll
    for (int i = 0; i < a_slots; ++i) as[k_local_][first_ + i * row_step] = staged<Tf32>(a_reg_[i]);
#pragma unroll
    for (int i = 0; i < b_slots; ++i) bs[k_local_][first_ + i * row_step] = staged<Tf32>(b_reg_[i]);
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
  __device__ void store_run(int m, int p, const T (&v)[R]) const {
    if (m >= s.k) return;
    const T b = bias ? bias[m] : T(0);
    const int pixels = s.pixels();
    if (plane_multiple_of_4 && p + R <= pixels) {
      Vec<T, R> out;
#pragma unroll
      for (int r = 0; r < R; ++r) out.v[r] = v[r] + b;
      store_vec<R>(y + output_offset(s, pixel_of(p, plane, width), m), out);
      return;
    }
#pragma unroll
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
  __device__ void store_run(int part, int m, int n, const T (&v)[R]) const {
    if (m >= rows) return;
    T* row = out + (static_cast<std::int64_t>(part) * rows + m) * cols;
    if (cols % R == 0 && n + R <= cols) {
      Vec<T, R> o;
#pragma unroll
      for (int r = 0; r < R; ++r) o.v[r] = v[r];
      store_vec<R>(row + n, o);
      return;
    }
#pragma unroll
    for (int r = 0; r < R; ++r)
      if (n + r < cols) row[n + r] = v[r];
  }
};

// ---- Pipeline and multiply engines ---------------------------------------------------------------------------

// Runs k_tiles steps: load (registers) -> store (shared) -> multiply, with the next step's loads in flight
// during the current multiply. One barrier per step suffices: a buffer is rewritten only after every thread has
// passed the barrier that ends the step which last read it.
template <bool Tf32, class Tile, class T, class Loader, class Multiply>
__device__ __forceinline__ void gemm_pipeline(Loader& loader, int k_tiles, SharedTiles<T, Tile>& sh,
                                              Multiply&& multiply) {
  loader.load();
  loader.template store<Tf32>(sh.a[0], sh.b[0]);
  __syncthreads();
  for (int t = 0; t < k_tiles; ++t) {
    const int cur = t & 1;
    if (t + 1 < k_tiles) loader.load();
    multiply(sh.a[cur], sh.b[cur]);
    if (t + 1 < k_tiles) loader.template store<Tf32>(sh.a[cur ^ 1], sh.b[cur ^ 1]);
    __syncthreads();
  }
}

// Row (or column) of a thread-tile element: the tile is two halves, BM/2 apart, so that a warp's shared-memory
// reads of each half are contiguous 16-byte vectors (conflict-free) rather than strided.
template <int Extent, int Per>
__device__ __forceinline__ int half_split_index(int i, int t) {
  return i < Per / 2 ? t * (Per / 2) + i : Extent / 2 + t * (Per / 2) + (i - Per / 2);
}

// FFMA engine. Calls store(m, n_first, run) for each half-row of the thread's results.
template <class Tile, class T, class Loader, class Store>
__device__ __forceinline__ void fma_gemm(Loader& loader, int k_tiles, int m0, int n0, const Store& store) {
  constexpr int BM = Tile::BM, BN = Tile::BN, TM = Tile::TM, TN = Tile::TN, HM = TM / 2, HN = TN / 2;
  __shared__ SharedTiles<T, Tile> sh;
  const int tx = static_cast<int>(threadIdx.x) % (BN / TN), ty = static_cast<int>(threadIdx.x) / (BN / TN);
  T acc[TM][TN];
#pragma unroll
  for (int i = 0; i < TM; ++i)
#pragma unroll
    for (int j = 0; j < TN; ++j) acc[i][j] = T(0);

  gemm_pipeline<false, Tile>(loader, k_tiles, sh, [&](const T(*as)[BM + smem_pad], const T(*bs)[BN + smem_pad]) {
#pragma unroll
    for (int kk = 0; kk < Tile::BK; ++kk) {
      const Vec<T, HM> a0 = load_vec<HM>(&as[kk][ty * HM]), a1 = load_vec<HM>(&as[kk][BM / 2 + ty * HM]);
      const Vec<T, HN> b0 = load_vec<HN>(&bs[kk][tx * HN]), b1 = load_vec<HN>(&bs[kk][BN / 2 + tx * HN]);
#pragma unroll
      for (int i = 0; i < TM; ++i) {
        const T a = i < HM ? a0.v[i] : a1.v[i - HM];
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] += a * (j < HN ? b0.v[j] : b1.v[j - HN]);
      }
    }
  });

#pragma unroll
  for (int i = 0; i < TM; ++i) {
    const int m = m0 + half_split_index<BM, TM>(i, ty);
    T left[HN], right[HN];
#pragma unroll
    for (int j = 0; j < HN; ++j) {
      left[j] = acc[i][j];
      right[j] = acc[i][HN + j];
    }
    store(m, n0 + tx * HN, left);
    store(m, n0 + BN / 2 + tx * HN, right);
  }
}

// Tensor-core engine (float only). Accumulators go out through a per-warp 16 x 16 staging tile in shared
// memory, since WMMA's accumulator layout is opaque; each lane then stores runs of 4 columns.
template <class Tile, class Loader, class Store>
__device__ __forceinline__ void tf32_gemm(Loader& loader, int k_tiles, int m0, int n0, const Store& store) {
  namespace wmma = nvcuda::wmma;
  constexpr int BM = Tile::BM, BN = Tile::BN, FM = Tile::FM, FN = Tile::FN;
  __shared__ SharedTiles<float, Tile> sh;
  __shared__ __align__(32) float staging[Tile::threads / 32][16 * 16];
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int wm = warp / Tile::warps_n, wn = warp % Tile::warps_n;

  wmma::fragment<wmma::accumulator, 16, 16, 8, float> acc[FM][FN];
#pragma unroll
  for (int i = 0; i < FM; ++i)
#pragma unroll
    for (int j = 0; j < FN; ++j) wmma::fill_fragment(acc[i][j], 0.0f);

  gemm_pipeline<true, Tile>(loader, k_tiles, sh, [&](const float(*as)[BM + smem_pad], const float(*bs)[BN + smem_pad]) {
#pragma unroll
    for (int kk = 0; kk < Tile::BK; kk += 8) {
      // A is staged k-major, i.e. column-major for the (m, k) fragment; B is row-major (k, n).
      // B fragments are loaded one at a time: holding all of them would cost registers the accumulators need.
      wmma::fragment<wmma::matrix_a, 16, 16, 8, wmma::precision::tf32, wmma::col_major> af[FM];
#pragma unroll
      for (int i = 0; i < FM; ++i) wmma::load_matrix_sync(af[i], &as[kk][wm * 32 + i * 16], BM + smem_pad);
#pragma unroll
      for (int j = 0; j < FN; ++j) {
        wmma::fragment<wmma::matrix_b, 16, 16, 8, wmma::precision::tf32, wmma::row_major> bf;
        wmma::load_matrix_sync(bf, &bs[kk][wn * Tile::WN + j * 16], BN + smem_pad);
#pragma unroll
        for (int i = 0; i < FM; ++i) wmma::mma_sync(acc[i][j], af[i], bf, acc[i][j]);
      }
    }
  });

  float* tile = staging[warp];
#pragma unroll
  for (int i = 0; i < FM; ++i) {
#pragma unroll
    for (int j = 0; j < FN; ++j) {
      wmma::store_matrix_sync(tile, acc[i][j], 16, wmma::mem_row_major);
      __syncwarp();
#pragma unroll
      for (int q = 0; q < 2; ++q) {
        const int e = lane + 32 * q, row = e / 4, col = (e % 4) * 4;
        const Vec<float, 4> v = load_vec<4>(tile + row * 16 + col);
        const float run[4] = {v.v[0], v.v[1], v.v[2], v.v[3]};
        store(m0 + wm * 32 + i * 16 + row, n0 + wn * Tile::WN + j * 16 + col, run);
      }
      __syncwarp();
    }
  }
}

// ---- Kernels ----------------------------------------------------------------------------------------------------

// out = A · im2col(x) (+ bias): forward (A = w) and backward data (A = flipped w, x = dy, shapes transposed).
template <class T, int KS, class Tile, bool Tf32>
__global__ void __launch_bounds__(Tile::threads, 2)
    im2col_gemm_kernel(const T* __restrict__ a, const T* __restrict__ x, ConvShape s, FastDivmod plane,
                       FastDivmod width, NchwOutput<T> out) {
  const int m0 = static_cast<int>(blockIdx.y) * Tile::BM, n0 = static_cast<int>(blockIdx.x) * Tile::BN;
  Im2colLoader<T, KS, Tile> loader(a, x, s, plane, width, m0, n0);
  const int k_tiles = ceil_div(s.patch(), Tile::BK);
  auto store = [&](int m, int p, const auto& run) { out.store_run(m, p, run); };
  if constexpr (Tf32)
    tf32_gemm<Tile>(loader, k_tiles, m0, n0, store);
  else
    fma_gemm<Tile, T>(loader, k_tiles, m0, n0, store);
}

// Partial dw [K, C·k·k] over pixel part blockIdx.z of `parts` (each part writes its own matrix of `out`).
template <class T, class Tile, bool Tf32>
__global__ void __launch_bounds__(Tile::threads, 2)
    filter_gemm_kernel(const T* __restrict__ dy, const T* __restrict__ x, ConvShape s, FastDivmod plane,
                       FastDivmod width, int parts, MatrixOutput<T> out) {
  const int m0 = static_cast<int>(blockIdx.y) * Tile::BM, n0 = static_cast<int>(blockIdx.x) * Tile::BN;
  const int part = static_cast<int>(blockIdx.z);
  const IndexRange range = split_range(s.pixels(), parts, part, Tile::BK);
  FilterLoader<T, Tile> loader(dy, x, s, plane, width, m0, n0, range);
  const int k_tiles = ceil_div(range.end - range.begin, Tile::BK);
  auto store = [&](int m, int n, const auto& run) { out.store_run(part, m, n, run); };
  if constexpr (Tf32)
    tf32_gemm<Tile>(loader, k_tiles, m0, n0, store);
  else
    fma_gemm<Tile, T>(loader, k_tiles, m0, n0, store);
}

// out[i] = sum over parts of partial[part][i], in part order (deterministic).
template <class T>
__global__ void sum_parts_kernel(const T* __restrict__ partial, int parts, int count, T* __restrict__ out) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < count;
       i += static_cast<int>(gridDim.x * blockDim.x)) {
    T total = T(0);
    for (int p = 0; p < parts; ++p) total += partial[static_cast<std::int64_t>(p) * count + i];
    out[i] = total;
  }
}

// wf [C, K, k, k] = w [K, C, k, k] transposed over (K, C) and rotated by 180° over the window.
template <class T>
__global__ void flip_weights_kernel(const T* __restrict__ w, T* __restrict__ wf, int k_out, int c_in, int ks,
                                    int count) {
  for (int i = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); i < count;
       i += static_cast<int>(gridDim.x * blockDim.x))
    wf[i] = w[flipped_weight_source(i, k_out, c_in, ks)];
}

}  // namespace mien::cuda::conv
