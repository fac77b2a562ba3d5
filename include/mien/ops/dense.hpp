#pragma once
// Fully connected layer: y = x wᵀ + b.   x [N, F], w [O, F], b [O]  ->  y [N, O]
#include "mien/cpu/dense.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/dense.cuh"
#endif

namespace mien::ops {

template <class T>
void check_dense_args(const char* op, const Tensor<T>& x, const Tensor<T>& w) {
  check_arg(x.shape().rank() == 2, op, "input must be [N, F], got ", x.shape());
  check_arg(w.shape().rank() == 2 && w.shape()[1] == x.shape()[1], op, "input ", x.shape(),
            " does not match weights ", w.shape());
}

template <class T>
void dense_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  check_dense_args("dense_forward", x, w);
  check_shape(b, Shape{w.shape()[0]}, "dense_forward", "bias");
  check_same_device("dense_forward", x, w, b);
  y.resize(Shape{x.shape()[0], w.shape()[0]}, x.device());
  return MIEN_DISPATCH(x.device(), dense_forward, T, ctx, x, w, b, y);
}

// Overwrites dx, dw, db.
template <class T>
void dense_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& dy, Tensor<T>& dx,
                    Tensor<T>& dw, Tensor<T>& db) {
  check_dense_args("dense_backward", x, w);
  check_arg(dy.shape() == Shape({x.shape()[0], w.shape()[0]}), "dense_backward", "output gradient ", dy.shape(),
            " does not match input ", x.shape(), " and weights ", w.shape());
  check_same_device("dense_backward", x, w, dy);
  dx.resize(x.shape(), x.device());
  dw.resize(w.shape(), x.device());
  db.resize(Shape{w.shape()[0]}, x.device());
  return MIEN_DISPATCH(x.device(), dense_backward, T, ctx, x, w, dy, dx, dw, db);
}

}  // namespace mien::ops
