#pragma once
// Adam<T>: Keras 2's legacy Adam with time-based learning-rate decay, the optimizer of the paper (Table 3:
// learning rate 1e-4, decay 1e-6; the rest are Keras' defaults). Each step, with i = iterations():
//   lr = lr0 / (1 + decay * i),   t = i + 1,   step_size = lr * sqrt(1 - beta2^t) / (1 - beta1^t)
// and then ops::adam_update on every parameter. The scalars are worked out in double on the host; only the
// per-element update runs on the parameters' device.
//
// weight_decay (0 by default, not in the paper) adds decoupled weight decay as in AdamW (Loshchilov & Hutter,
// "Decoupled Weight Decay Regularization", ICLR 2019), in PyTorch's form: each step first multiplies a weight by
// 1 - lr · weight_decay. It applies to weight matrices and filters (parameters of rank 2 or more), not to biases
// or batch-norm scales and shifts (the usual choice: those set scales and offsets, not feature detectors).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/adam.hpp"

namespace mien {

struct AdamOptions {
  double lr = 1e-4, decay = 1e-6, beta1 = 0.9, beta2 = 0.999, eps = 1e-7, weight_decay = 0;
};

template <class T>
class Adam {
 public:
  explicit Adam(AdamOptions options = {}) : options_(options) {
    check_arg(options.lr > 0, "Adam", "learning rate must be positive, got ", options.lr);
    check_arg(options.decay >= 0, "Adam", "decay must not be negative, got ", options.decay);
    check_arg(options.beta1 >= 0 && options.beta1 < 1, "Adam", "beta1 must be in [0, 1), got ", options.beta1);
    check_arg(options.beta2 >= 0 && options.beta2 < 1, "Adam", "beta2 must be in [0, 1), got ", options.beta2);
    check_arg(options.eps > 0, "Adam", "eps must be positive, got ", options.eps);
    check_arg(options.weight_decay >= 0 && options.lr * options.weight_decay < 1, "Adam", "weight_decay must be in ",
              "[0, 1 / lr), got ", options.weight_decay);
  }

  const AdamOptions& options() const { return options_; }

  // Steps taken so far; a resumed run restores it so that decay and bias correction continue where they were.
  std::int64_t iterations() const { return iterations_; }
  void set_iterations(std::int64_t iterations) {
    check_arg(iterations >= 0, "Adam::set_iterations", "iterations must not be negative, got ", iterations);
    iterations_ = iterations;
  }

  // Changes the base learning rate lr0 (a schedule on top of the decay, e.g. halving on a plateau).
  void set_learning_rate(double lr) {
    check_arg(lr > 0, "Adam::set_learning_rate", "learning rate must be positive, got ", lr);
    options_.lr = lr;
  }

  // The decayed learning rate the next step will use.
  double current_lr() const { return options_.lr / (1.0 + options_.decay * static_cast<double>(iterations_)); }

  void step(Context& ctx, const std::vector<ParamRef<T>>& params) {
    allocate_state(params);
    // Checked up front so that a bad entry cannot leave the network half updated.
    for (const ParamRef<T>& p : params)
      check_arg(p.grad->shape() == p.value->shape() && p.grad->device() == p.value->device(), "Adam", "parameter '",
                p.name, "' ", p.value->shape(), " on ", to_string(p.value->device()), " has a gradient ",
                p.grad->shape(), " on ", to_string(p.grad->device()));
    const double t = static_cast<double>(iterations_) + 1.0;
    const double step_size =
        current_lr() * std::sqrt(1.0 - std::pow(options_.beta2, t)) / (1.0 - std::pow(options_.beta1, t));
    ops::AdamStep<T> update{static_cast<T>(step_size), static_cast<T>(options_.beta1),
                            static_cast<T>(options_.beta2), static_cast<T>(options_.eps)};
    const T shrink = static_cast<T>(1.0 - current_lr() * options_.weight_decay);
    for (const ParamRef<T>& p : params) {
      Moments& moments = moments_[index_.at(p.name)];
      update.shrink = decays(p) ? shrink : T(1);
      ops::adam_update(ctx, *p.value, *p.grad, moments.m, moments.v, update);
    }
    ++iterations_;
  }

  // Whether weight decay applies to a parameter: weights and filters, not biases or batch-norm parameters.
  static bool decays(const ParamRef<T>& p) { return p.value->shape().rank() >= 2; }

  // Gives every parameter zero moments on the first call (step() calls it; a checkpoint loader calls it before
  // filling state()). Later calls check that the parameters are the same names with the same shapes, since
  // moments silently applied to a different network would be wrong, and move moments to a parameter's device.
  void allocate_state(const std::vector<ParamRef<T>>& params) {
    if (moments_.empty()) {
      std::map<std::string, std::size_t> index;
      for (const ParamRef<T>& p : params)
        check_arg(index.emplace(p.name, index.size()).second, "Adam", "parameter name '", p.name, "' appears twice");
      for (const ParamRef<T>& p : params)
        moments_.push_back({p.name, Tensor<T>::zeros(p.value->shape(), p.value->device()),
                            Tensor<T>::zeros(p.value->shape(), p.value->device())});
      index_ = std::move(index);
      return;
    }
    check_arg(params.size() == moments_.size(), "Adam", "got ", params.size(), " parameters, but the optimizer state ",
              "holds ", moments_.size(), " (the set of parameter names changed since the first step)");
    std::vector<bool> seen(moments_.size(), false);
    for (const ParamRef<T>& p : params) {
      const auto it = index_.find(p.name);
      check_arg(it != index_.end(), "Adam", "parameter '", p.name, "' has no optimizer state (the set of ",
                "parameter names changed since the first step)");
      check_arg(!seen[it->second], "Adam", "parameter name '", p.name, "' appears twice");
      seen[it->second] = true;
      Moments& moments = moments_[it->second];
      check_arg(moments.m.shape() == p.value->shape(), "Adam", "parameter '", p.name, "' has shape ", p.value->shape(),
                ", its optimizer state ", moments.m.shape());
      if (moments.m.device() != p.value->device()) {
        moments.m = moments.m.to(p.value->device());
        moments.v = moments.v.to(p.value->device());
      }
    }
  }

  // The first and second moments as "<param>.m" and "<param>.v", in the parameters' first-seen order, for
  // checkpoints. Empty until the first step() or allocate_state().
  std::vector<BufferRef<T>> state() {
    std::vector<BufferRef<T>> out;
    for (Moments& moments : moments_) {
      out.push_back({moments.name + ".m", &moments.m});
      out.push_back({moments.name + ".v", &moments.v});
    }
    return out;
  }

 private:
  struct Moments {
    std::string name;
    Tensor<T> m, v;
  };

  AdamOptions options_;
  std::int64_t iterations_ = 0;
  std::vector<Moments> moments_;
  std::map<std::string, std::size_t> index_;
};

}  // namespace mien
