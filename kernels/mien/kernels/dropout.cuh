#pragma once
// CUDA backend of ops/dropout.hpp: out[i] = uniform(i) >= rate ? in[i] / (1 - rate) : 0, the same map forward
// and backward, with the CPU's Philox stream, so both backends draw the same mask. The comparison is made in
// float and the scale is computed on the host exactly as the CPU computes it, so the outputs agree bitwise.
#include <cstdint>
#include <string>

#include "mien/cpu/dropout.hpp"
#include "mien/core/context.hpp"
#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/philox_block.hpp"

namespace mien::cuda {

namespace dropout_detail {

template <class T>
struct ApplyMask {
  const T* in;
  T* out;
  RandomStream stream;
  float threshold;
  T scale;

  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const std::int64_t first = pack * V;
    Vec<T, V> v = load_vec<V>(in + first);
    if constexpr (V == 4) {
      // A pack of four starting at a multiple of 4 is exactly one Philox block.
      float u[4];
      uniform_block(stream, static_cast<std::uint64_t>(pack), u);
#pragma unroll
      for (int j = 0; j < 4; ++j) v.v[j] = u[j] >= threshold ? v.v[j] * scale : T(0);
    } else {
#pragma unroll
      for (int j = 0; j < V; ++j)
        v.v[j] = stream.uniform(static_cast<std::uint64_t>(first + j)) >= threshold ? v.v[j] * scale : T(0);
    }
    store_vec<V>(out + first, v);
  }
};

template <class T>
void apply_mask(Context& ctx, const Tensor<T>& in, T rate, const RandomStream& stream, Tensor<T>& out,
                const char* op) {
  const ApplyMask<T> mask{in.data(), out.data(), stream, static_cast<float>(rate), T(1) / (T(1) - rate)};
  launch_map<T>(ctx, mask, static_cast<std::int64_t>(in.numel()), vector_aligned(in.data(), out.data()), op,
                describe_shapes({{"x", in.shape()}}));
}

}  // namespace dropout_detail

template <class T>
void dropout_forward(Context& ctx, const Tensor<T>& x, T rate, const RandomStream& stream, Tensor<T>& y) {
  dropout_detail::apply_mask(ctx, x, rate, stream, y, "dropout_forward");
}

template <class T>
void dropout_backward(Context& ctx, const Tensor<T>& dy, T rate, const RandomStream& stream, Tensor<T>& dx) {
  dropout_detail::apply_mask(ctx, dy, rate, stream, dx, "dropout_backward");
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(dropout, dropout_forward, dropout_backward)
