#pragma once
// CPU convolution (stride 1, "same" zero padding, odd square kernels) as im2col + GEMM.
//
// A group of g images is unfolded side by side into one column matrix col [C·k·k, g·H·W], so each GEMM is
//   forward          y_g  [K, g·HW]     = W [K, Ckk] · col
//   backward data    dcol [Ckk, g·HW]   = Wᵀ · dy_g            (then folded back into dx by col2im)
//   backward filter  dW   [K, Ckk]     += dy_g · colᵀ
// Grouping keeps the GEMMs wide on the small maps deep in the network (a 6×6 map alone gives 36 columns).
// The batch is split over OpenMP threads, each with its own scratch and its own dW/db partial sums; Eigen's
// GEMM runs single-threaded inside the parallel region. With fewer images than threads the loop runs serially
// and Eigen threads the GEMMs instead.
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace conv2d_detail {

struct Geometry {
  std::int64_t n, c, h, w;  // input [N, C, H, W]
  std::int64_t k_out;       // output channels K
  int k;                    // kernel extent
  std::int64_t hw() const { return h * w; }
  std::int64_t patch() const { return c * k * k; }
  Geometry(const Shape& x, const Shape& weight)
      : n(x.n()), c(x.c()), h(x.h()), w(x.w()), k_out(weight[0]), k(static_cast<int>(weight[2])) {}
};

// Columns one GEMM should have at least: below this Eigen's packed kernels do not reach full speed.
constexpr std::int64_t target_gemm_columns = 768;

// Images per group for a thread that owns `images` images of hw pixels each.
inline std::int64_t images_per_group(std::int64_t hw, std::int64_t images) {
  return std::max<std::int64_t>(1, std::min(images, (target_gemm_columns + hw - 1) / hw));
}

// Valid output columns [first, last) for a kernel column offset `shift`: those whose source w + shift lies in
// [0, width).
inline void valid_columns(std::int64_t width, std::int64_t shift, std::int64_t& first, std::int64_t& last) {
  first = std::clamp<std::int64_t>(-shift, 0, width);
  last = std::clamp<std::int64_t>(width - shift, first, width);
}

// Unfolds one image x [C, H, W] into col: row (c·k + i)·k + j, at columns [0, H·W) of a matrix whose rows are
// `ld` apart, holds x[c, h + i - k/2, w + j - k/2] for every (h, w), zero where that falls in the padding.
template <class T>
void im2col(const T* x, const Geometry& g, T* col, std::int64_t ld) {
  const int pad = g.k / 2;
  for (std::int64_t c = 0; c < g.c; ++c) {
    const T* plane = x + c * g.hw();
    for (int i = 0; i < g.k; ++i) {
      for (int j = 0; j < g.k; ++j) {
        T* row = col + ((c * g.k + i) * g.k + j) * ld;
        std::int64_t first, last;
        valid_columns(g.w, j - pad, first, last);
        for (std::int64_t h = 0; h < g.h; ++h) {
          T* out = row + h * g.w;
          const std::int64_t src_h = h + i - pad;
          if (src_h < 0 || src_h >= g.h) {
            std::fill(out, out + g.w, T(0));
            continue;
          }
          const T* src = plane + src_h * g.w + (j - pad);  // src[w] is x[c, src_h, w + j - pad]
          std::fill(out, out + first, T(0));
          for (std::int64_t w = first; w < last; ++w) out[w] = src[w];
          std::fill(out + last, out + g.w, T(0));
        }
      }
    }
  }
}

// The adjoint of im2col: adds every entry of col back onto the input pixel it was copied from. dx must be
// zeroed by the caller (several rows of col land on each pixel).
template <class T>
void col2im(const T* col, std::int64_t ld, const Geometry& g, T* dx) {
  const int pad = g.k / 2;
  for (std::int64_t c = 0; c < g.c; ++c) {
    T* plane = dx + c * g.hw();
    for (int i = 0; i < g.k; ++i) {
      for (int j = 0; j < g.k; ++j) {
        const T* row = col + ((c * g.k + i) * g.k + j) * ld;
        std::int64_t first, last;
        valid_columns(g.w, j - pad, first, last);
        const std::int64_t h_first = std::max<std::int64_t>(0, pad - i), h_last = std::min(g.h, g.h + pad - i);
        for (std::int64_t h = h_first; h < h_last; ++h) {
          const T* in = row + h * g.w;
          T* dst = plane + (h + i - pad) * g.w + (j - pad);  // dst[w] is dx[c, h + i - pad, w + j - pad]
          for (std::int64_t w = first; w < last; ++w) dst[w] += in[w];
        }
      }
    }
  }
}

// Copies the NCHW maps of `images` consecutive images, t [images, K, HW], into one [K, images·HW] matrix.
template <class T>
void gather_channels_major(const T* t, std::int64_t images, std::int64_t channels, std::int64_t hw, T* out) {
  const std::int64_t ld = images * hw;
  for (std::int64_t img = 0; img < images; ++img)
    for (std::int64_t ch = 0; ch < channels; ++ch)
      std::copy(t + (img * channels + ch) * hw, t + (img * channels + ch + 1) * hw, out + ch * ld + img * hw);
}

}  // namespace conv2d_detail

template <class T>
void conv2d_forward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  using namespace conv2d_detail;
  const Geometry g(x.shape(), w.shape());
  if (y.numel() == 0) return;
  const auto weights = as_matrix(w.data(), g.k_out, g.patch());
  const T* bias = b.data();
  const std::int64_t hw = g.hw();
  parallel_chunks(g.n, g.k_out * g.patch() * hw, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t group = images_per_group(hw, last - first);
    Tensor<T> col(Shape{g.patch(), group * hw});
    Tensor<T> product(Shape{group > 1 ? g.k_out * group * hw : 0});
    for (std::int64_t n0 = first; n0 < last; n0 += group) {
      const std::int64_t images = std::min(group, last - n0), cols = images * hw;
      for (std::int64_t img = 0; img < images; ++img)
        im2col(x.data() + (n0 + img) * g.c * hw, g, col.data() + img * hw, cols);
      // One image: the GEMM writes straight into y, whose [K, HW] block is already the right layout.
      T* result = images == 1 ? y.data() + n0 * g.k_out * hw : product.data();
      as_matrix(result, g.k_out, cols).noalias() = weights * as_matrix(col.data(), g.patch(), cols);
      // Scatter [K, images·HW] back to NCHW and add the bias (in place when result is y itself).
      for (std::int64_t img = 0; img < images; ++img) {
        for (std::int64_t ch = 0; ch < g.k_out; ++ch) {
          const T* src = result + ch * cols + img * hw;
          T* dst = y.data() + ((n0 + img) * g.k_out + ch) * hw;
          const T bias_ch = bias[ch];
          for (std::int64_t p = 0; p < hw; ++p) dst[p] = src[p] + bias_ch;
        }
      }
    }
  });
}

template <class T>
void conv2d_backward_data(Context& /*ctx*/, const Tensor<T>& dy, const Tensor<T>& w, Tensor<T>& dx) {
  using namespace conv2d_detail;
  const Geometry g(dx.shape(), w.shape());
  if (dx.numel() == 0) return;
  const auto weights = as_matrix(w.data(), g.k_out, g.patch());
  const std::int64_t hw = g.hw();
  parallel_chunks(g.n, g.k_out * g.patch() * hw, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t group = images_per_group(hw, last - first);
    Tensor<T> dcol(Shape{g.patch(), group * hw});
    Tensor<T> gathered(Shape{group > 1 ? g.k_out * group * hw : 0});
    for (std::int64_t n0 = first; n0 < last; n0 += group) {
      const std::int64_t images = std::min(group, last - n0), cols = images * hw;
      const T* dy_group = dy.data() + n0 * g.k_out * hw;
      if (images > 1) {
        gather_channels_major(dy_group, images, g.k_out, hw, gathered.data());
        dy_group = gathered.data();
      }
      as_matrix(dcol.data(), g.patch(), cols).noalias() = weights.transpose() * as_matrix(dy_group, g.k_out, cols);
      for (std::int64_t img = 0; img < images; ++img) {
        T* dx_img = dx.data() + (n0 + img) * g.c * hw;
        std::fill(dx_img, dx_img + g.c * hw, T(0));
        col2im(dcol.data() + img * hw, cols, g, dx_img);
      }
    }
  });
}

template <class T>
void conv2d_backward_filter(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw, Tensor<T>& db) {
  using namespace conv2d_detail;
  const Geometry g(x.shape(), dw.shape());
  dw.set_zero();
  db.set_zero();
  if (dy.numel() == 0) return;
  const std::int64_t hw = g.hw();
  const std::int64_t work = g.k_out * g.patch() * hw;
  // Thread 0 accumulates into dw and db directly; the others into their own partials, added in thread order
  // afterwards so that the sum does not depend on scheduling.
  std::vector<Tensor<T>> dw_partial(chunk_threads(g.n, work)), db_partial(dw_partial.size());
  parallel_chunks(g.n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    if (thread > 0) {
      dw_partial[thread] = Tensor<T>::zeros(dw.shape());
      db_partial[thread] = Tensor<T>::zeros(db.shape());
    }
    auto dw_acc = as_matrix(thread > 0 ? dw_partial[thread].data() : dw.data(), g.k_out, g.patch());
    auto db_acc = as_matrix(thread > 0 ? db_partial[thread].data() : db.data(), g.k_out, 1);
    const std::int64_t group = images_per_group(hw, last - first);
    Tensor<T> col(Shape{g.patch(), group * hw});
    Tensor<T> gathered(Shape{group > 1 ? g.k_out * group * hw : 0});
    for (std::int64_t n0 = first; n0 < last; n0 += group) {
      const std::int64_t images = std::min(group, last - n0), cols = images * hw;
      for (std::int64_t img = 0; img < images; ++img)
        im2col(x.data() + (n0 + img) * g.c * hw, g, col.data() + img * hw, cols);
      const T* dy_group = dy.data() + n0 * g.k_out * hw;
      if (images > 1) {
        gather_channels_major(dy_group, images, g.k_out, hw, gathered.data());
        dy_group = gathered.data();
      }
      const auto dy_mat = as_matrix(dy_group, g.k_out, cols);
      dw_acc.noalias() += dy_mat * as_matrix(col.data(), g.patch(), cols).transpose();
      db_acc += dy_mat.rowwise().sum();
    }
  });
  for (std::size_t t = 1; t < dw_partial.size(); ++t) {
    if (dw_partial[t].empty()) continue;  // a thread the runtime did not start
    as_array(dw) += as_array(dw_partial[t]);
    as_array(db) += as_array(db_partial[t]);
  }
}

}  // namespace mien::cpu
