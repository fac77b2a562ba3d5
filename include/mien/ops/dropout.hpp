#pragma once
// Inverted dropout: element i is kept iff stream.uniform(i) >= rate, and kept values are scaled by
// 1 / (1 - rate). The mask is never stored: backward draws it again from the same stream, and both
// backends draw the same numbers, so one seed gives one mask everywhere.
#include "mien/cpu/dropout.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/dropout.cuh"
#endif

namespace mien::ops {

template <class T>
void dropout_forward(Context& ctx, const Tensor<T>& x, T rate, const RandomStream& stream, Tensor<T>& y) {
  check_arg(rate >= T(0) && rate < T(1), "dropout_forward", "rate must be in [0, 1), got ", rate);
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), dropout_forward, T, ctx, x, rate, stream, y);
}

template <class T>
void dropout_backward(Context& ctx, const Tensor<T>& dy, T rate, const RandomStream& stream, Tensor<T>& dx) {
  check_arg(rate >= T(0) && rate < T(1), "dropout_backward", "rate must be in [0, 1), got ", rate);
  dx.resize(dy.shape(), dy.device());
  return MIEN_DISPATCH(dy.device(), dropout_backward, T, ctx, dy, rate, stream, dx);
}

}  // namespace mien::ops
