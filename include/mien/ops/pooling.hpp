#pragma once
// Max pooling (square window, stride = window, floor of the extents) and global average pooling.
#include "mien/cpu/pooling.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/pooling.cuh"
#endif

namespace mien::ops {

template <class T>
void check_maxpool_input(const char* op, const Tensor<T>& x, int window) {
  check_arg(x.shape().rank() == 4, op, "input must be NCHW, got ", x.shape());
  check_arg(window >= 1 && x.shape().h() >= window && x.shape().w() >= window, op, "window ", window,
            " does not fit input ", x.shape());
}

inline Shape maxpool2d_output_shape(const Shape& x, int window) {
  return Shape{x.n(), x.c(), x.h() / window, x.w() / window};
}

// x [N, C, H, W] -> y [N, C, H / window, W / window]
template <class T>
void maxpool2d_forward(Context& ctx, const Tensor<T>& x, int window, Tensor<T>& y) {
  check_maxpool_input("maxpool2d_forward", x, window);
  y.resize(maxpool2d_output_shape(x.shape(), window), x.device());
  return MIEN_DISPATCH(x.device(), maxpool2d_forward, T, ctx, x, window, y);
}

// Routes each output gradient to the first position (row-major within its window) that holds the maximum.
template <class T>
void maxpool2d_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, int window,
                        Tensor<T>& dx) {
  const char* op = "maxpool2d_backward";
  check_maxpool_input(op, x, window);
  check_arg(y.shape() == maxpool2d_output_shape(x.shape(), window), op, "output ", y.shape(), " is not input ",
            x.shape(), " pooled by ", window);
  check_arg(dy.shape() == y.shape(), op, "output gradient ", dy.shape(), " vs output ", y.shape());
  check_same_device(op, x, y, dy);
  dx.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), maxpool2d_backward, T, ctx, x, y, dy, window, dx);
}

// x [N, C, H, W] -> y [N, C]
template <class T>
void global_avgpool_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  check_arg(x.shape().rank() == 4, "global_avgpool_forward", "input must be NCHW, got ", x.shape());
  y.resize(Shape{x.shape().n(), x.shape().c()}, x.device());
  return MIEN_DISPATCH(x.device(), global_avgpool_forward, T, ctx, x, y);
}

template <class T>
void global_avgpool_backward(Context& ctx, const Tensor<T>& dy, const Shape& x_shape, Tensor<T>& dx) {
  check_arg(x_shape.rank() == 4, "global_avgpool_backward", "input shape must be NCHW, got ", x_shape);
  check_arg(dy.shape() == Shape({x_shape.n(), x_shape.c()}), "global_avgpool_backward", "output gradient ",
            dy.shape(), " does not match input ", x_shape);
  dx.resize(x_shape, dy.device());
  return MIEN_DISPATCH(dy.device(), global_avgpool_backward, T, ctx, dy, x_shape, dx);
}

}  // namespace mien::ops
