#pragma once
// CUDA backend of ops/pooling.hpp: max pooling with one thread per output window, global average pooling with
// one block per (image, channel) plane.
#include <cstdint>
#include <string>

#include "mien/cpu/pooling.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace pooling_detail {

// Output o of [planes, out_h, out_w] -> offset of its window's top-left input element in [planes, h, w].
struct WindowIndex {
  FastDivmod out_plane, out_w;
  int h, w, window;
  __device__ int corner(int o) const {
    int plane, pos, row, col;
    out_plane.divmod(o, plane, pos);
    out_w.divmod(pos, row, col);
    return (plane * h + row * window) * w + col * window;
  }
};

template <class T>
__global__ void maxpool_forward_kernel(const T* __restrict__ x, T* __restrict__ y, WindowIndex index, int outputs) {
  for (int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); o < outputs;
       o += static_cast<int>(gridDim.x * blockDim.x)) {
    const T* corner = x + index.corner(o);
    // Strict > keeps the first maximum in row-major order, as the CPU does and backward assumes.
    T best = corner[0];
    for (int i = 0; i < index.window; ++i)
      for (int j = 0; j < index.window; ++j) {
        const T v = corner[i * index.w + j];
        if (v > best) best = v;
      }
    y[o] = best;
  }
}

// Writes the whole window: dy to the first element equal to the window's maximum, 0 to the others.
template <class T>
__global__ void maxpool_backward_kernel(const T* __restrict__ x, const T* __restrict__ y, const T* __restrict__ dy,
                                        T* __restrict__ dx, WindowIndex index, int outputs) {
  for (int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); o < outputs;
       o += static_cast<int>(gridDim.x * blockDim.x)) {
    const int corner = index.corner(o);
    const T best = y[o], g = dy[o];
    bool routed = false;
    for (int i = 0; i < index.window; ++i)
      for (int j = 0; j < index.window; ++j) {
        const int at = corner + i * index.w + j;
        const bool here = !routed && x[at] == best;
        dx[at] = here ? g : T(0);
        routed = routed || here;
      }
  }
}

// y[p] = mean of plane p.
template <class T>
__global__ void plane_mean_kernel(const T* __restrict__ x, T* __restrict__ y, int plane) {
  const int p = static_cast<int>(blockIdx.x);
  const T* in = x + static_cast<std::int64_t>(p) * plane;
  double acc[1] = {0.0};
  for (int i = static_cast<int>(threadIdx.x); i < plane; i += static_cast<int>(blockDim.x))
    acc[0] += static_cast<double>(in[i]);
  block_sum<1>(acc);
  if (threadIdx.x == 0) y[p] = static_cast<T>(acc[0] / plane);
}

// dx = dy[plane of the element] / plane size
template <class T>
struct SpreadMean {
  const T* dy;
  T* dx;
  FastDivmod plane;
  T scale;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    const T g = dy[plane.div(e)] * scale;
    Vec<T, V> v;
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = g;
    store_vec<V>(dx + e, v);
  }
};

inline WindowIndex window_index(const Shape& x, const Shape& y, int window) {
  return WindowIndex{FastDivmod(static_cast<int>(y.h() * y.w() > 0 ? y.h() * y.w() : 1)),
                     FastDivmod(static_cast<int>(y.w() > 0 ? y.w() : 1)), static_cast<int>(x.h()),
                     static_cast<int>(x.w()), window};
}

}  // namespace pooling_detail

template <class T>
void maxpool2d_forward(Context& ctx, const Tensor<T>& x, int window, Tensor<T>& y) {
  const std::string shapes = describe_shapes({{"x", x.shape()}});
  require_int32_indexing("maxpool2d_forward", static_cast<std::int64_t>(x.numel()), shapes);
  const int outputs = static_cast<int>(y.numel());
  if (outputs == 0) return;
  launch_kernel(pooling_detail::maxpool_forward_kernel<T>, grid_blocks(ctx, outputs), default_threads, stream_of(ctx),
                x.data(), y.data(), pooling_detail::window_index(x.shape(), y.shape(), window), outputs);
  check_kernel(ctx, "maxpool2d_forward", shapes);
}

template <class T>
void maxpool2d_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, int window,
                        Tensor<T>& dx) {
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"dy", dy.shape()}});
  require_int32_indexing("maxpool2d_backward", static_cast<std::int64_t>(x.numel()), shapes);
  if (dx.numel() == 0) return;
  // Rows and columns cut off by the floored output extents belong to no window: they get zero.
  if (x.shape().h() % window != 0 || x.shape().w() % window != 0)
    check(cudaMemsetAsync(dx.data(), 0, dx.bytes(), stream_of(ctx)), "maxpool2d_backward", shapes);
  const int outputs = static_cast<int>(y.numel());
  if (outputs == 0) return;
  launch_kernel(pooling_detail::maxpool_backward_kernel<T>, grid_blocks(ctx, outputs), default_threads, stream_of(ctx),
                x.data(), y.data(), dy.data(), dx.data(), pooling_detail::window_index(x.shape(), y.shape(), window),
                outputs);
  check_kernel(ctx, "maxpool2d_backward", shapes);
}

template <class T>
void global_avgpool_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  const std::string shapes = describe_shapes({{"x", x.shape()}});
  const int planes = static_cast<int>(y.numel()), plane = static_cast<int>(x.shape().h() * x.shape().w());
  if (planes == 0) return;
  const int threads = plane >= 256 ? 256 : ceil_div(plane > 0 ? plane : 1, 32) * 32;
  launch_kernel(pooling_detail::plane_mean_kernel<T>, planes, threads, stream_of(ctx), x.data(), y.data(), plane);
  check_kernel(ctx, "global_avgpool_forward", shapes);
}

template <class T>
void global_avgpool_backward(Context& ctx, const Tensor<T>& dy, const Shape& /*x_shape: dx's*/, Tensor<T>& dx) {
  const std::string shapes = describe_shapes({{"dy", dy.shape()}, {"dx", dx.shape()}});
  require_int32_indexing("global_avgpool_backward", static_cast<std::int64_t>(dx.numel()), shapes);
  const int plane = static_cast<int>(dx.shape().h() * dx.shape().w());
  if (dx.numel() == 0 || plane == 0) return;
  launch_map<T>(ctx, pooling_detail::SpreadMean<T>{dy.data(), dx.data(), FastDivmod(plane), T(1) / static_cast<T>(plane)},
                static_cast<std::int64_t>(dx.numel()), plane % vector_width<T> == 0 && vector_aligned(dx.data()),
                "global_avgpool_backward", shapes);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(pooling, maxpool2d_forward, maxpool2d_backward, global_avgpool_forward, global_avgpool_backward)
