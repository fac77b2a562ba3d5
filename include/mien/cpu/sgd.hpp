#pragma once
// CPU backend of ops/sgd.hpp: the velocity update and the parameter step fused into one pass per chunk.
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::ops {
// Defined in ops/sgd.hpp, which includes this header before it; only used here inside a template.
template <class T>
struct SgdStep;
}  // namespace mien::ops

namespace mien::cpu {

template <class T>
void sgd_update(Context&, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& velocity, const ops::SgdStep<T>& step) {
  const T lr = step.lr, momentum = step.momentum, shrink = step.shrink;
  const bool nesterov = step.nesterov;
  parallel_chunks(static_cast<std::int64_t>(param.numel()), 1, [&](int, std::int64_t begin, std::int64_t end) {
    const std::int64_t count = end - begin;
    const auto g = as_array(grad.data() + begin, count);
    auto v = as_array(velocity.data() + begin, count);
    v = momentum * v + g;
    auto p = as_array(param.data() + begin, count);
    if (shrink != T(1)) p *= shrink;
    if (nesterov)
      p -= lr * (g + momentum * v);
    else
      p -= lr * v;
  });
}

}  // namespace mien::cpu
