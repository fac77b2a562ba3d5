#pragma once
// CUDA backend of ops/sgd.hpp: the velocity update and the parameter step in one pass, as on the CPU.
#include <cstdint>

#include "mien/cpu/sgd.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/launch.cuh"

namespace mien::ops {
// Defined in ops/sgd.hpp, which includes this header before it; only used here inside a template.
template <class T>
struct SgdStep;
}  // namespace mien::ops

namespace mien::cuda {

namespace sgd_detail {

template <class T>
struct Update {
  T* param;
  const T* grad;
  T* velocity;
  T lr, momentum, shrink;
  bool nesterov;
  template <int V>
  __device__ void apply(std::int64_t i) const {
    const Vec<T, V> g = load_vec<V>(grad + i * V);
    Vec<T, V> vi = load_vec<V>(velocity + i * V), p = load_vec<V>(param + i * V);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      vi.v[j] = momentum * vi.v[j] + g.v[j];
      const T update = nesterov ? g.v[j] + momentum * vi.v[j] : vi.v[j];
      p.v[j] = shrink * p.v[j] - lr * update;
    }
    store_vec<V>(velocity + i * V, vi);
    store_vec<V>(param + i * V, p);
  }
};

}  // namespace sgd_detail

template <class T>
void sgd_update(Context& ctx, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& velocity,
                const ops::SgdStep<T>& step) {
  const sgd_detail::Update<T> update{param.data(), grad.data(), velocity.data(), step.lr,
                                     step.momentum, step.shrink, step.nesterov};
  launch_map<T>(ctx, update, static_cast<std::int64_t>(param.numel()),
                vector_aligned(param.data(), grad.data(), velocity.data()), "sgd_update",
                describe_shapes({{"param", param.shape()}}));
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(sgd, sgd_update)
