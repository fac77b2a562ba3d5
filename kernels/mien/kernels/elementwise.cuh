#pragma once
// CUDA backend of ops/elementwise.hpp: add, fill, and the count of non-finite values (a grid-stride count with
// one integer atomic per block, read back synchronously).
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "mien/cpu/elementwise.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace elementwise_detail {

struct Plus {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};

template <class T>
struct Fill {
  T* x;
  T value;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    Vec<T, V> v;
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = value;
    store_vec<V>(x + i * V, v);
  }
};

template <class T>
__global__ void count_nonfinite_kernel(const T* __restrict__ x, std::int64_t count,
                                       unsigned long long* __restrict__ total) {
  unsigned long long bad[1] = {0};
  const std::int64_t stride = static_cast<std::int64_t>(gridDim.x) * blockDim.x;
  for (std::int64_t i = static_cast<std::int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < count; i += stride)
    bad[0] += dev_isfinite(x[i]) ? 0u : 1u;
  block_sum<1>(bad);
  if (threadIdx.x == 0 && bad[0] != 0) atomicAdd(total, bad[0]);
}

}  // namespace elementwise_detail

template <class T>
void add(Context& ctx, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  launch_map<T>(ctx, BinaryMap<T, elementwise_detail::Plus>{a.data(), b.data(), y.data(), {}}, static_cast<std::int64_t>(a.numel()),
                vector_aligned(a.data(), b.data(), y.data()), "add", describe_shapes({{"a", a.shape()}}));
}

template <class T>
void fill(Context& ctx, Tensor<T>& x, T value) {
  launch_map<T>(ctx, elementwise_detail::Fill<T>{x.data(), value}, static_cast<std::int64_t>(x.numel()),
                vector_aligned(x.data()), "fill", describe_shapes({{"x", x.shape()}}));
}

template <class T>
std::int64_t count_nonfinite(Context& ctx, const Tensor<T>& x) {
  const char* op = "count_nonfinite";
  const std::int64_t count = static_cast<std::int64_t>(x.numel());
  if (count == 0) return 0;
  const std::string shapes = describe_shapes({{"x", x.shape()}});
  const cudaStream_t stream = stream_of(ctx);
  auto* total = static_cast<unsigned long long*>(device_state(ctx).workspace(sizeof(unsigned long long), op));
  check(cudaMemsetAsync(total, 0, sizeof(unsigned long long), stream), op, shapes);
  launch_kernel(elementwise_detail::count_nonfinite_kernel<T>, grid_blocks(ctx, count), default_threads, stream,
                x.data(), count, total);
  check_kernel(ctx, op, shapes);
  unsigned long long host = 0;
  check(cudaMemcpyAsync(&host, total, sizeof(host), cudaMemcpyDeviceToHost, stream), op, shapes);
  check(cudaStreamSynchronize(stream), op, shapes);
  return static_cast<std::int64_t>(host);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(elementwise, add, fill, count_nonfinite)
