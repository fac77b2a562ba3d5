#pragma once
// Parallel<T>: branches that read the same input, their outputs concatenated along channels, left to right.
//   x [N, C, H, W] -> [branch1(x) | branch2(x) | ...]  [N, K1 + K2 + ..., H', W']
// Every branch must give the same N, H' and W'. Backward splits the gradient back into the branches and sums the
// gradients they return for x. The paper's multi-scale streams are one (a 3×3 and a 5×5 convolution stack).
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/layer.hpp"
#include "mien/layers/named_children.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/elementwise.hpp"

namespace mien {

template <class T>
class Parallel : public Layer<T> {
 public:
  // Adds a branch under a name (its parameters' prefix); names must be unique.
  Layer<T>& add(std::string name, std::unique_ptr<Layer<T>> branch) {
    return branches_.add("Parallel::add", "branch", std::move(name), std::move(branch));
  }

  std::string type() const override { return "Parallel"; }
  std::size_t size() const { return branches_.size(); }
  Layer<T>& at(std::size_t i) { return branches_.at(i); }
  const std::string& name_at(std::size_t i) const { return branches_.name_at(i); }

  Shape output_shape(const Shape& input) const override {
    check_arg(!branches_.empty(), "Parallel", "no branches");
    Shape out = branches_.at(0).output_shape(input);
    check_arg(out.rank() == 4, "Parallel", "branches must give NCHW maps, '", branches_.name_at(0), "' gives ", out);
    for (std::size_t i = 1; i < branches_.size(); ++i) {
      const Shape s = branches_.at(i).output_shape(input);
      check_arg(s.rank() == 4 && s.n() == out.n() && s.h() == out.h() && s.w() == out.w(), "Parallel", "branch '",
                branches_.name_at(i), "' gives ", s, ", branch '", branches_.name_at(0), "' ", out,
                ": only the channel counts may differ");
      out = Shape{out.n(), out.c() + s.c(), out.h(), out.w()};
    }
    return out;
  }

  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    output_shape(x.shape());
    channels_.clear();
    merged_.resize(branches_.size() > 1 ? branches_.size() - 1 : 0);
    const Tensor<T>* h = &branches_.at(0).forward(ctx, x, mode);
    channels_.push_back(h->shape().c());
    for (std::size_t i = 1; i < branches_.size(); ++i) {
      const Tensor<T>& b = branches_.at(i).forward(ctx, x, mode);
      channels_.push_back(b.shape().c());
      ops::concat_channels_forward(ctx, *h, b, merged_[i - 1]);
      h = &merged_[i - 1];
    }
    return *h;
  }

  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    check_arg(channels_.size() == branches_.size(), "Parallel::backward", "called before forward");
    // Split right to left: the last branch's channels come off the end of the merged gradient each time.
    grads_.resize(branches_.size());
    const Tensor<T>* g = &dy;
    Tensor<T> left;
    for (std::size_t i = branches_.size() - 1; i >= 1; --i) {
      ops::concat_channels_backward(ctx, *g, g->shape().c() - channels_[i], left, grads_[i]);
      grads_[0] = std::move(left);
      g = &grads_[0];
    }
    if (branches_.size() == 1) grads_[0] = dy;
    bool have = false;
    for (std::size_t i = 0; i < branches_.size(); ++i) {
      const Tensor<T>& d = branches_.at(i).backward(ctx, grads_[i]);
      if (d.numel() == 0) continue;  // a branch told to skip its input gradient
      if (have) {
        ops::add(ctx, dx_, d, dx_);
      } else {
        dx_ = d;
        have = true;
      }
    }
    if (!have) dx_ = Tensor<T>();
    return dx_;
  }

  std::vector<ParamRef<T>> params() override { return branches_.params(); }
  std::vector<BufferRef<T>> buffers() override { return branches_.buffers(); }
  void to(Device device) override { branches_.to(device); }
  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = 0;
    for (std::size_t i = 0; i < branches_.size(); ++i) total += branches_.at(i).macs(input);
    return total;
  }

 private:
  NamedChildren<T> branches_;
  std::vector<std::int64_t> channels_;
  std::vector<Tensor<T>> merged_, grads_;
  Tensor<T> dx_;
};

}  // namespace mien
