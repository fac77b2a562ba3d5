#pragma once
// CPU max pooling (square window, stride = window, floored extents) and global average pooling. Each
// (image, channel) plane is independent, so planes are split over threads. The paper network pools 2×2 only, and
// pooling is memory-bound, so 2×2 has its own branch-free loops that the compiler vectorizes, and its backward
// writes every input gradient once instead of zeroing the whole tensor first; other windows take a generic loop.
#include <algorithm>
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace pool2x2 {

// One output row from input rows r0 and r1 (the window's two rows).
template <class T>
inline void forward_row(const T* r0, const T* r1, T* out, std::int64_t width_out) {
  for (std::int64_t ow = 0; ow < width_out; ++ow)
    out[ow] = std::max(std::max(r0[2 * ow], r0[2 * ow + 1]), std::max(r1[2 * ow], r1[2 * ow + 1]));
}

// The input gradients of one window row pair: dy goes to the first position, in row-major order, that holds the
// maximum (as the generic loop routes it), zero to the other three. Two loops with the same routing: on long rows
// a branch-free one that vectorizes; on rows shorter than a vector (the 12×12 and 24×24 maps) one that scales dy
// by 0 or 1 instead of choosing, which GCC compiles without branches there (2.8–3.3× faster than a short-circuit
// scalar loop on post-ReLU data; a NaN or infinite dy spreads to its whole window, in a step that is lost anyway).
template <class T>
inline void backward_row(const T* __restrict r0, const T* __restrict r1, const T* __restrict out,
                         const T* __restrict grad_out, T* __restrict g0, T* __restrict g1, std::int64_t width_out) {
  if (width_out >= 16) {
    for (std::int64_t ow = 0; ow < width_out; ++ow) {
      const T m = out[ow], g = grad_out[ow];
      const bool eq_a = r0[2 * ow] == m, eq_b = r0[2 * ow + 1] == m, eq_c = r1[2 * ow] == m, eq_d = r1[2 * ow + 1] == m;
      const bool at_b = eq_b & !eq_a, at_c = eq_c & !(eq_a | eq_b), at_d = eq_d & !(eq_a | eq_b | eq_c);
      g0[2 * ow] = eq_a ? g : T(0);
      g0[2 * ow + 1] = at_b ? g : T(0);
      g1[2 * ow] = at_c ? g : T(0);
      g1[2 * ow + 1] = at_d ? g : T(0);
    }
    return;
  }
  for (std::int64_t ow = 0; ow < width_out; ++ow) {
    const T m = out[ow], g = grad_out[ow];
    const bool eq_a = r0[2 * ow] == m, eq_b = r0[2 * ow + 1] == m, eq_c = r1[2 * ow] == m, eq_d = r1[2 * ow + 1] == m;
    const bool at_b = eq_b & !eq_a, at_c = eq_c & !(eq_a | eq_b), at_d = eq_d & !(eq_a | eq_b | eq_c);
    g0[2 * ow] = g * T(eq_a);
    g0[2 * ow + 1] = g * T(at_b);
    g1[2 * ow] = g * T(at_c);
    g1[2 * ow + 1] = g * T(at_d);
  }
}

}  // namespace pool2x2

template <class T>
void maxpool2d_forward(Context& /*ctx*/, const Tensor<T>& x, int window, Tensor<T>& y) {
  const Shape &xs = x.shape(), &ys = y.shape();
  const std::int64_t planes = xs.n() * xs.c();
  if (window == 2) {
    parallel_chunks(planes, xs.h() * xs.w(), [&](int, std::int64_t first, std::int64_t last) {
      for (std::int64_t p = first; p < last; ++p) {
        const T* in = x.data() + p * xs.h() * xs.w();
        T* out = y.data() + p * ys.h() * ys.w();
        for (std::int64_t oh = 0; oh < ys.h(); ++oh)
          pool2x2::forward_row(in + 2 * oh * xs.w(), in + (2 * oh + 1) * xs.w(), out + oh * ys.w(), ys.w());
      }
    });
    return;
  }
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
  if (window == 2) {
    parallel_chunks(planes, xs.h() * xs.w(), [&](int, std::int64_t first, std::int64_t last) {
      for (std::int64_t p = first; p < last; ++p) {
        const T* in = x.data() + p * xs.h() * xs.w();
        T* grad_in = dx.data() + p * xs.h() * xs.w();
        const T* out = y.data() + p * ys.h() * ys.w();
        const T* grad_out = dy.data() + p * ys.h() * ys.w();
        for (std::int64_t oh = 0; oh < ys.h(); ++oh) {
          const std::int64_t r0 = 2 * oh * xs.w(), r1 = r0 + xs.w();
          pool2x2::backward_row(in + r0, in + r1, out + oh * ys.w(), grad_out + oh * ys.w(), grad_in + r0,
                                grad_in + r1, ys.w());
          // An odd width's last column is cut off by the floored extent: no gradient.
          if (xs.w() > 2 * ys.w()) grad_in[r0 + xs.w() - 1] = grad_in[r1 + xs.w() - 1] = T(0);
        }
        // Likewise an odd height's last row.
        if (xs.h() > 2 * ys.h()) std::fill(grad_in + (xs.h() - 1) * xs.w(), grad_in + xs.h() * xs.w(), T(0));
      }
    });
    return;
  }
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
void global_avgpool_backward(Context& /*ctx*/, const Tensor<T>& dy, const Shape& /*x_shape: dx's*/, Tensor<T>& dx) {
  const Shape& s = dx.shape();
  const std::int64_t planes = s.n() * s.c(), hw = s.h() * s.w();
  if (planes == 0 || hw == 0) return;
  const T scale = T(1) / static_cast<T>(hw);
  as_matrix(dx.data(), planes, hw).colwise() = as_matrix(dy.data(), planes, 1).col(0) * scale;
}

}  // namespace mien::cpu
