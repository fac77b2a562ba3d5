#pragma once
// CPU backend of ops/dropout.hpp. Element i is kept iff stream.uniform(i) >= rate; the comparison is made in
// float, as the GPU kernel makes it, so a rate that float cannot represent exactly still gives both backends
// the same mask.
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace detail {
// out[i] = kept(i) ? in[i] / (1 - rate) : 0, the same map forward (on x) and backward (on dy).
template <class T>
void apply_dropout_mask(const Tensor<T>& in, T rate, const RandomStream& stream, Tensor<T>& out) {
  const float threshold = static_cast<float>(rate);
  const T scale = T(1) / (T(1) - rate);
  const T* src = in.data();
  T* dst = out.data();
  parallel_chunks(static_cast<std::int64_t>(in.numel()), 1, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t i = first; i < last; ++i)
      dst[i] = stream.uniform(static_cast<std::uint64_t>(i)) >= threshold ? src[i] * scale : T(0);
  });
}
}  // namespace detail

template <class T>
void dropout_forward(Context&, const Tensor<T>& x, T rate, const RandomStream& stream, Tensor<T>& y) {
  detail::apply_dropout_mask(x, rate, stream, y);
}

template <class T>
void dropout_backward(Context&, const Tensor<T>& dy, T rate, const RandomStream& stream, Tensor<T>& dx) {
  detail::apply_dropout_mask(dy, rate, stream, dx);
}

}  // namespace mien::cpu
