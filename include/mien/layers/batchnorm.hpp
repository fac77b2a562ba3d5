#pragma once
// BatchNorm<T>: batch normalization over the channels of NCHW maps or the features of [N, F] inputs, with Keras'
// defaults (momentum 0.99, eps 1e-3). Training normalizes with the batch statistics and moves the running ones
// toward them; inference normalizes with the running ones.
// BatchNormReLU<T>: batch norm followed by a ReLU in the same passes over the data, which saves writing the
// normalized tensor and reading it back, in each direction.
#include <cstdint>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/layers/init.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/batchnorm.hpp"

namespace mien {

template <class T>
class BatchNorm : public Layer<T> {
 public:
  BatchNorm(Context& ctx, std::int64_t channels, T momentum = T(0.99), T eps = T(1e-3))
      : BatchNorm(ctx, channels, momentum, eps, false) {}

  std::string type() const override { return name(); }
  std::int64_t channels() const { return channels_; }
  T momentum() const { return momentum_; }
  T eps() const { return eps_; }

  Shape output_shape(const Shape& input) const override {
    check_input(input);
    return input;
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    check_input(x.shape());
    if (mode == Mode::train) {
      ops::batchnorm_forward_train(ctx, x, gamma_, beta_, running_mean_, running_var_, momentum_, eps_, y_, saved_mean_,
                                   saved_invstd_, relu_);
      x_ = &x;
    } else {
      ops::batchnorm_forward_infer(ctx, x, gamma_, beta_, running_mean_, running_var_, eps_, y_, relu_);
      x_ = nullptr;
    }
    inferred_ = mode == Mode::infer;
    return y_;
  }

  // Gradients of the training-mode forward: the batch statistics depend on x, so dx has the two extra terms an
  // inference-mode backward has not. After an inference forward (Grad-CAM through a trained network) only dx is
  // computed, with the running statistics as constants; the parameter gradients are left as they were, since a
  // frozen batch norm is not trained.
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    if (inferred_) {
      ops::batchnorm_backward_infer(ctx, dy, gamma_, running_var_, eps_, dx_, relu_ ? &y_ : nullptr);
      return dx_;
    }
    check_arg(x_ != nullptr, "BatchNorm::backward", "called before forward");
    ops::batchnorm_backward(ctx, *x_, dy, gamma_, saved_mean_, saved_invstd_, dx_, dgamma_, dbeta_,
                            relu_ ? &y_ : nullptr);
    return dx_;
  }

  std::vector<ParamRef<T>> params() override { return {{"gamma", &gamma_, &dgamma_}, {"beta", &beta_, &dbeta_}}; }
  std::vector<BufferRef<T>> buffers() override {
    return {{"running_mean", &running_mean_}, {"running_var", &running_var_}};
  }

  // Mean and 1 / sqrt(var + eps) of the last training batch, per channel.
  const Tensor<T>& batch_mean() const { return saved_mean_; }
  const Tensor<T>& batch_invstd() const { return saved_invstd_; }

 protected:
  BatchNorm(Context& ctx, std::int64_t channels, T momentum, T eps, bool relu)
      : channels_(channels), momentum_(momentum), eps_(eps), relu_(relu) {
    check_arg(channels > 0, name(), "channels must be positive, got ", channels);
    check_arg(momentum >= T(0) && momentum <= T(1), name(), "momentum must be in [0, 1], got ", momentum);
    check_arg(eps > T(0), name(), "eps must be positive, got ", eps);
    const Device device = ctx.device();
    gamma_ = constant(Shape{channels}, T(1), device);
    beta_ = constant(Shape{channels}, T(0), device);
    running_mean_ = constant(Shape{channels}, T(0), device);
    running_var_ = constant(Shape{channels}, T(1), device);
    dgamma_ = Tensor<T>::zeros(Shape{channels}, device);
    dbeta_ = Tensor<T>::zeros(Shape{channels}, device);
  }

 private:
  const char* name() const { return relu_ ? "BatchNormReLU" : "BatchNorm"; }

  void check_input(const Shape& s) const {
    check_arg(s.rank() == 2 || s.rank() == 4, name(), "input must be [N, F] or NCHW, got ", s);
    check_arg(s.c() == channels_, name(), "input ", s, " has ", s.c(), " channels, the layer was built for ",
              channels_);
  }

  std::int64_t channels_;
  T momentum_, eps_;
  bool relu_;
  Tensor<T> gamma_, beta_, running_mean_, running_var_, dgamma_, dbeta_;
  Tensor<T> y_, dx_, saved_mean_, saved_invstd_;
  const Tensor<T>* x_ = nullptr;
  bool inferred_ = false;
};

template <class T>
class BatchNormReLU : public BatchNorm<T> {
 public:
  BatchNormReLU(Context& ctx, std::int64_t channels, T momentum = T(0.99), T eps = T(1e-3))
      : BatchNorm<T>(ctx, channels, momentum, eps, true) {}
};

}  // namespace mien
