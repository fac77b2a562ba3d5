#pragma once
// One SGD step with momentum on one parameter tensor (PyTorch's SGD with dampening 0):
//   v = momentum v + g;  update = nesterov ? g + momentum v : v;  p = shrink p - lr update
// lr already folds in the time-based decay, and shrink is 1 - lr · weight_decay for decoupled weight decay,
// 1 without it (see optim/sgd.hpp). momentum 0 is plain SGD (v then holds the last gradient).
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
  check_arg(grad.device() == param.device() && velocity.device() == param.device(), "sgd_update", "parameter on ",
            to_string(param.device()), ", gradient on ", to_string(grad.device()), " and velocity on ",
            to_string(velocity.device()), " must be on one device");
  MIEN_DISPATCH(param.device(), sgd_update, ctx, param, grad, velocity, step);
}

}  // namespace mien::ops
