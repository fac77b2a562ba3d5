#pragma once
// CPU channel concatenation of two NCHW maps. Per image, the channels of a and then of b are each one
// contiguous run, so both directions are two copies per image.
#include <algorithm>
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"

namespace mien::cpu {

template <class T>
void concat_channels_forward(Context& /*ctx*/, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  const std::int64_t images = a.shape().n();
  const std::int64_t run_a = a.shape().per_sample(), run_b = b.shape().per_sample();
  for (std::int64_t n = 0; n < images; ++n) {
    T* out = y.data() + n * (run_a + run_b);
    std::copy(a.data() + n * run_a, a.data() + (n + 1) * run_a, out);
    std::copy(b.data() + n * run_b, b.data() + (n + 1) * run_b, out + run_a);
  }
}

template <class T>
void concat_channels_backward(Context& /*ctx*/, const Tensor<T>& dy, std::int64_t /*channels_a: da's*/, Tensor<T>& da,
                              Tensor<T>& db) {
  const std::int64_t images = dy.shape().n();
  const std::int64_t run_a = da.shape().per_sample(), run_b = db.shape().per_sample();
  for (std::int64_t n = 0; n < images; ++n) {
    const T* in = dy.data() + n * (run_a + run_b);
    std::copy(in, in + run_a, da.data() + n * run_a);
    std::copy(in + run_a, in + run_a + run_b, db.data() + n * run_b);
  }
}

}  // namespace mien::cpu
