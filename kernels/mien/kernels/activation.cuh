#pragma once
// CUDA backend of ops/activation.hpp: element-wise ReLU and tanh through the vectorized map kernel, and the
// row softmax with one warp per row (the rows are short: 7 classes in the paper's network).
#include <cstdint>
#include <string>

#include "mien/cpu/activation.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/launch.cuh"

namespace mien::cuda {

namespace activation_detail {

struct Relu {
  template <class T>
  __device__ T operator()(T x) const {
    return x > T(0) ? x : T(0);
  }
};

// (y, dy) -> dx. The derivative at 0 is 0, as on the CPU (y = 0 there).
struct ReluGrad {
  template <class T>
  __device__ T operator()(T y, T dy) const {
    return y > T(0) ? dy : T(0);
  }
};

struct Tanh {
  template <class T>
  __device__ T operator()(T x) const {
    return dev_tanh(x);
  }
};

// (y, dy) -> dx = dy (1 - y²)
struct TanhGrad {
  template <class T>
  __device__ T operator()(T y, T dy) const {
    return dy * (T(1) - y * y);
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
  launch_map<T>(ctx, UnaryMap<T, activation_detail::Relu>{x.data(), y.data(), {}}, static_cast<std::int64_t>(x.numel()),
                vector_aligned(x.data(), y.data()), "relu_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void relu_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  launch_map<T>(ctx, BinaryMap<T, activation_detail::ReluGrad>{y.data(), dy.data(), dx.data(), {}},
                static_cast<std::int64_t>(y.numel()), vector_aligned(y.data(), dy.data(), dx.data()), "relu_backward",
                describe_shapes({{"y", y.shape()}}));
}

template <class T>
void tanh_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  launch_map<T>(ctx, UnaryMap<T, activation_detail::Tanh>{x.data(), y.data(), {}}, static_cast<std::int64_t>(x.numel()),
                vector_aligned(x.data(), y.data()), "tanh_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void tanh_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  launch_map<T>(ctx, BinaryMap<T, activation_detail::TanhGrad>{y.data(), dy.data(), dx.data(), {}},
                static_cast<std::int64_t>(y.numel()), vector_aligned(y.data(), dy.data(), dx.data()), "tanh_backward",
                describe_shapes({{"y", y.shape()}}));
}

template <class T>
void softmax_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  const int rows = static_cast<int>(x.shape()[0]), cols = static_cast<int>(x.shape()[1]);
  if (rows == 0 || cols == 0) return;
  const int blocks = ceil_div(rows, activation_detail::rows_per_block);
  launch_kernel(activation_detail::softmax_forward_kernel<T>, blocks, 32 * activation_detail::rows_per_block,
                stream_of(ctx), x.data(), y.data(), rows, cols);
  check_kernel(ctx, "softmax_forward", describe_shapes({{"x", x.shape()}}));
}

template <class T>
void softmax_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  const int rows = static_cast<int>(y.shape()[0]), cols = static_cast<int>(y.shape()[1]);
  if (rows == 0 || cols == 0) return;
  const int blocks = ceil_div(rows, activation_detail::rows_per_block);
  launch_kernel(activation_detail::softmax_backward_kernel<T>, blocks, 32 * activation_detail::rows_per_block,
                stream_of(ctx), y.data(), dy.data(), dx.data(), rows, cols);
  check_kernel(ctx, "softmax_backward", describe_shapes({{"y", y.shape()}}));
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(activation, relu_forward, relu_backward, tanh_forward, tanh_backward, softmax_forward, softmax_backward)
