#pragma once
// One Adam step on one parameter tensor (Kingma & Ba 2015, in the form Keras uses):
//   m = beta1 m + (1 - beta1) g;  v = beta2 v + (1 - beta2) g²;  p = shrink p - step_size m / (sqrt(v) + eps)
// step_size already folds in the learning-rate decay and the bias correction, and shrink is 1 - lr · weight_decay
// for decoupled weight decay (AdamW), 1 without it (see optim/adam.hpp).
#include <cmath>

#include "mien/cpu/adam.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/adam.cuh"
#endif

namespace mien::ops {

template <class T>
struct AdamStep {
  T step_size;
  T beta1;
  T beta2;
  T eps;
  T shrink = T(1);
};

template <class T>
void adam_update(Context& ctx, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& m, Tensor<T>& v,
                 const AdamStep<T>& step) {
  check_arg(grad.shape() == param.shape() && m.shape() == param.shape() && v.shape() == param.shape(), "adam_update",
            "parameter ", param.shape(), ", gradient ", grad.shape(), ", moments ", m.shape(), " and ", v.shape(),
            " must match");
  check_arg(step.beta1 >= T(0) && step.beta1 < T(1) && step.beta2 >= T(0) && step.beta2 < T(1), "adam_update",
            "beta1 and beta2 must be in [0, 1), got ", step.beta1, " and ", step.beta2);
  check_arg(step.eps >= T(0) && std::isfinite(step.step_size) && std::isfinite(step.shrink), "adam_update",
            "needs epsilon >= 0 and a finite step size and shrink, got ", step.eps, ", ", step.step_size, ", ",
            step.shrink);
  check_same_device("adam_update", param, grad, m, v);
  return MIEN_DISPATCH(param.device(), adam_update, T, ctx, param, grad, m, v, step);
}

}  // namespace mien::ops
