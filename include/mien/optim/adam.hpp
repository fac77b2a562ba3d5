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
//
// Adam implements Optimizer<T> (optim/optimizer.hpp); its state is "<param>.m" and "<param>.v".
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/adam.hpp"
#include "mien/optim/optimizer.hpp"
#include "mien/optim/param_state.hpp"

namespace mien {

struct AdamOptions {
  double lr = 1e-4, decay = 1e-6, beta1 = 0.9, beta2 = 0.999, eps = 1e-7, weight_decay = 0;
};

template <class T>
class Adam : public Optimizer<T> {
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

  std::string type() const override { return to_string(OptimizerKind::adam); }

  // Every field of AdamOptions, under its own name (optimizer_from_json reads them back).
  nlohmann::json options_json() const override {
    return {{"lr", options_.lr},       {"decay", options_.decay}, {"beta1", options_.beta1},
            {"beta2", options_.beta2}, {"eps", options_.eps},     {"weight_decay", options_.weight_decay}};
  }

  // Steps taken so far; a resumed run restores it so that decay and bias correction continue where they were.
  std::int64_t iterations() const override { return iterations_; }
  void set_iterations(std::int64_t iterations) override {
    check_arg(iterations >= 0, "Adam::set_iterations", "iterations must not be negative, got ", iterations);
    iterations_ = iterations;
  }

  double base_learning_rate() const override { return options_.lr; }

  // Changes the base learning rate lr0 (a schedule on top of the decay, e.g. halving on a plateau).
  void set_learning_rate(double lr) override {
    check_arg(lr > 0, "Adam::set_learning_rate", "learning rate must be positive, got ", lr);
    options_.lr = lr;
  }

  // The decayed learning rate the next step will use.
  double current_lr() const override {
    return options_.lr / (1.0 + options_.decay * static_cast<double>(iterations_));
  }

  void step(Context& ctx, const std::vector<ParamRef<T>>& params) override {
    allocate_state(params);
    optim_detail::check_gradients("Adam", params);
    const double t = static_cast<double>(iterations_) + 1.0;
    const double step_size =
        current_lr() * std::sqrt(1.0 - std::pow(options_.beta2, t)) / (1.0 - std::pow(options_.beta1, t));
    ops::AdamStep<T> update{static_cast<T>(step_size), static_cast<T>(options_.beta1),
                            static_cast<T>(options_.beta2), static_cast<T>(options_.eps)};
    const T shrink = static_cast<T>(1.0 - current_lr() * options_.weight_decay);
    for (const ParamRef<T>& p : params) {
      auto& [m, v] = moments_.of(p.name);
      update.shrink = decays(p) ? shrink : T(1);
      ops::adam_update(ctx, *p.value, *p.grad, m, v, update);
    }
    ++iterations_;
  }

  // Whether weight decay applies to a parameter: weights and filters, not biases or batch-norm parameters.
  static bool decays(const ParamRef<T>& p) { return weight_decay_applies(p); }

  // Gives every parameter zero moments on the first call (step() calls it; a checkpoint loader calls it before
  // filling state()). Later calls check that the parameters are the same names with the same shapes, since
  // moments silently applied to a different network would be wrong, and move moments to a parameter's device.
  void allocate_state(const std::vector<ParamRef<T>>& params) override { moments_.allocate(params); }

  // The first and second moments as "<param>.m" and "<param>.v", in the parameters' first-seen order, for
  // checkpoints. Empty until the first step() or allocate_state().
  std::vector<BufferRef<T>> state() override { return moments_.refs(); }

 private:
  AdamOptions options_;
  std::int64_t iterations_ = 0;
  optim_detail::ParamState<T, 2> moments_{"Adam", {"m", "v"}};
};

}  // namespace mien
