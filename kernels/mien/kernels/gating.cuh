#pragma once
// CUDA backend of ops/gating.hpp. Forward passes are element-wise maps (one gate per H·W plane); each backward
// pass is one kernel with a block per plane that writes the scaled gradient and reduces the plane's gate
// gradient from the same loads of dy.
#include <cstdint>
#include <string>

#include "mien/cpu/gating.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace gating_detail {

// y = x * s[plane of the element]
template <class T>
struct ChannelScale {
  const T* x;
  const T* s;
  T* y;
  FastDivmod plane;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    const T gate = s[plane.div(e)];
    Vec<T, V> v = load_vec<V>(x + e);
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] *= gate;
    store_vec<V>(y + e, v);
  }
};

// y = main + skip * gate[plane of the element]
template <class T>
struct GatedAdd {
  const T* main;
  const T* skip;
  const T* gate;
  T* y;
  FastDivmod plane;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    const T g = gate[plane.div(e)];
    Vec<T, V> out = load_vec<V>(main + e);
    const Vec<T, V> s = load_vec<V>(skip + e);
#pragma unroll
    for (int j = 0; j < V; ++j) out.v[j] += s.v[j] * g;
    store_vec<V>(y + e, out);
  }
};

// Block p: out = dy * gate[p] over plane p, and dgate[p] = Σ dy * other over it. V-wide accesses when the
// plane length allows.
template <int V, class T>
__global__ void scale_and_dot_kernel(const T* __restrict__ dy, const T* __restrict__ gate,
                                     const T* __restrict__ other, T* __restrict__ out, T* __restrict__ dgate,
                                     int plane) {
  const int p = static_cast<int>(blockIdx.x);
  const std::int64_t base = static_cast<std::int64_t>(p) * plane;
  const T g = gate[p];
  double acc[1] = {0.0};
  for (int i = static_cast<int>(threadIdx.x) * V; i < plane; i += static_cast<int>(blockDim.x) * V) {
    Vec<T, V> d = load_vec<V>(dy + base + i);
    const Vec<T, V> o = load_vec<V>(other + base + i);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      acc[0] += static_cast<double>(d.v[j] * o.v[j]);
      d.v[j] *= g;
    }
    store_vec<V>(out + base + i, d);
  }
  block_sum<1>(acc);
  if (threadIdx.x == 0) dgate[p] = static_cast<T>(acc[0]);
}

// Threads for a block that walks `packs` vectors: a multiple of 32, at most 256.
inline int plane_threads(int packs) {
  const int rounded = ceil_div(packs, 32) * 32;
  return rounded < 32 ? 32 : rounded > 256 ? 256 : rounded;
}

template <class T>
void scale_and_dot(Context& ctx, const Tensor<T>& dy, const Tensor<T>& gate, const Tensor<T>& other, Tensor<T>& out,
                   Tensor<T>& dgate, const char* op, const std::string& shapes) {
  const Shape& s = dy.shape();
  const int planes = static_cast<int>(s.n() * s.c()), plane = static_cast<int>(s.h() * s.w());
  if (planes == 0) return;
  constexpr int V = vector_width<T>;
  const cudaStream_t stream = stream_of(ctx);
  if (plane % V == 0 && vector_aligned(dy.data(), other.data(), out.data())) {
    launch_kernel(scale_and_dot_kernel<V, T>, planes, plane_threads(plane / V), stream, dy.data(), gate.data(),
                  other.data(), out.data(), dgate.data(), plane);
  } else {
    launch_kernel(scale_and_dot_kernel<1, T>, planes, plane_threads(plane), stream, dy.data(), gate.data(),
                  other.data(), out.data(), dgate.data(), plane);
  }
  check_kernel(ctx, op, shapes);
}

template <class T>
bool plane_vectorizes(const Shape& s) {
  return (s.h() * s.w()) % vector_width<T> == 0;
}

}  // namespace gating_detail

template <class T>
void channel_scale_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& s, Tensor<T>& y) {
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"s", s.shape()}});
  require_int32_indexing("channel_scale_forward", static_cast<std::int64_t>(x.numel()), shapes);
  if (x.numel() == 0) return;
  const int plane = static_cast<int>(x.shape().h() * x.shape().w());
  launch_map<T>(ctx, gating_detail::ChannelScale<T>{x.data(), s.data(), y.data(), FastDivmod(plane)},
                static_cast<std::int64_t>(x.numel()),
                gating_detail::plane_vectorizes<T>(x.shape()) && vector_aligned(x.data(), y.data()),
                "channel_scale_forward", shapes);
}

template <class T>
void channel_scale_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& s, const Tensor<T>& dy, Tensor<T>& dx,
                            Tensor<T>& ds) {
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"s", s.shape()}});
  require_int32_indexing("channel_scale_backward", static_cast<std::int64_t>(x.numel()), shapes);
  gating_detail::scale_and_dot(ctx, dy, s, x, dx, ds, "channel_scale_backward", shapes);
}

template <class T>
void gated_add_forward(Context& ctx, const Tensor<T>& main, const Tensor<T>& skip, const Tensor<T>& gate,
                       Tensor<T>& y) {
  const std::string shapes = describe_shapes({{"main", main.shape()}, {"gate", gate.shape()}});
  require_int32_indexing("gated_add_forward", static_cast<std::int64_t>(main.numel()), shapes);
  if (main.numel() == 0) return;
  const int plane = static_cast<int>(main.shape().h() * main.shape().w());
  launch_map<T>(ctx, gating_detail::GatedAdd<T>{main.data(), skip.data(), gate.data(), y.data(), FastDivmod(plane)},
                static_cast<std::int64_t>(main.numel()),
                gating_detail::plane_vectorizes<T>(main.shape()) && vector_aligned(main.data(), skip.data(), y.data()),
                "gated_add_forward", shapes);
}

template <class T>
void gated_add_backward(Context& ctx, const Tensor<T>& skip, const Tensor<T>& gate, const Tensor<T>& dy,
                        Tensor<T>& dskip, Tensor<T>& dgate) {
  const std::string shapes = describe_shapes({{"skip", skip.shape()}, {"gate", gate.shape()}});
  require_int32_indexing("gated_add_backward", static_cast<std::int64_t>(skip.numel()), shapes);
  gating_detail::scale_and_dot(ctx, dy, gate, skip, dskip, dgate, "gated_add_backward", shapes);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(gating, channel_scale_forward, channel_scale_backward, gated_add_forward, gated_add_backward)
