#pragma once
// One SGD step with momentum on one parameter tensor (PyTorch's SGD with dampening 0):
//   v = momentum v + g;  update = nesterov ? g + momentum v : v;  p = shrink p - lr update
// lr already folds in the time-based decay, and shrink is 1 - lr · weight_decay for decoupled weight decay,
// 1 without it (see optim/sgd.hpp). momentum 0 is plain SGD (v then holds the last gradient).
#include <cmath>

#include "mien/cpu/sgd.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/sgd.cuh"
#endif

namespace mien::ops {

template <class T>
struct SgdStep {
  T lr;
  T momentum;
  bool nesterov = true;
  T shrink = T(1);
};

template <class T>
void sgd_update(Context& ctx, Tensor<T>& param, const Tensor<T>& grad, Tensor<T>& velocity, const SgdStep<T>& step) {
  check_arg(grad.shape() == param.shape(), "sgd_update", "gradient ", grad.shape(), " does not match parameter ",
            param.shape());
  check_arg(velocity.shape() == param.shape(), "sgd_update", "velocity ", velocity.shape(),
            " does not match parameter ", param.shape());
  check_arg(step.momentum >= T(0) && step.momentum < T(1), "sgd_update", "momentum must be in [0, 1), got ",
            step.momentum);
  check_arg(std::isfinite(static_cast<double>(step.lr)) && std::isfinite(static_cast<double>(step.shrink)),
            "sgd_update", "learning rate ", step.lr, " and shrink ", step.shrink, " must be finite");
  check_same_device("sgd_update", param, grad, velocity);
  return MIEN_DISPATCH(param.device(), sgd_update, T, ctx, param, grad, velocity, step);
}

}  // namespace mien::ops
