#pragma once
// Reductions the kernels share: warp and block sums, and per-channel sums over the (N, H, W) positions of a
// [N, C, H, W] (or [N, F]) tensor, which batch norm and the convolution bias gradient need.
//
// Per-channel sums run in two deterministic stages: blocks (part, channel) each sum one contiguous slice of the
// channel's N·H·W values into a partial, then one thread per channel adds its partials in a fixed order and
// hands the totals to a finalizer. Accumulation is in double: a channel of the first layer holds half a million
// values, and float sums of that many terms lose digits the CPU reference (also double) keeps. No atomics, so
// the result is the same on every run.
#include <cuda_runtime.h>

#include <cstdint>

#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"

namespace mien::cuda {

template <class A>
__device__ __forceinline__ A warp_sum(A v) {
#pragma unroll
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_down_sync(0xffffffffu, v, offset);
  return v;
}

// Sums NV values over the block; the totals are valid in thread 0. Every thread of the block must call it.
// blockDim.x must be a multiple of 32 and at most 1024.
template <int NV, class A>
__device__ __forceinline__ void block_sum(A (&v)[NV]) {
  __shared__ A partial[NV][32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
#pragma unroll
  for (int i = 0; i < NV; ++i) v[i] = warp_sum(v[i]);
  if (lane == 0)
#pragma unroll
    for (int i = 0; i < NV; ++i) partial[i][warp] = v[i];
  __syncthreads();
  if (warp == 0) {
#pragma unroll
    for (int i = 0; i < NV; ++i) {
      v[i] = lane < warps ? partial[i][lane] : A(0);
      v[i] = warp_sum(v[i]);
    }
  }
  __syncthreads();  // partial may be reused by a following call
}

// Where the values of one channel live: value j (0 <= j < n * plane) of channel c is at
// (j / plane * channels + c) * plane + j % plane.
struct ChannelLayout {
  int n, channels, plane;
  FastDivmod plane_div;

  ChannelLayout(const Shape& s)
      : n(static_cast<int>(s.n())),
        channels(static_cast<int>(s.c())),
        plane(static_cast<int>(s.h() * s.w())),
        plane_div(static_cast<int>(s.h() * s.w() > 0 ? s.h() * s.w() : 1)) {}
  MIEN_HD int count() const { return n * plane; }
  __device__ int offset(int j, int c) const {
    int image, pos;
    plane_div.divmod(j, image, pos);
    return (image * channels + c) * plane + pos;
  }
};

constexpr int channel_reduce_threads = 256;

// Stage 1: block (part, c) sums term(offset, c, acc) over its slice of channel c into partials[(c*parts+part)*NV].
template <int NV, class Term>
__global__ void __launch_bounds__(channel_reduce_threads)
    channel_partial_sums_kernel(Term term, ChannelLayout layout, int parts, double* partials) {
  const int part = blockIdx.x, c = blockIdx.y;
  const IndexRange range = split_range(layout.count(), parts, part, 1);
  double acc[NV] = {};
  for (int j = range.begin + static_cast<int>(threadIdx.x); j < range.end; j += blockDim.x)
    term(layout.offset(j, c), c, acc);
  block_sum<NV>(acc);
  if (threadIdx.x == 0)
#pragma unroll
    for (int i = 0; i < NV; ++i) partials[(static_cast<std::int64_t>(c) * parts + part) * NV + i] = acc[i];
}

// Stage 2: one thread per channel adds the partials in part order and calls finish(c, totals).
template <int NV, class Finish>
__global__ void channel_finish_kernel(Finish finish, int channels, int parts, const double* partials) {
  const int c = blockIdx.x * blockDim.x + threadIdx.x;
  if (c >= channels) return;
  double total[NV] = {};
  for (int p = 0; p < parts; ++p)
#pragma unroll
    for (int i = 0; i < NV; ++i) total[i] += partials[(static_cast<std::int64_t>(c) * parts + p) * NV + i];
  finish(c, total);
}

// Slices per channel: enough blocks for about four per multiprocessor, none shorter than 2048 values.
inline int channel_reduce_parts(Context& ctx, const ChannelLayout& layout) {
  const int wanted = ceil_div(4 * device_state(ctx).sm_count(), layout.channels > 0 ? layout.channels : 1);
  const int most = ceil_div(layout.count(), 2048);
  const int parts = wanted < most ? wanted : most;
  return parts > 1 ? parts : 1;
}

// Bytes of scratch the partials need.
inline std::size_t channel_reduce_scratch(int nv, const ChannelLayout& layout, int parts) {
  return static_cast<std::size_t>(layout.channels) * parts * nv * sizeof(double);
}

// Runs both stages; `partials` must hold channel_reduce_scratch(NV, layout, parts) bytes.
template <int NV, class Term, class Finish>
void reduce_channels(Context& ctx, const Term& term, const Finish& finish, const ChannelLayout& layout, int parts,
                     double* partials, const char* op, const std::string& shapes) {
  if (layout.channels == 0) return;
  const cudaStream_t stream = stream_of(ctx);
  launch_kernel(channel_partial_sums_kernel<NV, Term>, dim3(parts, layout.channels), channel_reduce_threads, stream,
                term, layout, parts, partials);
  check_kernel(ctx, op, shapes);
  launch_kernel(channel_finish_kernel<NV, Finish>, ceil_div(layout.channels, 128), 128, stream, finish, layout.channels,
                parts, partials);
  check_kernel(ctx, op, shapes);
}

}  // namespace mien::cuda
