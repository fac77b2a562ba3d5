#pragma once
// Max pooling (square window, stride = window, floor of the extents) and global average pooling.
#include "mien/cpu/pooling.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/pooling.cuh"
#endif

namespace mien::ops {

// x [N, C, H, W] -> y [N, C, H / window, W / window]
template <class T>
void maxpool2d_forward(Context& ctx, const Tensor<T>& x, int window, Tensor<T>& y) {
  check_arg(x.shape().rank() == 4, "maxpool2d_forward", "input must be NCHW, got ", x.shape());
  check_arg(window >= 1 && x.shape().h() >= window && x.shape().w() >= window, "maxpool2d_forward", "window ",
            window, " does not fit input ", x.shape());
  const Shape& s = x.shape();
  y.resize(Shape{s.n(), s.c(), s.h() / window, s.w() / window}, x.device());
  MIEN_DISPATCH(x.device(), maxpool2d_forward, ctx, x, window, y);
}

// Routes each output gradient to the first position (row-major within its window) that holds the maximum.
template <class T>
void maxpool2d_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, int window,
                        Tensor<T>& dx) {
  check_arg(dy.shape() == y.shape(), "maxpool2d_backward", "output gradient ", dy.shape(), " vs output ", y.shape());
  check_same_device("maxpool2d_backward", x, y, dy);
  dx.resize(x.shape(), x.device());
  MIEN_DISPATCH(x.device(), maxpool2d_backward, ctx, x, y, dy, window, dx);
}

// x [N, C, H, W] -> y [N, C]
template <class T>
void global_avgpool_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  check_arg(x.shape().rank() == 4, "global_avgpool_forward", "input must be NCHW, got ", x.shape());
  y.resize(Shape{x.shape().n(), x.shape().c()}, x.device());
  MIEN_DISPATCH(x.device(), global_avgpool_forward, ctx, x, y);
}

template <class T>
void global_avgpool_backward(Context& ctx, const Tensor<T>& dy, const Shape& x_shape, Tensor<T>& dx) {
  check_arg(dy.shape() == Shape({x_shape.n(), x_shape.c()}), "global_avgpool_backward", "output gradient ",
            dy.shape(), " does not match input ", x_shape);
  dx.resize(x_shape, dy.device());
  MIEN_DISPATCH(dy.device(), global_avgpool_backward, ctx, dy, dx);
}

}  // namespace mien::ops
