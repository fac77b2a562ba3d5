#pragma once
// CUDA backend of ops/activation.hpp: element-wise ReLU and tanh through the vectorized map kernel, and the
// row softmax with one warp per row (the rows are short: 7 classes in the paper's network).
#include <cstdint>
#include <string>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/launch.cuh"

namespace mien::cuda {

namespace activation_detail {

template <class T>
struct ReluForward {
  const T* x;
  T* y;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    Vec<T, V> v = load_vec<V>(x + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = v.v[j] > T(0) ? v.v[j] : T(0);
    store_vec<V>(y + i * V, v);
  }
};

// The derivative at 0 is 0, as on the CPU (y = 0 there).
template <class T>
struct ReluBackward {
  const T* y;
  const T* dy;
  T* dx;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    const Vec<T, V> out = load_vec<V>(y + i * V);
    Vec<T, V> g = load_vec<V>(dy + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) g.v[j] = out.v[j] > T(0) ? g.v[j] : T(0);
    store_vec<V>(dx + i * V, g);
  }
};

template <class T>
struct TanhForward {
  const T* x;
  T* y;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    Vec<T, V> v = load_vec<V>(x + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] = dev_tanh(v.v[j]);
    store_vec<V>(y + i * V, v);
  }
};

template <class T>
struct TanhBackward {
  const T* y;
  const T* dy;
  T* dx;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    const Vec<T, V> out = load_vec<V>(y + i * V);
    Vec<T, V> g = load_vec<V>(dy + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) g.v[j] = g.v[j] * (T(1) - out.v[j] * out.v[j]);
    store_vec<V>(dx + i * V, g);
  }
};

constexpr int rows_per_block = 8;  // one warp per row

template <class T>
__global__ void softmax_forward_kernel(const T* __restrict__ x, T* __restrict__ y, int rows, int cols) {
  const int row = static_cast<int>(blockIdx.x) * rows_per_block + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;
  const T* in = x + static_cast<std::int64_t>(row) * cols;
  T* out = y + static_cast<std::int64_t>(row) * cols;
  T largest = in[0];
  for (int c = lane; c < cols; c += 32) largest = in[c] > largest ? in[c] : largest;
  largest = warp_allreduce_max(largest);
  T sum = T(0);
  for (int c = lane; c < cols; c += 32) {
    const T e = dev_exp(in[c] - largest);
    out[c] = e;
    sum += e;
  }
  sum = warp_allreduce_sum(sum);
  for (int c = lane; c < cols; c += 32) out[c] /= sum;
}

// dx = y ⊙ (dy - Σ_k dy_k y_k)
template <class T>
__global__ void softmax_backward_kernel(const T* __restrict__ y, const T* __restrict__ dy, T* __restrict__ dx,
                                        int rows, int cols) {
  const int row = static_cast<int>(blockIdx.x) * rows_per_block + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;
  const std::int64_t base = static_cast<std::int64_t>(row) * cols;
  T dot = T(0);
  for (int c = lane; c < cols; c += 32) dot += dy[base + c] * y[base + c];
  dot = warp_allreduce_sum(dot);
  for (int c = lane; c < cols; c += 32) dx[base + c] = y[base + c] * (dy[base + c] - dot);
}

}  // namespace activation_detail

template <class T>
void relu_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  launch_map<T>(ctx, activation_detail::ReluForward<T>{x.data(), y.data()}, static_cast<std::int64_t>(x.numel()),
                vector_aligned(x.data(), y.data()), "relu_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void relu_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  launch_map<T>(ctx, activation_detail::ReluBackward<T>{y.data(), dy.data(), dx.data()},
                static_cast<std::int64_t>(y.numel()), vector_aligned(y.data(), dy.data(), dx.data()), "relu_backward",
                describe_shapes({{"y", y.shape()}}));
}

template <class T>
void tanh_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  launch_map<T>(ctx, activation_detail::TanhForward<T>{x.data(), y.data()}, static_cast<std::int64_t>(x.numel()),
                vector_aligned(x.data(), y.data()), "tanh_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void tanh_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  launch_map<T>(ctx, activation_detail::TanhBackward<T>{y.data(), dy.data(), dx.data()},
                static_cast<std::int64_t>(y.numel()), vector_aligned(y.data(), dy.data(), dx.data()), "tanh_backward",
                describe_shapes({{"y", y.shape()}}));
}

template <class T>
void softmax_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  const int rows = static_cast<int>(x.shape()[0]), cols = static_cast<int>(x.shape()[1]);
  if (rows == 0 || cols == 0) return;
  const int blocks = ceil_div(rows, activation_detail::rows_per_block);
  activation_detail::softmax_forward_kernel<<<blocks, 32 * activation_detail::rows_per_block, 0, stream_of(ctx)>>>(
      x.data(), y.data(), rows, cols);
  check_kernel(ctx, "softmax_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void softmax_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  const int rows = static_cast<int>(y.shape()[0]), cols = static_cast<int>(y.shape()[1]);
  if (rows == 0 || cols == 0) return;
  const int blocks = ceil_div(rows, activation_detail::rows_per_block);
  activation_detail::softmax_backward_kernel<<<blocks, 32 * activation_detail::rows_per_block, 0, stream_of(ctx)>>>(
      y.data(), dy.data(), dx.data(), rows, cols);
  check_kernel(ctx, "softmax_backward", describe_shapes({{"y", y.shape()}}));
}

}  // namespace mien::cuda
