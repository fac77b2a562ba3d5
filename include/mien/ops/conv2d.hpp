#pragma once
// 2-D convolution, stride 1, "same" zero padding, odd square kernels, with bias.
//   x [N, C, H, W], w [K, C, k, k], b [K]  ->  y [N, K, H, W]
#include "mien/cpu/conv2d.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/conv2d.cuh"
#endif

namespace mien::ops {

template <class T>
void check_conv2d_weights(const char* op, const Shape& x, const Tensor<T>& w) {
  check_arg(x.rank() == 4, op, "input must be NCHW, got ", x);
  check_arg(w.shape().rank() == 4, op, "weights must be [K, C, k, k], got ", w.shape());
  check_arg(w.shape()[1] == x.c(), op, "input has ", x.c(), " channels, weights expect ", w.shape()[1]);
  check_arg(w.shape()[2] == w.shape()[3] && w.shape()[2] % 2 == 1, op, "kernel must be square and odd, got ",
            w.shape());
}

template <class T>
void check_conv2d_args(const char* op, const Shape& x, const Tensor<T>& w, const Tensor<T>& b) {
  check_conv2d_weights(op, x, w);
  check_shape(b, Shape{w.shape()[0]}, op, "bias");
}

template <class T>
void conv2d_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  check_conv2d_args("conv2d_forward", x.shape(), w, b);
  check_same_device("conv2d_forward", x, w, b);
  y.resize(Shape{x.shape().n(), w.shape()[0], x.shape().h(), x.shape().w()}, x.device());
  return MIEN_DISPATCH(x.device(), conv2d_forward, T, ctx, x, w, b, y);
}

// dx = dL/dx given dy = dL/dy; x_shape is the forward input's shape.
template <class T>
void conv2d_backward_data(Context& ctx, const Tensor<T>& dy, const Tensor<T>& w, const Shape& x_shape, Tensor<T>& dx) {
  check_conv2d_weights("conv2d_backward_data", x_shape, w);
  check_arg(dy.shape() == Shape({x_shape.n(), w.shape()[0], x_shape.h(), x_shape.w()}), "conv2d_backward_data",
            "output gradient has shape ", dy.shape(), " for input ", x_shape, " and weights ", w.shape());
  check_same_device("conv2d_backward_data", dy, w);
  dx.resize(x_shape, dy.device());
  return MIEN_DISPATCH(dy.device(), conv2d_backward_data, T, ctx, dy, w, x_shape, dx);
}

// dw = dL/dw and db = dL/db (both overwritten, not accumulated). dw must be sized like the weights: it says the
// kernel extent.
template <class T>
void conv2d_backward_filter(Context& ctx, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw, Tensor<T>& db) {
  const char* op = "conv2d_backward_filter";
  check_conv2d_weights(op, x.shape(), dw);
  check_arg(dy.shape() == Shape({x.shape().n(), dw.shape()[0], x.shape().h(), x.shape().w()}), op,
            "output gradient has shape ", dy.shape(), " for input ", x.shape(), " and weight gradient ",
            dw.shape());
  check_same_device(op, x, dy, dw);
  db.resize(Shape{dy.shape().c()}, x.device());
  return MIEN_DISPATCH(x.device(), conv2d_backward_filter, T, ctx, x, dy, dw, db);
}

}  // namespace mien::ops
