#pragma once
// CPU backend of ops/elementwise.hpp: add, fill, count_nonfinite.
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

template <class T>
void add(Context&, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  parallel_chunks(static_cast<std::int64_t>(y.numel()), 1, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t count = last - first;
    as_array(y.data() + first, count) = as_array(a.data() + first, count) + as_array(b.data() + first, count);
  });
}

template <class T>
void fill(Context&, Tensor<T>& x, T value) {
  parallel_chunks(static_cast<std::int64_t>(x.numel()), 1, [&](int, std::int64_t first, std::int64_t last) {
    as_array(x.data() + first, last - first).setConstant(value);
  });
}

template <class T>
std::int64_t count_nonfinite(Context&, const Tensor<T>& x) {
  const T* data = x.data();
  const std::int64_t count = static_cast<std::int64_t>(x.numel());
  std::vector<std::int64_t> bad_per_thread(static_cast<std::size_t>(chunk_threads(count, 1)), 0);
  parallel_chunks(count, 1, [&](int thread, std::int64_t first, std::int64_t last) {
    std::int64_t bad = 0;
    for (std::int64_t i = first; i < last; ++i) bad += std::isfinite(data[i]) ? 0 : 1;
    bad_per_thread[static_cast<std::size_t>(thread)] = bad;
  });
  return std::accumulate(bad_per_thread.begin(), bad_per_thread.end(), std::int64_t{0});
}

}  // namespace mien::cpu
