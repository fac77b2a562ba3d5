#pragma once
// SoftmaxCrossEntropy<T>: the training loss over [N, K] logits and int32 labels [N], with optional per-class
// weights and label smoothing (formulas in ops/loss.hpp). It has no parameters, so it is not a Module.
#include <cstdint>
#include <utility>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"
#include "mien/ops/loss.hpp"

namespace mien {

template <class T>
class SoftmaxCrossEntropy {
 public:
  explicit SoftmaxCrossEntropy(Tensor<T> class_weights = {}, T label_smoothing = T(0))
      : class_weights_(std::move(class_weights)), smoothing_(label_smoothing) {
    // A default-constructed tensor has rank 0, which counts one element; the ops take "no weights" to be a
    // tensor with no elements, so that is what it becomes.
    if (class_weights_.shape().rank() == 0) class_weights_ = Tensor<T>(Shape{0});
    check_arg(class_weights_.shape().rank() == 1, "SoftmaxCrossEntropy", "class weights must be a vector, got ",
              class_weights_.shape());
    check_arg(smoothing_ >= T(0) && smoothing_ < T(1), "SoftmaxCrossEntropy", "label smoothing must be in [0, 1), got ",
              smoothing_);
  }

  // Returns the batch loss and keeps the probabilities and a pointer to labels (which must stay alive until
  // backward) for the backward pass.
  T forward(Context& ctx, const Tensor<T>& logits, const Tensor<std::int32_t>& labels) {
    // The weights follow the logits to their device once, instead of living on a device chosen up front.
    if (!class_weights_.empty() && class_weights_.device() != logits.device())
      class_weights_ = class_weights_.to(logits.device());
    const T loss = ops::softmax_cross_entropy_forward(ctx, logits, labels, class_weights_, smoothing_, probs_);
    labels_ = &labels;
    return loss;
  }

  // dL/dlogits for the last forward.
  const Tensor<T>& backward(Context& ctx) {
    check_arg(labels_ != nullptr, "SoftmaxCrossEntropy::backward", "needs a forward first");
    ops::softmax_cross_entropy_backward(ctx, probs_, *labels_, class_weights_, smoothing_, dlogits_);
    return dlogits_;
  }

  // Softmax probabilities of the last forward, [N, K].
  const Tensor<T>& probs() const { return probs_; }
  const Tensor<T>& class_weights() const { return class_weights_; }
  T label_smoothing() const { return smoothing_; }

 private:
  Tensor<T> class_weights_;
  T smoothing_;
  Tensor<T> probs_, dlogits_;
  const Tensor<std::int32_t>* labels_ = nullptr;
};

}  // namespace mien
