#pragma once
// CPU convolution (stride 1, "same" zero padding, odd square kernels) as im2col + GEMM.
//
// The output columns (pixels) of a thread's images are cut into tiles of about target_tile_columns columns: a
// band of pixel rows of one image when the maps are large, or several whole maps side by side when they are
// small. A tile is unfolded into col [C·k·k, columns] and each pass is one GEMM per tile:
//   forward          y_t  [K, cols]    = W [K, Ckk] · col
//   backward data    dcol [Ckk, cols]  = Wᵀ · dy_t          (then folded back into dx by col2im)
//   backward filter  dW   [K, Ckk]    += dy_t · colᵀ
// Tiles keep col in the core's L2 cache between im2col and the GEMM that reads it (a whole 64×64 map with 32
// channels would be 4.7 MB), and grouping images keeps the GEMMs wide on the 6×6 maps deep in the network.
// For a band of one image, y_t and dy_t are read and written in place as strided blocks of the NCHW tensor;
// only groups of images are gathered or scattered.
//
// The batch is split over OpenMP threads, each with its own scratch and its own dW/db partial sums; Eigen's GEMM
// runs single-threaded inside the parallel region. With fewer images than threads the loop runs serially and
// Eigen threads the GEMMs instead.
//
// 3×3 convolutions with enough channels take a Winograd path instead where it measured faster, F(2×2, 3×3) on maps
// of 32×32 or more (cpu/conv2d_winograd.hpp) and F(4×4, 3×3) on smaller ones (cpu/conv2d_winograd_4x4.hpp), and
// so do 5×5 convolutions (cpu/conv2d_winograd_5x5.hpp), unless the context asks for im2col
// (Context::set_cpu_conv).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/conv2d_winograd.hpp"
#include "mien/cpu/conv2d_winograd_4x4.hpp"
#include "mien/cpu/conv2d_winograd_5x5.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
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

// Output columns per GEMM: wide enough for Eigen's packed kernels to run at full speed, small enough that the
// unfolded tile is still cached when the GEMM reads it. On the paper network's layers 256 to 1024 columns
// perform alike; whole 64×64 maps (4096 columns) ran three times slower with other processes sharing the L3.
constexpr std::int64_t target_tile_columns = 768;

// Rows [row, row + rows) of each of `images` consecutive images starting at `image`. Either images == 1, or
// the tile holds whole maps (row == 0, rows == H).
struct Tile {
  std::int64_t image, images, row, rows;
};

// How one thread cuts its images [first, last) into tiles.
class Tiling {
 public:
  Tiling(const Geometry& g, std::int64_t images) : g_(g) {
    if (g.hw() >= target_tile_columns) {
      const std::int64_t bands = (g.hw() + target_tile_columns - 1) / target_tile_columns;
      rows_per_tile_ = (g.h + bands - 1) / bands;
    } else {
      rows_per_tile_ = g.h;
      images_per_tile_ = std::max<std::int64_t>(1, std::min(images, (target_tile_columns + g.hw() - 1) / g.hw()));
    }
  }

  bool groups_images() const { return images_per_tile_ > 1; }
  std::int64_t max_columns() const { return images_per_tile_ * rows_per_tile_ * g_.w; }

  template <class Fn>
  void for_each(std::int64_t first, std::int64_t last, Fn&& fn) const {
    for (std::int64_t image = first; image < last; image += images_per_tile_) {
      const std::int64_t images = std::min(images_per_tile_, last - image);
      for (std::int64_t row = 0; row < g_.h; row += rows_per_tile_)
        fn(Tile{image, images, row, std::min(rows_per_tile_, g_.h - row)});
    }
  }

 private:
  Geometry g_;
  std::int64_t rows_per_tile_ = 1, images_per_tile_ = 1;
};

// Valid output columns [first, last) for a kernel column offset `shift`: those whose source w + shift lies in
// [0, width).
inline void valid_columns(std::int64_t width, std::int64_t shift, std::int64_t& first, std::int64_t& last) {
  first = std::clamp<std::int64_t>(-shift, 0, width);
  last = std::clamp<std::int64_t>(width - shift, first, width);
}

// Unfolds output rows [row, row + rows) of one image x [C, H, W] into col, whose rows are `ld` apart:
// col row (c·k + i)·k + j, column (h - row)·W + w, holds x[c, h + i - k/2, w + j - k/2], zero in the padding.
template <class T>
void im2col(const T* x, const Geometry& g, std::int64_t row, std::int64_t rows, T* col, std::int64_t ld) {
  const int pad = g.k / 2;
  for (std::int64_t c = 0; c < g.c; ++c) {
    const T* plane = x + c * g.hw();
    for (int i = 0; i < g.k; ++i) {
      for (int j = 0; j < g.k; ++j) {
        T* col_row = col + ((c * g.k + i) * g.k + j) * ld;
        std::int64_t first, last;
        valid_columns(g.w, j - pad, first, last);
        for (std::int64_t h = row; h < row + rows; ++h) {
          T* out = col_row + (h - row) * g.w;
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

// The adjoint of im2col for the same rows: adds every entry of col back onto the input pixel it was copied
// from. dx must be zeroed before the image's first tile (several col entries land on each pixel, and bands
// overlap by the kernel's reach).
template <class T>
void col2im(const T* col, std::int64_t ld, const Geometry& g, std::int64_t row, std::int64_t rows, T* dx) {
  const int pad = g.k / 2;
  for (std::int64_t c = 0; c < g.c; ++c) {
    T* plane = dx + c * g.hw();
    for (int i = 0; i < g.k; ++i) {
      for (int j = 0; j < g.k; ++j) {
        const T* col_row = col + ((c * g.k + i) * g.k + j) * ld;
        std::int64_t first, last;
        valid_columns(g.w, j - pad, first, last);
        // Output rows whose source row h + i - pad lies inside the image.
        const std::int64_t h_first = std::max<std::int64_t>(row, pad - i);
        const std::int64_t h_last = std::min(row + rows, g.h + pad - i);
        for (std::int64_t h = h_first; h < h_last; ++h) {
          const T* in = col_row + (h - row) * g.w;
          T* dst = plane + (h + i - pad) * g.w + (j - pad);  // dst[w] is dx[c, h + i - pad, w + j - pad]
          for (std::int64_t w = first; w < last; ++w) dst[w] += in[w];
        }
      }
    }
  }
}

// Unfolds every image of a tile side by side into col (columns img·rows·W onwards for image img).
template <class T>
void im2col_tile(const T* x, const Geometry& g, const Tile& t, T* col, std::int64_t cols) {
  for (std::int64_t img = 0; img < t.images; ++img)
    im2col(x + (t.image + img) * g.c * g.hw(), g, t.row, t.rows, col + img * t.rows * g.w, cols);
}

// The [K, cols] block of an NCHW map t [N, K, H, W] that a tile covers. A band of one image is a strided view
// of t itself; several whole maps are first copied side by side into `scratch`.
template <class T>
ConstStridedMatrixMap<T> tile_block(const T* t, const Geometry& g, const Tile& tile, T* scratch) {
  const std::int64_t cols = tile.images * tile.rows * g.w;
  const T* start = t + tile.image * g.k_out * g.hw();
  if (tile.images == 1) return as_strided_matrix(start + tile.row * g.w, g.k_out, cols, g.hw());
  for (std::int64_t img = 0; img < tile.images; ++img)
    for (std::int64_t ch = 0; ch < g.k_out; ++ch)
      std::copy(start + (img * g.k_out + ch) * g.hw(), start + (img * g.k_out + ch + 1) * g.hw(),
                scratch + ch * cols + img * g.hw());
  return as_strided_matrix(static_cast<const T*>(scratch), g.k_out, cols, cols);
}

// A single image takes im2col: the Winograd filter transform is paid per call whatever the batch, and a small map
// is one block of tiles, one thread's work, where im2col's GEMM uses every thread. The figures (batch-1 inference
// of the paper network, and where Winograd wins again) are in docs/benchmarks.md.
inline bool winograd_batch(const Shape& x) { return x.n() >= 2; }

inline bool use_winograd(const Context& ctx, const Shape& x, const Shape& w) {
  return ctx.cpu_conv() == CpuConv::automatic && winograd_batch(x) && winograd::applies(x, w);
}
inline bool use_winograd4(const Context& ctx, const Shape& x, const Shape& w) {
  return ctx.cpu_conv() == CpuConv::automatic && winograd_batch(x) && winograd4::applies(x, w);
}
inline bool use_winograd5(const Context& ctx, const Shape& x, const Shape& w) {
  return ctx.cpu_conv() == CpuConv::automatic && winograd_batch(x) && winograd5::applies(x, w);
}

// db [K] += the sum of dy [N, K, H, W] over images and pixels, for the Winograd filter-gradient paths: channels
// split over threads, each channel summed image by image in order.
template <class T>
void add_bias_gradient(const Tensor<T>& dy, const Geometry& g, Tensor<T>& db) {
  parallel_chunks(g.k_out, g.n * g.hw(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t k = first; k < last; ++k) {
      T sum = db[static_cast<std::size_t>(k)];
      for (std::int64_t image = 0; image < g.n; ++image)
        sum += as_array(dy.data() + (image * g.k_out + k) * g.hw(), g.hw()).sum();
      db[static_cast<std::size_t>(k)] = sum;
    }
  });
}

}  // namespace conv2d_detail

template <class T>
void conv2d_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  using namespace conv2d_detail;
  const Geometry g(x.shape(), w.shape());
  if (y.numel() == 0) return;
  if (use_winograd4(ctx, x.shape(), w.shape())) return winograd4::forward(x, w, b, y);
  if (use_winograd(ctx, x.shape(), w.shape())) return winograd::forward(x, w, b, y);
  if (use_winograd5(ctx, x.shape(), w.shape())) return winograd5::forward(x, w, b, y);
  const auto weights = as_matrix(w.data(), g.k_out, g.patch());
  const auto bias = as_matrix(b.data(), g.k_out, 1).col(0);
  parallel_chunks(g.n, g.k_out * g.patch() * g.hw(), [&](int, std::int64_t first, std::int64_t last) {
    const Tiling tiling(g, last - first);
    Tensor<T> col(Shape{g.patch(), tiling.max_columns()});
    Tensor<T> product(Shape{tiling.groups_images() ? g.k_out * tiling.max_columns() : 0});
    tiling.for_each(first, last, [&](const Tile& t) {
      const std::int64_t cols = t.images * t.rows * g.w;
      im2col_tile(x.data(), g, t, col.data(), cols);
      const auto unfolded = as_matrix(col.data(), g.patch(), cols);
      T* out = y.data() + t.image * g.k_out * g.hw();
      if (t.images == 1) {
        auto band = as_strided_matrix(out + t.row * g.w, g.k_out, cols, g.hw());
        matmul(band, weights, unfolded);
        band.colwise() += bias;
        return;
      }
      // Whole maps of several images: multiply into scratch, then scatter each image's [K, HW] block to NCHW.
      auto result = as_matrix(product.data(), g.k_out, cols);
      matmul(result, weights, unfolded);
      for (std::int64_t img = 0; img < t.images; ++img)
        as_matrix(out + img * g.k_out * g.hw(), g.k_out, g.hw()) =
            result.middleCols(img * g.hw(), g.hw()).colwise() + bias;
    });
  });
}

template <class T>
void conv2d_backward_data(Context& ctx, const Tensor<T>& dy, const Tensor<T>& w, const Shape& /*x_shape: dx's*/,
                          Tensor<T>& dx) {
  using namespace conv2d_detail;
  const Geometry g(dx.shape(), w.shape());
  if (dx.numel() == 0) return;
  if (use_winograd4(ctx, dx.shape(), w.shape())) return winograd4::backward_data(dy, w, dx);
  if (use_winograd(ctx, dx.shape(), w.shape())) return winograd::backward_data(dy, w, dx);
  if (use_winograd5(ctx, dx.shape(), w.shape())) return winograd5::backward_data(dy, w, dx);
  const auto weights = as_matrix(w.data(), g.k_out, g.patch());
  parallel_chunks(g.n, g.k_out * g.patch() * g.hw(), [&](int, std::int64_t first, std::int64_t last) {
    const Tiling tiling(g, last - first);
    Tensor<T> dcol(Shape{g.patch(), tiling.max_columns()});
    Tensor<T> gathered(Shape{tiling.groups_images() ? g.k_out * tiling.max_columns() : 0});
    tiling.for_each(first, last, [&](const Tile& t) {
      const std::int64_t cols = t.images * t.rows * g.w;
      matmul(as_matrix(dcol.data(), g.patch(), cols), weights.transpose(),
             tile_block(dy.data(), g, t, gathered.data()));
      for (std::int64_t img = 0; img < t.images; ++img) {
        T* dx_img = dx.data() + (t.image + img) * g.c * g.hw();
        if (t.row == 0) std::fill(dx_img, dx_img + g.c * g.hw(), T(0));
        col2im(dcol.data() + img * t.rows * g.w, cols, g, t.row, t.rows, dx_img);
      }
    });
  });
}

template <class T>
void conv2d_backward_filter(Context& ctx, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw, Tensor<T>& db) {
  using namespace conv2d_detail;
  const Geometry g(x.shape(), dw.shape());
  dw.set_zero();
  db.set_zero();
  if (dy.numel() == 0) return;
  if (use_winograd4(ctx, x.shape(), dw.shape())) {
    winograd4::backward_filter(x, dy, dw);
    return add_bias_gradient(dy, g, db);
  }
  if (use_winograd(ctx, x.shape(), dw.shape())) {
    winograd::backward_filter(x, dy, dw);
    return add_bias_gradient(dy, g, db);
  }
  if (use_winograd5(ctx, x.shape(), dw.shape())) {
    winograd5::backward_filter(x, dy, dw);
    return add_bias_gradient(dy, g, db);
  }
  const std::int64_t work = g.k_out * g.patch() * g.hw();
  // Thread 0 accumulates into dw and db directly; the others into their own partials, added in thread order
  // afterwards so that the sum does not depend on scheduling.
  std::vector<Tensor<T>> dw_partial, db_partial;
  for (int t = 1; t < chunk_threads(g.n, work); ++t) {
    dw_partial.push_back(Tensor<T>::zeros(dw.shape()));
    db_partial.push_back(Tensor<T>::zeros(db.shape()));
  }
  parallel_chunks(g.n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    auto dw_acc = as_matrix(thread > 0 ? dw_partial[thread - 1].data() : dw.data(), g.k_out, g.patch());
    auto db_acc = as_matrix(thread > 0 ? db_partial[thread - 1].data() : db.data(), g.k_out, 1);
    const Tiling tiling(g, last - first);
    Tensor<T> col(Shape{g.patch(), tiling.max_columns()});
    Tensor<T> gathered(Shape{tiling.groups_images() ? g.k_out * tiling.max_columns() : 0});
    tiling.for_each(first, last, [&](const Tile& t) {
      const std::int64_t cols = t.images * t.rows * g.w;
      im2col_tile(x.data(), g, t, col.data(), cols);
      const auto grad_out = tile_block(dy.data(), g, t, gathered.data());
      matmul_add(dw_acc, grad_out, as_matrix(static_cast<const T*>(col.data()), g.patch(), cols).transpose());
      db_acc += grad_out.rowwise().sum();
    });
  });
  for (std::size_t t = 0; t < dw_partial.size(); ++t) {
    as_array(dw) += as_array(dw_partial[t]);
    as_array(db) += as_array(db_partial[t]);
  }
}

}  // namespace mien::cpu
