#pragma once
// CUDA backend of ops/adam.hpp: the two moment updates and the parameter step in one pass, as on the CPU.
#include <cstdint>

#include "mien/cpu/adam.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/launch.cuh"

namespace mien::ops {
// Defined in ops/adam.hpp, which includes this header before it; only used here inside a template.
template <class T>
struct AdamStep;
}  // namespace mien::ops

namespace mien::cuda {

namespace adam_detail {

template <class T>
struct Update {
  T* param;
  const T* grad;
  T* m;
  T* v;
  T step_size, beta1, beta2, eps, shrink;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    const Vec<T, V> g = load_vec<V>(grad + i * V);
    Vec<T, V> mi = load_vec<V>(m + i * V), vi = load_vec<V>(v + i * V), p = load_vec<V>(param + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      mi.v[j] = beta1 * mi.v[j] + (T(1) - beta1) * g.v[j];
      vi.v[j] = beta2 * vi.v[j] + (T(1) - beta2) * g.v[j] * g.v[j];
      p.v[j] = shrink * p.v[j] - step_size * mi.v[j] / (dev_sqrt(vi.v[j]) + eps);
    }
    store_vec<V>(m + i * V, mi);
    store_vec<V>(v + i * V, vi);
    store_vec<V>(param + i * V, p);
  }
};

}  // namespace adam_detail

template <class T>
void adam_update(Context& ctx, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& m, Tensor<T>& v,
                 const ops::AdamStep<T>& step) {
  const adam_detail::Update<T> update{param.data(), grad.data(), m.data(), v.data(),
                                      step.step_size, step.beta1, step.beta2, step.eps, step.shrink};
  launch_map<T>(ctx, update, static_cast<std::int64_t>(param.numel()),
                vector_aligned(param.data(), grad.data(), m.data(), v.data()), "adam_update",
                describe_shapes({{"param", param.shape()}}));
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(adam, adam_update)
