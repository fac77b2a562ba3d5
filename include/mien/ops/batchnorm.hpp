#pragma once
// Batch normalization per channel: over (N, H, W) for NCHW maps, over N for [N, F] features (F channels).
// Keras semantics: running = momentum * running + (1 - momentum) * batch statistic, with the biased batch
// variance, and y = gamma * (x - mean) / sqrt(var + eps) + beta.
// `relu` fuses the ReLU that follows batch norm in most networks (y = max(0, ...)) into the same pass over the
// data; its backward then takes the fused output y, to let dy through only where y > 0.
#include "mien/cpu/batchnorm.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/batchnorm.cuh"
#endif

namespace mien::ops {

template <class T>
void check_batchnorm_params(const char* op, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta) {
  check_arg(x.shape().rank() == 2 || x.shape().rank() == 4, op, "input must be [N, F] or NCHW, got ", x.shape());
  check_shape(gamma, Shape{x.shape().c()}, op, "gamma");
  check_shape(beta, Shape{x.shape().c()}, op, "beta");
}

template <class T>
void check_batchnorm_scalars(const char* op, T momentum, T eps) {
  check_arg(momentum >= T(0) && momentum <= T(1), op, "momentum must be in [0, 1], got ", momentum);
  check_arg(eps > T(0), op, "epsilon must be positive, got ", eps);
}

// Training: normalizes with the batch statistics, updates the running ones, and saves the batch mean and
// 1 / sqrt(var + eps) per channel for the backward pass.
template <class T>
void batchnorm_forward_train(Context& ctx, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             Tensor<T>& running_mean, Tensor<T>& running_var, T momentum, T eps, Tensor<T>& y,
                             Tensor<T>& saved_mean, Tensor<T>& saved_invstd, bool relu = false) {
  const char* op = "batchnorm_forward_train";
  check_batchnorm_params(op, x, gamma, beta);
  check_shape(running_mean, gamma.shape(), op, "running mean");
  check_shape(running_var, gamma.shape(), op, "running variance");
  check_batchnorm_scalars(op, momentum, eps);
  check_same_device(op, x, gamma, beta, running_mean, running_var);
  check_arg(x.shape().numel() / x.shape().c() > 1, op,
            "needs more than one value per channel to compute batch statistics, got ", x.shape());
  y.resize(x.shape(), x.device());
  saved_mean.resize(gamma.shape(), x.device());
  saved_invstd.resize(gamma.shape(), x.device());
  return MIEN_DISPATCH(x.device(), batchnorm_forward_train, T, ctx, x, gamma, beta, running_mean, running_var,
                       momentum, eps, y, saved_mean, saved_invstd, relu);
}

// Inference: normalizes with the running statistics.
template <class T>
void batchnorm_forward_infer(Context& ctx, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             const Tensor<T>& running_mean, const Tensor<T>& running_var, T eps, Tensor<T>& y,
                             bool relu = false) {
  const char* op = "batchnorm_forward_infer";
  check_batchnorm_params(op, x, gamma, beta);
  check_shape(running_mean, gamma.shape(), op, "running mean");
  check_shape(running_var, gamma.shape(), op, "running variance");
  check_batchnorm_scalars(op, T(0), eps);
  check_same_device(op, x, gamma, beta, running_mean, running_var);
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), batchnorm_forward_infer, T, ctx, x, gamma, beta, running_mean, running_var, eps, y,
                       relu);
}

// Backward of the inference forward, where the running statistics are constants (Grad-CAM through a trained
// network): dx = dy * gamma / sqrt(running_var + eps), masked by a fused ReLU's output when given. No parameter
// gradients: a frozen batch norm is not trained.
template <class T>
void batchnorm_backward_infer(Context& ctx, const Tensor<T>& dy, const Tensor<T>& gamma, const Tensor<T>& running_var,
                              T eps, Tensor<T>& dx, const Tensor<T>* relu_output = nullptr) {
  const char* op = "batchnorm_backward_infer";
  check_arg(dy.shape().rank() == 2 || dy.shape().rank() == 4, op, "gradient must be [N, F] or NCHW, got ", dy.shape());
  check_shape(gamma, Shape{dy.shape().c()}, op, "gamma");
  check_shape(running_var, gamma.shape(), op, "running variance");
  check_batchnorm_scalars(op, T(0), eps);
  check_same_device(op, dy, gamma, running_var);
  if (relu_output != nullptr) {
    check_arg(relu_output->shape() == dy.shape(), op, "ReLU output ", relu_output->shape(), " vs gradient ", dy.shape());
    check_same_device(op, dy, *relu_output);
  }
  dx.resize(dy.shape(), dy.device());
  return MIEN_DISPATCH(dy.device(), batchnorm_backward_infer, T, ctx, dy, gamma, running_var, eps, dx, relu_output);
}

// Backward of the training-mode forward. Overwrites dx, dgamma, dbeta. relu_output: the output of a forward with
// the ReLU fused, or nullptr for plain batch norm.
template <class T>
void batchnorm_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& dy, const Tensor<T>& gamma,
                        const Tensor<T>& saved_mean, const Tensor<T>& saved_invstd, Tensor<T>& dx, Tensor<T>& dgamma,
                        Tensor<T>& dbeta, const Tensor<T>* relu_output = nullptr) {
  const char* op = "batchnorm_backward";
  check_arg(x.shape().rank() == 2 || x.shape().rank() == 4, op, "input must be [N, F] or NCHW, got ", x.shape());
  check_arg(dy.shape() == x.shape(), op, "gradient ", dy.shape(), " vs input ", x.shape());
  check_shape(gamma, Shape{x.shape().c()}, op, "gamma");
  check_shape(saved_mean, gamma.shape(), op, "saved mean");
  check_shape(saved_invstd, gamma.shape(), op, "saved 1/std");
  check_same_device(op, x, dy, gamma, saved_mean, saved_invstd);
  if (relu_output != nullptr) {
    check_arg(relu_output->shape() == x.shape(), op, "ReLU output ", relu_output->shape(), " vs input ", x.shape());
    check_same_device(op, x, *relu_output);
  }
  dx.resize(x.shape(), x.device());
  dgamma.resize(gamma.shape(), x.device());
  dbeta.resize(gamma.shape(), x.device());
  return MIEN_DISPATCH(x.device(), batchnorm_backward, T, ctx, x, dy, gamma, saved_mean, saved_invstd, dx, dgamma,
                       dbeta, relu_output);
}

}  // namespace mien::ops
