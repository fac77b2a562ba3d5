#pragma once
// Softmax cross-entropy over [N, K] logits with integer labels [N].
//   per-sample loss  l_i = -sum_k q_ik log p_ik,  q = (1 - smoothing) onehot(label) + smoothing / K
//   batch loss       L = (1/N) sum_i w[label_i] l_i   (w = class weights, all 1 when empty; Keras semantics)
#include <cstdint>

#include "mien/cpu/loss.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/loss.cuh"
#endif

namespace mien::ops {

template <class T>
void check_loss_args(const char* op, const Shape& logits, const Tensor<std::int32_t>& labels,
                     const Tensor<T>& class_weights, T smoothing) {
  check_arg(logits.rank() == 2, op, "logits must be [N, K], got ", logits);
  check_arg(labels.shape() == Shape({logits[0]}), op, "labels have shape ", labels.shape(), " for logits ", logits);
  check_arg(class_weights.empty() || class_weights.shape() == Shape({logits[1]}), op, "class weights have shape ",
            class_weights.shape(), " for ", logits[1], " classes");
  check_arg(smoothing >= T(0) && smoothing < T(1), op, "label smoothing must be in [0, 1), got ", smoothing);
}

// Writes the softmax probabilities (needed by backward) and returns the batch loss. Labels outside [0, K)
// throw. Synchronizes with the device to return the value.
template <class T>
T softmax_cross_entropy_forward(Context& ctx, const Tensor<T>& logits, const Tensor<std::int32_t>& labels,
                                const Tensor<T>& class_weights, T smoothing, Tensor<T>& probs) {
  check_loss_args("softmax_cross_entropy_forward", logits.shape(), labels, class_weights, smoothing);
  check_same_device("softmax_cross_entropy_forward", logits, labels);
  if (!class_weights.empty()) check_same_device("softmax_cross_entropy_forward", logits, class_weights);
  probs.resize(logits.shape(), logits.device());
  return MIEN_DISPATCH(logits.device(), softmax_cross_entropy_forward, T, ctx, logits, labels, class_weights,
                       smoothing, probs);
}

// dlogits = dL/dlogits = w[label_i] (p_i - q_i) / N.
template <class T>
void softmax_cross_entropy_backward(Context& ctx, const Tensor<T>& probs, const Tensor<std::int32_t>& labels,
                                    const Tensor<T>& class_weights, T smoothing, Tensor<T>& dlogits) {
  check_loss_args("softmax_cross_entropy_backward", probs.shape(), labels, class_weights, smoothing);
  check_same_device("softmax_cross_entropy_backward", probs, labels);
  if (!class_weights.empty()) check_same_device("softmax_cross_entropy_backward", probs, class_weights);
  dlogits.resize(probs.shape(), probs.device());
  return MIEN_DISPATCH(probs.device(), softmax_cross_entropy_backward, T, ctx, probs, labels, class_weights,
                       smoothing, dlogits);
}

}  // namespace mien::ops
