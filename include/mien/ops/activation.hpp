#pragma once
// Element-wise activations (any shape) and the softmax over the last dimension of [N, K].
// Backward passes take the forward output y, which is all these derivatives need.
#include "mien/cpu/activation.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/activation.cuh"
#endif

namespace mien::ops {

template <class T>
void relu_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), relu_forward, T, ctx, x, y);
}
template <class T>
void relu_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  check_arg(dy.shape() == y.shape(), "relu_backward", "gradient ", dy.shape(), " vs output ", y.shape());
  check_same_device("relu_backward", y, dy);
  dx.resize(y.shape(), y.device());
  return MIEN_DISPATCH(y.device(), relu_backward, T, ctx, y, dy, dx);
}

template <class T>
void tanh_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), tanh_forward, T, ctx, x, y);
}
template <class T>
void tanh_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  check_arg(dy.shape() == y.shape(), "tanh_backward", "gradient ", dy.shape(), " vs output ", y.shape());
  check_same_device("tanh_backward", y, dy);
  dx.resize(y.shape(), y.device());
  return MIEN_DISPATCH(y.device(), tanh_backward, T, ctx, y, dy, dx);
}

// Numerically stable (subtracts the row maximum). x [N, K] -> y [N, K], rows sum to 1.
template <class T>
void softmax_forward(Context& ctx, const Tensor<T>& x, Tensor<T>& y) {
  check_arg(x.shape().rank() == 2, "softmax_forward", "input must be [N, K], got ", x.shape());
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), softmax_forward, T, ctx, x, y);
}
template <class T>
void softmax_backward(Context& ctx, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  check_arg(dy.shape() == y.shape() && y.shape().rank() == 2, "softmax_backward", "gradient ", dy.shape(),
            " vs output ", y.shape());
  check_same_device("softmax_backward", y, dy);
  dx.resize(y.shape(), y.device());
  return MIEN_DISPATCH(y.device(), softmax_backward, T, ctx, y, dy, dx);
}

}  // namespace mien::ops
