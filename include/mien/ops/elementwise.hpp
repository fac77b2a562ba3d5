#pragma once
// Small whole-tensor utilities the layers and the trainer need on either device.
#include <cstdint>

#include "mien/cpu/elementwise.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/elementwise.cuh"
#endif

namespace mien::ops {

// y = a + b (same shapes).
template <class T>
void add(Context& ctx, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  check_arg(a.shape() == b.shape(), "add", "shapes ", a.shape(), " and ", b.shape(), " differ");
  check_same_device("add", a, b);
  y.resize(a.shape(), a.device());
  return MIEN_DISPATCH(a.device(), add, T, ctx, a, b, y);
}

// x = value everywhere.
template <class T>
void fill(Context& ctx, Tensor<T>& x, T value) {
  return MIEN_DISPATCH(x.device(), fill, T, ctx, x, value);
}

// How many elements are NaN or infinite (the trainer's fault detector). Synchronizes with the device.
template <class T>
std::int64_t count_nonfinite(Context& ctx, const Tensor<T>& x) {
  return MIEN_DISPATCH(x.device(), count_nonfinite, T, ctx, x);
}

}  // namespace mien::ops
