#pragma once
// What both halves of mien_emulated_mixed_tu run: a Conv2D<float> layer, seeded identically, forward on a
// tensor on the given device; the result comes back on the host.
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/layers/conv2d.hpp"

namespace mixed {
inline mien::Tensor<float> conv_forward(mien::Context& ctx, const mien::Tensor<float>& x, mien::Device device) {
  mien::Conv2D<float> conv(ctx, x.shape().c(), 4, 3);
  conv.to(device);
  return conv.forward(ctx, x.to(device), mien::Mode::train).to(mien::Device::cpu);
}
}  // namespace mixed

mien::Tensor<float> conv_forward_plain(mien::Context& ctx, const mien::Tensor<float>& x);
