#pragma once
// CPU backend of ops/gating.hpp. Each (n, c) plane of H * W values shares one gate, so the loops run over
// planes in parallel and map each plane as an Eigen array.
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

template <class T>
void channel_scale_forward(Context&, const Tensor<T>& x, const Tensor<T>& s, Tensor<T>& y) {
  const std::int64_t planes = x.shape().n() * x.shape().c(), plane = x.shape().h() * x.shape().w();
  parallel_chunks(planes, plane, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p)
      as_array(y.data() + p * plane, plane) = as_array(x.data() + p * plane, plane) * s[p];
  });
}

template <class T>
void channel_scale_backward(Context&, const Tensor<T>& x, const Tensor<T>& s, const Tensor<T>& dy, Tensor<T>& dx,
                            Tensor<T>& ds) {
  const std::int64_t planes = x.shape().n() * x.shape().c(), plane = x.shape().h() * x.shape().w();
  parallel_chunks(planes, plane, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p) {
      const auto g = as_array(dy.data() + p * plane, plane);
      as_array(dx.data() + p * plane, plane) = g * s[p];
      ds[p] = (g * as_array(x.data() + p * plane, plane)).sum();
    }
  });
}

template <class T>
void gated_add_forward(Context&, const Tensor<T>& main, const Tensor<T>& skip, const Tensor<T>& gate, Tensor<T>& y) {
  const std::int64_t planes = main.shape().n() * main.shape().c(), plane = main.shape().h() * main.shape().w();
  parallel_chunks(planes, plane, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p)
      as_array(y.data() + p * plane, plane) =
          as_array(main.data() + p * plane, plane) + as_array(skip.data() + p * plane, plane) * gate[p];
  });
}

template <class T>
void gated_add_backward(Context&, const Tensor<T>& skip, const Tensor<T>& gate, const Tensor<T>& dy, Tensor<T>& dskip,
                        Tensor<T>& dgate) {
  const std::int64_t planes = skip.shape().n() * skip.shape().c(), plane = skip.shape().h() * skip.shape().w();
  parallel_chunks(planes, plane, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p) {
      const auto g = as_array(dy.data() + p * plane, plane);
      as_array(dskip.data() + p * plane, plane) = g * gate[p];
      dgate[p] = (g * as_array(skip.data() + p * plane, plane)).sum();
    }
  });
}

}  // namespace mien::cpu
