#pragma once
// Weight initialization, drawn on the host from a Philox stream (so a seed fixes every weight on any device)
// and copied to the target device.
#include <cmath>
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"

namespace mien {

// Glorot/Xavier uniform, Keras' default: U(-limit, limit) with limit = sqrt(6 / (fan_in + fan_out)).
template <class T>
Tensor<T> glorot_uniform(const Shape& shape, std::int64_t fan_in, std::int64_t fan_out, const RandomStream& stream,
                         Device device) {
  Tensor<T> host(shape);
  const double limit = std::sqrt(6.0 / static_cast<double>(fan_in + fan_out));
  for (std::size_t i = 0; i < host.numel(); ++i)
    host[i] = static_cast<T>((2.0 * stream.uniform(i) - 1.0) * limit);
  return host.to(device);
}

template <class T>
Tensor<T> constant(const Shape& shape, T value, Device device) {
  return Tensor<T>::filled(shape, value).to(device);
}

}  // namespace mien
