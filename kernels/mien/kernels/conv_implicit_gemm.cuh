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
#include "mien/kernels/conv_tiles.hpp"
#include "mien/kernels/launch.cuh"

namespace mien::cuda::conv {


// ---- Pipeline and multiply engines ---------------------------------------------------------------------------

// Runs k_tiles steps: load (registers) -> store (shared) -> multiply, with the next step's loads in flight
// during the current multiply. One barrier per step suffices: a buffer is rewritten only after every thread has
// passed the barrier that ends the step which last read it.
template <class Tile, class T, class Loader, class Stage, class Multiply>
__device__ __forceinline__ void gemm_pipeline(Loader& loader, int k_tiles, SharedTiles<T, Tile>& sh, const Stage& stage,
                                              Multiply&& multiply) {
  loader.load();
  loader.store(sh.a[0], sh.b[0], stage);
  __syncthreads();
  for (int t = 0; t < k_tiles; ++t) {
    const int cur = t & 1;
    if (t + 1 < k_tiles) loader.load();
    multiply(sh.a[cur], sh.b[cur]);
    if (t + 1 < k_tiles) loader.store(sh.a[cur ^ 1], sh.b[cur ^ 1], stage);
    __syncthreads();
  }
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

  gemm_pipeline<Tile>(loader, k_tiles, sh, NoRounding{}, [&](const T(*as)[BM + smem_pad], const T(*bs)[BN + smem_pad]) {
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

// TF32 fragments exist in the host pass and in device passes for compute capability 8.0 and later; a build for
// an older GPU runs the TF32 tiles on the FFMA engine.
#if !defined(__CUDA_ARCH__) || __CUDA_ARCH__ >= 800
#define MIEN_CUDA_HAS_TF32_MMA 1
#else
#define MIEN_CUDA_HAS_TF32_MMA 0
#endif

#if MIEN_CUDA_HAS_TF32_MMA

// Rounds fp32 values to TF32 once, as they are staged for the tensor cores.
struct Tf32Rounding {
  __device__ float operator()(float v) const { return nvcuda::wmma::__float_to_tf32(v); }
};

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

  gemm_pipeline<Tile>(loader, k_tiles, sh, Tf32Rounding{}, [&](const float(*as)[BM + smem_pad], const float(*bs)[BN + smem_pad]) {
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

#endif  // MIEN_CUDA_HAS_TF32_MMA

// The engine a kernel instantiation runs: tensor cores for the TF32 tiles where the target has them.
template <bool Tf32, class Tile, class T, class Loader, class Store>
__device__ __forceinline__ void run_engine(Loader& loader, int k_tiles, int m0, int n0, const Store& store) {
#if MIEN_CUDA_HAS_TF32_MMA
  if constexpr (Tf32)
    tf32_gemm<Tile>(loader, k_tiles, m0, n0, store);
  else
#endif
    fma_gemm<Tile, T>(loader, k_tiles, m0, n0, store);
}

// ---- Kernels ----------------------------------------------------------------------------------------------------

// out = A · im2col(x) (+ bias): forward (A = w) and backward data (A = flipped w, x = dy, shapes transposed).
template <class T, int KS, class Tile, bool Tf32>
__global__ void __launch_bounds__(Tile::threads, 2)
    im2col_gemm_kernel(const T* __restrict__ a, const T* __restrict__ x, ConvShape s, FastDivmod plane,
                       FastDivmod width, NchwOutput<T> out) {
  const int m0 = static_cast<int>(blockIdx.y) * Tile::BM, n0 = static_cast<int>(blockIdx.x) * Tile::BN;
  Im2colLoader<T, KS, Tile> loader(static_cast<int>(threadIdx.x), a, x, s, plane, width, m0, n0);
  const int k_tiles = ceil_div(s.patch(), Tile::BK);
  run_engine<Tf32, Tile, T>(loader, k_tiles, m0, n0,
                            [&](int m, int p, const auto& run) { out.store_run(m, p, run); });
}

// Partial dw [K, C·k·k] over pixel part blockIdx.z of `parts` (each part writes its own matrix of `out`).
template <class T, class Tile, bool Tf32>
__global__ void __launch_bounds__(Tile::threads, 2)
    filter_gemm_kernel(const T* __restrict__ dy, const T* __restrict__ x, ConvShape s, FastDivmod plane,
                       FastDivmod width, int parts, MatrixOutput<T> out) {
  const int m0 = static_cast<int>(blockIdx.y) * Tile::BM, n0 = static_cast<int>(blockIdx.x) * Tile::BN;
  const int part = static_cast<int>(blockIdx.z);
  const IndexRange range = split_range(s.pixels(), parts, part, Tile::BK);
  FilterLoader<T, Tile> loader(static_cast<int>(threadIdx.x), dy, x, s, plane, width, m0, n0, range);
  const int k_tiles = ceil_div(range.end - range.begin, Tile::BK);
  run_engine<Tf32, Tile, T>(loader, k_tiles, m0, n0,
                            [&](int m, int n, const auto& run) { out.store_run(part, m, n, run); });
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
