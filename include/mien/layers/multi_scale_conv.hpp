#pragma once
// MultiScaleConv: parallel Conv2D streams with different kernel sizes over the same input, their outputs
// concatenated along channels in stream order.  x [N, C, H, W] -> y [N, S·K, H, W] for S streams of K maps.
// A Parallel block whose branches are single convolutions named after their kernel: "conv3.weight", "conv5.bias".
#include <algorithm>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "mien/layers/conv2d.hpp"
#include "mien/layers/parallel.hpp"

namespace mien {

template <class T>
class MultiScaleConv : public Parallel<T> {
 public:
  MultiScaleConv(Context& ctx, std::int64_t in_channels, std::int64_t out_channels_per_stream,
                 std::vector<int> kernels = {3, 5})
      : in_channels_(in_channels), per_stream_(out_channels_per_stream), kernels_(std::move(kernels)) {
    check_arg(!kernels_.empty(), "MultiScaleConv", "needs at least one kernel size");
    for (std::size_t i = 0; i < kernels_.size(); ++i)
      check_arg(std::find(kernels_.begin(), kernels_.begin() + i, kernels_[i]) == kernels_.begin() + i,
                "MultiScaleConv", "kernel size ", kernels_[i], " appears twice (parameter names would clash)");
    for (int k : kernels_)
      this->add("conv" + std::to_string(k), std::make_unique<Conv2D<T>>(ctx, in_channels, out_channels_per_stream, k));
  }

  std::string type() const override { return "MultiScaleConv"; }

  std::int64_t in_channels() const { return in_channels_; }
  std::int64_t out_channels_per_stream() const { return per_stream_; }
  const std::vector<int>& kernels() const { return kernels_; }
  std::size_t stream_count() const { return this->size(); }
  Conv2D<T>& stream(std::size_t i) { return static_cast<Conv2D<T>&>(this->at(i)); }

 private:
  std::int64_t in_channels_, per_stream_;
  std::vector<int> kernels_;
};

}  // namespace mien
