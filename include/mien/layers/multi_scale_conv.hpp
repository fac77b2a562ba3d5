#pragma once
// MultiScaleConv: parallel Conv2D streams with different kernel sizes over the same input, their outputs
// concatenated along channels in stream order.  x [N, C, H, W] -> y [N, S·K, H, W] for S streams of K maps.
// Parameters are named after the stream's kernel: "conv3.weight", "conv5.bias", ...
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/conv2d.hpp"
#include "mien/layers/layer.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/elementwise.hpp"

namespace mien {

template <class T>
class MultiScaleConv : public Layer<T> {
 public:
  MultiScaleConv(Context& ctx, std::int64_t in_channels, std::int64_t out_channels_per_stream,
                 std::vector<int> kernels = {3, 5})
      : in_channels_(in_channels), per_stream_(out_channels_per_stream), kernels_(std::move(kernels)) {
    check_arg(!kernels_.empty(), "MultiScaleConv", "needs at least one kernel size");
    for (std::size_t i = 0; i < kernels_.size(); ++i)
      check_arg(std::find(kernels_.begin(), kernels_.begin() + i, kernels_[i]) == kernels_.begin() + i,
                "MultiScaleConv", "kernel size ", kernels_[i], " appears twice (parameter names would clash)");
    for (int k : kernels_) streams_.push_back(std::make_unique<Conv2D<T>>(ctx, in_channels, out_channels_per_stream, k));
    joined_.resize(kernels_.size() - 1);
    // The last join's gradient is dy itself, so only the inner joins need buffers.
    joined_grad_.resize(kernels_.size() > 2 ? kernels_.size() - 2 : 0);
    stream_grad_.resize(kernels_.size());
  }

  std::string type() const override { return "MultiScaleConv"; }

  std::vector<ParamRef<T>> params() override {
    std::vector<ParamRef<T>> all;
    for (std::size_t i = 0; i < streams_.size(); ++i)
      append(all, prefixed("conv" + std::to_string(kernels_[i]), streams_[i]->params()));
    return all;
  }

  Shape output_shape(const Shape& input) const override {
    const Shape one = streams_.front()->output_shape(input);
    return Shape{one.n(), per_stream_ * static_cast<std::int64_t>(streams_.size()), one.h(), one.w()};
  }

  // The streams' outputs are joined pairwise: joined_[0] = [s0, s1], joined_[i] = [joined_[i-1], s(i+1)].
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode mode) override {
    const Tensor<T>* result = &streams_[0]->forward(ctx, x, mode);
    for (std::size_t i = 1; i < streams_.size(); ++i) {
      ops::concat_channels_forward(ctx, *result, streams_[i]->forward(ctx, x, mode), joined_[i - 1]);
      result = &joined_[i - 1];
    }
    return *result;
  }

  // Splits dy back along the joins (last stream first), runs each stream's backward, and sums their input
  // gradients, since every stream read the same x.
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    if (streams_.size() == 1) return streams_[0]->backward(ctx, dy);
    const Tensor<T>* grad = &dy;
    for (std::size_t i = streams_.size() - 1; i >= 1; --i) {
      Tensor<T>& prefix_grad = i >= 2 ? joined_grad_[i - 2] : stream_grad_[0];
      ops::concat_channels_backward(ctx, *grad, per_stream_ * static_cast<std::int64_t>(i), prefix_grad,
                                    stream_grad_[i]);
      grad = &prefix_grad;
    }
    const Tensor<T>* sum = &streams_[0]->backward(ctx, stream_grad_[0]);
    for (std::size_t i = 1; i < streams_.size(); ++i) {
      // Alternate between two buffers so that the output of add never aliases its input.
      Tensor<T>& out = i % 2 == 1 ? dx_ : dx_other_;
      ops::add(ctx, *sum, streams_[i]->backward(ctx, stream_grad_[i]), out);
      sum = &out;
    }
    return *sum;
  }

  std::int64_t macs(const Shape& input) const override {
    std::int64_t total = 0;
    for (const auto& stream : streams_) total += stream->macs(input);
    return total;
  }

  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels_per_stream() const { return per_stream_; }
  const std::vector<int>& kernels() const { return kernels_; }
  std::size_t stream_count() const { return streams_.size(); }
  Conv2D<T>& stream(std::size_t i) { return *streams_.at(i); }
  const Conv2D<T>& stream(std::size_t i) const { return *streams_.at(i); }

 private:
  std::int64_t in_channels_, per_stream_;
  std::vector<int> kernels_;
  std::vector<std::unique_ptr<Conv2D<T>>> streams_;
  std::vector<Tensor<T>> joined_, joined_grad_, stream_grad_;
  Tensor<T> dx_, dx_other_;
};

}  // namespace mien
