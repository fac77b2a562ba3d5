#pragma once
// The benchmarks' inputs: values uniform in [-1, 1) from mien's counter-based RNG, the same on every run and machine.
#include <cstdint>

#include "mien/mien.hpp"

namespace mien::bench {

inline Tensor<float> seeded_uniform(const Shape& shape, std::uint64_t seed) {
  Tensor<float> t(shape);
  const RandomStream s{seed, 1, 0};
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = 2 * s.uniform(i) - 1;
  return t;
}

}  // namespace mien::bench
