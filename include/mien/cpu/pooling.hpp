#pragma once
// CPU max pooling (square window, stride = window, floored extents) and global average pooling. Each
// (image, channel) plane is independent, so planes are split over threads.
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

template <class T>
void maxpool2d_forward(Context& /*ctx*/, const Tensor<T>& x, int window, Tensor<T>& y) {
  const Shape &xs = x.shape(), &ys = y.shape();
  const std::int64_t planes = xs.n() * xs.c();
  parallel_chunks(planes, xs.h() * xs.w(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p) {
      const T* in = x.data() + p * xs.h() * xs.w();
      T* out = y.data() + p * ys.h() * ys.w();
      for (std::int64_t oh = 0; oh < ys.h(); ++oh) {
        for (std::int64_t ow = 0; ow < ys.w(); ++ow) {
          const T* corner = in + oh * window * xs.w() + ow * window;
          // Strict > keeps the first maximum in row-major order, the one backward routes to.
          T best = corner[0];
          for (int i = 0; i < window; ++i)
            for (int j = 0; j < window; ++j)
              if (corner[i * xs.w() + j] > best) best = corner[i * xs.w() + j];
          out[oh * ys.w() + ow] = best;
        }
      }
    }
  });
}

template <class T>
void maxpool2d_backward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& y, const Tensor<T>& dy, int window,
                        Tensor<T>& dx) {
  const Shape &xs = x.shape(), &ys = y.shape();
  const std::int64_t planes = xs.n() * xs.c();
  // Rows and columns cut off by the floored output extents get no gradient.
  dx.set_zero();
  parallel_chunks(planes, xs.h() * xs.w(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t p = first; p < last; ++p) {
      const T* in = x.data() + p * xs.h() * xs.w();
      T* grad_in = dx.data() + p * xs.h() * xs.w();
      const T* out = y.data() + p * ys.h() * ys.w();
      const T* grad_out = dy.data() + p * ys.h() * ys.w();
      for (std::int64_t oh = 0; oh < ys.h(); ++oh) {
        for (std::int64_t ow = 0; ow < ys.w(); ++ow) {
          const std::int64_t corner = oh * window * xs.w() + ow * window;
          const T max_value = out[oh * ys.w() + ow];
          bool routed = false;
          for (int i = 0; i < window && !routed; ++i) {
            for (int j = 0; j < window && !routed; ++j) {
              const std::int64_t at = corner + i * xs.w() + j;
              if (in[at] == max_value) {
                grad_in[at] = grad_out[oh * ys.w() + ow];
                routed = true;
              }
            }
          }
        }
      }
    }
  });
}

template <class T>
void global_avgpool_forward(Context& /*ctx*/, const Tensor<T>& x, Tensor<T>& y) {
  const Shape& s = x.shape();
  const std::int64_t planes = s.n() * s.c(), hw = s.h() * s.w();
  if (planes == 0) return;
  // One plane per row: the row means are the pooled values.
  as_matrix(y.data(), planes, 1) = as_matrix(x.data(), planes, hw).rowwise().mean();
}

template <class T>
void global_avgpool_backward(Context& /*ctx*/, const Tensor<T>& dy, Tensor<T>& dx) {
  const Shape& s = dx.shape();
  const std::int64_t planes = s.n() * s.c(), hw = s.h() * s.w();
  if (planes == 0 || hw == 0) return;
  const T scale = T(1) / static_cast<T>(hw);
  as_matrix(dx.data(), planes, hw).colwise() = as_matrix(dy.data(), planes, 1).col(0) * scale;
}

}  // namespace mien::cpu
