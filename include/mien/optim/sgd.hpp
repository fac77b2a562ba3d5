#pragma once
// Sgd<T>: stochastic gradient descent with momentum, Nesterov's by default, as PyTorch's SGD with dampening 0.
// Each step, with i = iterations():
//   lr = lr0 / (1 + decay * i)   (the same time-based decay as Adam's; off by default)
// and then ops::sgd_update on every parameter: v = momentum v + g, p = p - lr (g + momentum v) with Nesterov
// momentum, p - lr v without. momentum 0 is plain SGD (Nesterov or not: g + 0 v = v = g).
//
// weight_decay (0 by default) is decoupled weight decay as in Adam's option: each step first multiplies a weight
// by 1 - lr · weight_decay, for weight matrices and filters only (weight_decay_applies in optim/optimizer.hpp).
// Unlike PyTorch's SGD weight_decay, it is not added to the gradient, so it does not pass through the momentum.
//
// The state is one velocity per parameter, "<param>.velocity".
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/sgd.hpp"
#include "mien/optim/optimizer.hpp"
#include "mien/optim/param_state.hpp"

namespace mien {

struct SgdOptions {
  double lr = 0.01, momentum = 0.9, decay = 0, weight_decay = 0;
  bool nesterov = true;
};

template <class T>
class Sgd : public Optimizer<T> {
 public:
  explicit Sgd(SgdOptions options = {}) : options_(options) {
    check_arg(options.lr > 0, "Sgd", "learning rate must be positive, got ", options.lr);
    // momentum 1 or more never forgets a gradient: the velocity grows without bound.
    check_arg(options.momentum >= 0 && options.momentum < 1, "Sgd", "momentum must be in [0, 1), got ",
              options.momentum);
    check_arg(options.decay >= 0, "Sgd", "decay must not be negative, got ", options.decay);
    check_arg(options.weight_decay >= 0 && options.lr * options.weight_decay < 1, "Sgd", "weight_decay must be in ",
              "[0, 1 / lr), got ", options.weight_decay, " with learning rate ", options.lr);
  }

  const SgdOptions& options() const { return options_; }

  std::string type() const override { return to_string(OptimizerKind::sgd); }

  // Every field of SgdOptions, under its own name (optimizer_from_json reads them back).
  nlohmann::json options_json() const override {
    return {{"lr", options_.lr},
            {"momentum", options_.momentum},
            {"decay", options_.decay},
            {"weight_decay", options_.weight_decay},
            {"nesterov", options_.nesterov}};
  }

  // Steps taken so far; a resumed run restores it so that the decay continues where it was.
  std::int64_t iterations() const override { return iterations_; }
  void set_iterations(std::int64_t iterations) override {
    check_arg(iterations >= 0, "Sgd::set_iterations", "iterations must not be negative, got ", iterations);
    iterations_ = iterations;
  }

  double base_learning_rate() const override { return options_.lr; }

  // Changes the base learning rate lr0 (a schedule on top of the decay, e.g. halving on a plateau). A rate that
  // would make the weight-decay factor 1 - lr · weight_decay zero or negative is refused, as in the constructor.
  void set_learning_rate(double lr) override {
    check_arg(lr > 0, "Sgd::set_learning_rate", "learning rate must be positive, got ", lr);
    check_arg(lr * options_.weight_decay < 1, "Sgd::set_learning_rate", "learning rate ", lr, " times weight_decay ",
              options_.weight_decay, " must be below 1");
    options_.lr = lr;
  }

  // The decayed learning rate the next step will use.
  double current_lr() const override {
    return options_.lr / (1.0 + options_.decay * static_cast<double>(iterations_));
  }

  void step(Context& ctx, const std::vector<ParamRef<T>>& params) override {
    allocate_state(params);
    optim_detail::check_gradients("Sgd", params);
    const double lr = current_lr();
    ops::SgdStep<T> update{static_cast<T>(lr), static_cast<T>(options_.momentum), options_.nesterov};
    const T shrink = static_cast<T>(1.0 - lr * options_.weight_decay);
    for (const ParamRef<T>& p : params) {
      auto& [velocity] = velocities_.of(p.name);
      update.shrink = decays(p) ? shrink : T(1);
      ops::sgd_update(ctx, *p.value, *p.grad, velocity, update);
    }
    ++iterations_;
  }

  // Whether weight decay applies to a parameter: weights and filters, not biases or batch-norm parameters.
  static bool decays(const ParamRef<T>& p) { return weight_decay_applies(p); }

  // Gives every parameter a zero velocity on the first call (step() calls it; a checkpoint loader calls it before
  // filling state()). Later calls check that the parameters are the same names with the same shapes, and move
  // velocities to a parameter's device.
  void allocate_state(const std::vector<ParamRef<T>>& params) override { velocities_.allocate(params); }

  // The velocities as "<param>.velocity", in the parameters' first-seen order, for checkpoints. Empty until the
  // first step() or allocate_state().
  std::vector<BufferRef<T>> state() override { return velocities_.refs(); }

 private:
  SgdOptions options_;
  std::int64_t iterations_ = 0;
  optim_detail::ParamState<T, 1> velocities_{"Sgd", {"velocity"}};
};

}  // namespace mien
