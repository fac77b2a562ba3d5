#pragma once
// CPU backend of ops/adam.hpp: the two moment updates and the parameter step fused into one pass per chunk.
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::ops {
// Defined in ops/adam.hpp, which includes this header before it; only used here inside a template.
template <class T>
struct AdamStep;
}  // namespace mien::ops

namespace mien::cpu {

template <class T>
void adam_update(Context&, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& m, Tensor<T>& v,
                 const ops::AdamStep<T>& step) {
  const T beta1 = step.beta1, beta2 = step.beta2, eps = step.eps, step_size = step.step_size, shrink = step.shrink;
  parallel_chunks(static_cast<std::int64_t>(param.numel()), 1, [&](int, std::int64_t begin, std::int64_t end) {
    const std::int64_t count = end - begin;
    const auto g = as_array(grad.data() + begin, count);
    auto m_chunk = as_array(m.data() + begin, count);
    auto v_chunk = as_array(v.data() + begin, count);
    m_chunk = beta1 * m_chunk + (T(1) - beta1) * g;
    v_chunk = beta2 * v_chunk + (T(1) - beta2) * g.square();
    auto p = as_array(param.data() + begin, count);
    if (shrink != T(1)) p *= shrink;
    p -= step_size * m_chunk / (v_chunk.sqrt() + eps);
  });
}

}  // namespace mien::cpu
