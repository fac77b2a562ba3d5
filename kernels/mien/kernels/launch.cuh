#pragma once
// What every mien kernel file shares: launch checks that name the op and its shapes, grid sizing for
// grid-stride loops, aligned vector loads and stores, and the element-wise "map" kernel that the memory-bound
// ops run through (each op is a small functor; the launcher picks 16-byte vectors when the data allows).
#include <cuda_runtime.h>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>
#include <type_traits>
#include <utility>

#include "mien/core/cuda_check.hpp"
#include "mien/core/shape.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/device_state.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/vec.hpp"

namespace mien::cuda {

// "x [32, 1, 128, 128], w [32, 1, 3, 3]" for error messages: name, shape pairs.
inline std::string describe_shapes(std::initializer_list<std::pair<const char*, Shape>> named) {
  std::ostringstream out;
  bool first = true;
  for (const auto& [name, shape] : named) {
    out << (first ? "" : ", ") << name << ' ' << shape;
    first = false;
  }
  return out.str();
}

// Checks the kernel launch just queued. With MIEN_CUDA_SYNC_CHECKS defined it also waits for the kernel, so
// that a fault is reported by the op that caused it rather than by the next synchronizing call (slow; for
// debugging).
inline void check_kernel(Context& ctx, const char* op, const std::string& shapes) {
  check_launch(op, shapes);
#if defined(MIEN_CUDA_SYNC_CHECKS)
  check(cudaStreamSynchronize(stream_of(ctx)), op, "running the kernel for " + shapes);
#else
  (void)ctx;
#endif
}

// Kernels that index with 32-bit integers (the convolutions, the per-channel reductions) refuse tensors whose
// element count does not fit, rather than silently wrapping around.
inline void require_int32_indexing(const char* op, std::int64_t elements, const std::string& shapes) {
  check_arg(elements <= std::numeric_limits<std::int32_t>::max(), op, "tensors of ", elements,
            " elements exceed the 2^31 the CUDA kernels index (", shapes, "); use a smaller batch");
}

// Queues kernel<<<grid, block, 0, stream>>>(args...), the arguments converted to the kernel's parameter types.
// Every mien kernel goes through here, so that the CUDA emulator (tests/emulator), which compiles the kernels as
// C++, can run the same launch on the CPU.
template <class... Params, class... Args>
void launch_kernel(void (*kernel)(Params...), dim3 grid, dim3 block, cudaStream_t stream, const Args&... args) {
  static_assert(sizeof...(Params) == sizeof...(Args), "launch_kernel: wrong number of kernel arguments");
#if defined(MIEN_CUDA_EMULATION)
  (void)stream;
  mien_emulator::launch(grid, block, [&] { kernel(static_cast<Params>(args)...); });
#else
  kernel<<<grid, block, 0, stream>>>(static_cast<Params>(args)...);
#endif
}

constexpr int default_threads = 256;

// Blocks for a grid-stride loop over `work` items: enough to fill the device (16 blocks of 256 threads per
// multiprocessor is the most that can be resident), never more than the items need.
inline int grid_blocks(Context& ctx, std::int64_t work, int threads = default_threads) {
  const std::int64_t needed = (work + threads - 1) / threads;
  const std::int64_t most = static_cast<std::int64_t>(device_state(ctx).sm_count()) * 16;
  return static_cast<int>(needed < most ? (needed > 0 ? needed : 1) : most);
}

// True when every pointer is 16-byte aligned (device allocations are; views at odd offsets would not be).
template <class... P>
bool vector_aligned(const P*... ptrs) {
  return ((reinterpret_cast<std::uintptr_t>(ptrs) % 16 == 0) && ...);
}

// Runs op.apply<V>(i) for every pack i of V consecutive elements, V being 1 or the 16-byte vector width.
template <int V, class Op>
__global__ void map_kernel(Op op, std::int64_t packs) {
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < packs; i += stride)
    op.template apply<V>(i);
}

// The two common map shapes: y = f(x) and y = f(a, b), element by element, with f a small functor whose
// __device__ operator() takes and returns T.
template <class T, class F>
struct UnaryMap {
  const T* x;
  T* y;
  F f;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    Vec<T, V> v = load_vec<V>(x + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = f(v.v[j]);
    store_vec<V>(y + i * V, v);
  }
};

template <class T, class F>
struct BinaryMap {
  const T* a;
  const T* b;
  T* y;
  F f;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    Vec<T, V> u = load_vec<V>(a + i * V);
    const Vec<T, V> v = load_vec<V>(b + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) u.v[j] = f(u.v[j], v.v[j]);
    store_vec<V>(y + i * V, u);
  }
};

// Launches map_kernel over `count` elements; `vectorize` says whether the op's data allows packs of the vector
// width (count divisible by it, pointers aligned, and whatever the op's own indexing needs).
template <class T, class Op>
void launch_map(Context& ctx, const Op& op, std::int64_t count, bool vectorize, const char* name,
                const std::string& shapes) {
  if (count == 0) return;
  constexpr int V = vector_width<T>;
  if (vectorize && count % V == 0) {
    launch_kernel(map_kernel<V, Op>, grid_blocks(ctx, count / V), default_threads, stream_of(ctx), op, count / V);
  } else {
    launch_kernel(map_kernel<1, Op>, grid_blocks(ctx, count), default_threads, stream_of(ctx), op, count);
  }
  check_kernel(ctx, name, shapes);
}

}  // namespace mien::cuda
