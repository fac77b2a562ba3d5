#pragma once
// CPU 3×3 convolution (stride 1, "same" padding) by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", CVPR 2016): a 2×2 block of outputs comes from a 4×4 block of
// inputs with 16 multiplications per channel pair instead of 36. For a group of tiles each pass is 16 independent
// GEMMs, one per position ξ of the transformed 4×4 tile:
//   forward          M[ξ] [T, K] = V[ξ] [T, C] · U[ξ] [C, K]     U = G g Gᵀ (filters), V = Bᵀ d B (input tiles)
//                    y tile      = Aᵀ M A
//   backward data    the forward run on dy, with the filters turned 180° and K and C swapped
//   backward filter  dU[ξ] [C, K] += V[ξ]ᵀ [C, T] · P[ξ] [T, K]  P = A dy Aᵀ (output-gradient tiles)
//                    dW          = Gᵀ dU G
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// Tile (i, j) reads input rows 2i - 1 .. 2i + 2 and columns 2j - 1 .. 2j + 2 (the padding is the -1); reads past
// the border are zeros, and outputs past an odd-sized map's edge are dropped. As in the im2col path, threads split
// the batch, each with its own scratch, and a thread's images are taken in groups of about target_tiles tiles so
// that one ξ's operands stay in the core's L2 cache. (A first version with scalar per-tile transforms ran 1.2–3.5×
// slower than im2col everywhere; one vectorized along rows of tiles won on 32×32 and 64×64 maps but lost on
// 12×12 ones, where a row has 6 tiles; the channels-last transforms below win where `applies` says.)
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu::winograd {

// The passes of a convolution, for choosing per pass where Winograd pays.
enum class Pass { forward, backward_data, backward_filter };

// Where it measured faster than im2col on the development CPU with 2 threads (docs/benchmarks.md): 3×3 filters
// with at least 64 channels in and out (the 128-channel residual convolutions: forward 1.4–1.9×, backward data
// 1.4×), and for the filter gradient only on maps of 32×32 or more (on 12×12 maps it ran at 0.7× there). With 32
// input channels (the second stream convolution) the channel vectors are too short for the transforms to pay.
constexpr std::int64_t min_channels = 64;
constexpr std::int64_t min_filter_gradient_pixels = 32 * 32;
constexpr std::int64_t target_tiles = 512;

inline bool applies(const Shape& x, const Shape& w, Pass pass) {
  if (w[2] != 3 || w[3] != 3 || x.c() < min_channels || w[0] < min_channels) return false;
  return pass != Pass::backward_filter || x.h() * x.w() >= min_filter_gradient_pixels;
}

// ---- the filter transforms (once per call, scalar) -------------------------------------------------------------

// U = G g Gᵀ for a 3×3 filter g (row-major).
template <class T>
void filter_transform(const T (&g)[9], T (&u)[16]) {
  T t[12];  // G g, 4×3
  for (int c = 0; c < 3; ++c) {
    t[c] = g[c];
    t[3 + c] = T(0.5) * (g[c] + g[3 + c] + g[6 + c]);
    t[6 + c] = T(0.5) * (g[c] - g[3 + c] + g[6 + c]);
    t[9 + c] = g[6 + c];
  }
  for (int r = 0; r < 4; ++r) {
    const T* row = t + 3 * r;
    u[4 * r] = row[0];
    u[4 * r + 1] = T(0.5) * (row[0] + row[1] + row[2]);
    u[4 * r + 2] = T(0.5) * (row[0] - row[1] + row[2]);
    u[4 * r + 3] = row[2];
  }
}

// dg = Gᵀ du G: the adjoint of filter_transform.
template <class T>
void filter_gradient_transform(const T (&du)[16], T (&dg)[9]) {
  T t[12];  // Gᵀ du, 3×4
  for (int c = 0; c < 4; ++c) {
    const T half_sum = T(0.5) * (du[4 + c] + du[8 + c]);
    t[c] = du[c] + half_sum;
    t[4 + c] = T(0.5) * (du[4 + c] - du[8 + c]);
    t[8 + c] = half_sum + du[12 + c];
  }
  for (int r = 0; r < 3; ++r) {
    const T* row = t + 4 * r;
    const T half_sum = T(0.5) * (row[1] + row[2]);
    dg[3 * r] = row[0] + half_sum;
    dg[3 * r + 1] = T(0.5) * (row[1] - row[2]);
    dg[3 * r + 2] = half_sum + row[3];
  }
}

// ---- the passes ----------------------------------------------------------------------------------------------
// The tile transforms run channels-last: each image is first transposed to [H·W, C], so that one pixel's channels
// are contiguous and every step of a transform is one vector operation over all channels. V, M and P are laid out
// [16][tiles][channels], which makes each of the 16 GEMMs a plain row-major product.

// The tiles of one thread's images [first, last), in groups of whole images.
struct TileGrid {
  std::int64_t h, w, rows, cols;  // map extent; tiles down and across
  std::int64_t per_image() const { return rows * cols; }
  TileGrid(std::int64_t height, std::int64_t width)
      : h(height), w(width), rows((height + 1) / 2), cols((width + 1) / 2) {}
  std::int64_t images_per_group(std::int64_t images) const {
    return std::max<std::int64_t>(1, std::min(images, target_tiles / per_image()));
  }
};

template <class T>
using Vec = Eigen::Map<Eigen::Array<T, Eigen::Dynamic, 1>>;
template <class T>
using ConstVec = Eigen::Map<const Eigen::Array<T, Eigen::Dynamic, 1>>;

// Filters w [K, C, 3, 3] → U [16][C][K]; with `adjoint`, the filters of the backward-data pass instead:
// U[ξ][k][c] from w[k, c] turned 180° (the roles of K and C swap).
template <class T>
std::vector<T> transform_filters(const T* w, std::int64_t k_out, std::int64_t c_in, bool adjoint) {
  const std::int64_t rows = adjoint ? k_out : c_in, cols = adjoint ? c_in : k_out;
  std::vector<T> u(static_cast<std::size_t>(16 * rows * cols));
  for (std::int64_t k = 0; k < k_out; ++k) {
    for (std::int64_t c = 0; c < c_in; ++c) {
      const T* src = w + (k * c_in + c) * 9;
      T g[9], out[16];
      for (int e = 0; e < 9; ++e) g[e] = adjoint ? src[8 - e] : src[e];
      filter_transform(g, out);
      const std::int64_t at = adjoint ? k * c_in + c : c * k_out + k;
      for (int xi = 0; xi < 16; ++xi) u[static_cast<std::size_t>(xi * rows * cols + at)] = out[xi];
    }
  }
  return u;
}

// One image of an NCHW tensor as [H·W, C] in `hwc`.
template <class T>
void to_channels_last(const T* image, std::int64_t channels, std::int64_t pixels, std::vector<T>& hwc) {
  hwc.resize(static_cast<std::size_t>(pixels * channels));
  as_matrix(hwc.data(), pixels, channels) = as_matrix(image, channels, pixels).transpose();
}

// V [16][tiles][C] for `images` images of x [*, C, H, W] starting at `image`: V = Bᵀ d B per tile and channel.
template <class T>
void transform_inputs(const T* x, std::int64_t image, std::int64_t images, std::int64_t c_in, const TileGrid& g,
                      std::vector<T>& hwc, const std::vector<T>& zeros, T* v) {
  const std::int64_t tiles = images * g.per_image(), stride = tiles * c_in;
  for (std::int64_t img = 0; img < images; ++img) {
    to_channels_last(x + (image + img) * c_in * g.h * g.w, c_in, g.h * g.w, hwc);
    for (std::int64_t i = 0; i < g.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        // d[r][s]: the channels of input pixel (2i - 1 + r, 2j - 1 + s), zeros outside the map.
        const T* d[4][4];
        for (int r = 0; r < 4; ++r) {
          const std::int64_t row = 2 * i - 1 + r;
          for (int s = 0; s < 4; ++s) {
            const std::int64_t col = 2 * j - 1 + s;
            const bool inside = row >= 0 && row < g.h && col >= 0 && col < g.w;
            d[r][s] = inside ? hwc.data() + (row * g.w + col) * c_in : zeros.data();
          }
        }
        T* out = v + (img * g.per_image() + i * g.cols + j) * c_in;
        for (int s = 0; s < 4; ++s) {
          // Bᵀ down column s, then B across each resulting row.
          const ConstVec<T> d0(d[0][s], c_in), d1(d[1][s], c_in), d2(d[2][s], c_in), d3(d[3][s], c_in);
          Vec<T>(out + (0 + s) * stride, c_in) = d0 - d2;
          Vec<T>(out + (4 + s) * stride, c_in) = d1 + d2;
          Vec<T>(out + (8 + s) * stride, c_in) = d2 - d1;
          Vec<T>(out + (12 + s) * stride, c_in) = d1 - d3;
        }
        for (int r = 0; r < 4; ++r) {
          Vec<T> t0(out + (4 * r) * stride, c_in), t1(out + (4 * r + 1) * stride, c_in),
              t2(out + (4 * r + 2) * stride, c_in), t3(out + (4 * r + 3) * stride, c_in);
          const auto a = (t0 - t2).eval(), b = (t1 + t2).eval(), c = (t2 - t1).eval();
          t3 = t1 - t3;
          t0 = a;
          t1 = b;
          t2 = c;
        }
      }
    }
  }
}

// y [*, K, H, W] (+ bias when given) for `images` images starting at `image`, from M [16][tiles][K]: Aᵀ M A.
template <class T>
void transform_outputs(const T* m, std::int64_t image, std::int64_t images, std::int64_t k_out, const TileGrid& g,
                       const T* bias, std::vector<T>& hwc, T* y) {
  const std::int64_t tiles = images * g.per_image(), stride = tiles * k_out;
  hwc.resize(static_cast<std::size_t>(g.h * g.w * k_out));
  Eigen::Array<T, Eigen::Dynamic, 1> col[4][2];  // A across each row of the tile: col[r][s]
  for (std::int64_t img = 0; img < images; ++img) {
    for (std::int64_t i = 0; i < g.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        const T* in = m + (img * g.per_image() + i * g.cols + j) * k_out;
        for (int r = 0; r < 4; ++r) {
          const ConstVec<T> m0(in + (4 * r) * stride, k_out), m1(in + (4 * r + 1) * stride, k_out),
              m2(in + (4 * r + 2) * stride, k_out), m3(in + (4 * r + 3) * stride, k_out);
          col[r][0] = m0 + m1 + m2;
          col[r][1] = m1 - m2 - m3;
        }
        for (int s = 0; s < 2 && 2 * j + s < g.w; ++s) {
          Vec<T>(hwc.data() + ((2 * i) * g.w + 2 * j + s) * k_out, k_out) = col[0][s] + col[1][s] + col[2][s];
          if (2 * i + 1 < g.h)
            Vec<T>(hwc.data() + ((2 * i + 1) * g.w + 2 * j + s) * k_out, k_out) = col[1][s] - col[2][s] - col[3][s];
        }
      }
    }
    auto out = as_matrix(y + (image + img) * k_out * g.h * g.w, k_out, g.h * g.w);
    out = as_matrix(static_cast<const T*>(hwc.data()), g.h * g.w, k_out).transpose();
    if (bias != nullptr) out.colwise() += as_matrix(bias, k_out, 1).col(0);
  }
}

// P [16][tiles][K] from dy [*, K, H, W] for `images` images starting at `image`: P = A dy Aᵀ per 2×2 block.
template <class T>
void transform_output_gradients(const T* dy, std::int64_t image, std::int64_t images, std::int64_t k_out,
                                const TileGrid& g, std::vector<T>& hwc, const std::vector<T>& zeros, T* p) {
  const std::int64_t tiles = images * g.per_image(), stride = tiles * k_out;
  for (std::int64_t img = 0; img < images; ++img) {
    to_channels_last(dy + (image + img) * k_out * g.h * g.w, k_out, g.h * g.w, hwc);
    for (std::int64_t i = 0; i < g.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        const T* d[2][2];
        for (int r = 0; r < 2; ++r)
          for (int s = 0; s < 2; ++s)
            d[r][s] = 2 * i + r < g.h && 2 * j + s < g.w ? hwc.data() + ((2 * i + r) * g.w + 2 * j + s) * k_out
                                                         : zeros.data();
        T* out = p + (img * g.per_image() + i * g.cols + j) * k_out;
        for (int s = 0; s < 2; ++s) {
          // A down column s (2 rows → 4), into column s of P's four rows; then Aᵀ across each row (columns 0, 1 →
          // 0..3) in place, writing columns 3 and 2 before column 1 is overwritten.
          const ConstVec<T> d0(d[0][s], k_out), d1(d[1][s], k_out);
          Vec<T>(out + (0 + s) * stride, k_out) = d0;
          Vec<T>(out + (4 + s) * stride, k_out) = d0 + d1;
          Vec<T>(out + (8 + s) * stride, k_out) = d0 - d1;
          Vec<T>(out + (12 + s) * stride, k_out) = -d1;
        }
        for (int r = 0; r < 4; ++r) {
          Vec<T> e0(out + (4 * r) * stride, k_out), e1(out + (4 * r + 1) * stride, k_out),
              p2(out + (4 * r + 2) * stride, k_out), p3(out + (4 * r + 3) * stride, k_out);
          p3 = -e1;
          p2 = e0 - e1;
          e1 = e0 + e1;  // p1; p0 = e0 stays
        }
      }
    }
  }
}

// y = conv3x3(x, filters whose transform is u [16][C][K]) (+ bias), x [N, C, H, W], y [N, K, H, W].
template <class T>
void convolve(const T* x, const std::vector<T>& u, const T* bias, std::int64_t n, std::int64_t c_in,
              std::int64_t k_out, std::int64_t h, std::int64_t w, T* y) {
  const TileGrid grid(h, w);
  parallel_chunks(n, 9 * c_in * k_out * h * w, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t group = grid.images_per_group(last - first);
    std::vector<T> v(static_cast<std::size_t>(16 * c_in * group * grid.per_image()));
    std::vector<T> m(static_cast<std::size_t>(16 * k_out * group * grid.per_image()));
    std::vector<T> hwc, zeros(static_cast<std::size_t>(c_in), T(0));
    for (std::int64_t image = first; image < last; image += group) {
      const std::int64_t images = std::min(group, last - image), tiles = images * grid.per_image();
      transform_inputs(x, image, images, c_in, grid, hwc, zeros, v.data());
      for (int xi = 0; xi < 16; ++xi)
        as_matrix(m.data() + xi * tiles * k_out, tiles, k_out).noalias() =
            as_matrix(v.data() + xi * tiles * c_in, tiles, c_in) * as_matrix(u.data() + xi * c_in * k_out, c_in, k_out);
      transform_outputs(m.data(), image, images, k_out, grid, bias, hwc, y);
    }
  });
}

template <class T>
void forward(const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  const Shape& s = x.shape();
  const std::int64_t k_out = w.shape()[0];
  convolve(x.data(), transform_filters(w.data(), k_out, s.c(), false), b.data(), s.n(), s.c(), k_out, s.h(), s.w(),
           y.data());
}

template <class T>
void backward_data(const Tensor<T>& dy, const Tensor<T>& w, Tensor<T>& dx) {
  const Shape& s = dx.shape();
  const std::int64_t k_out = w.shape()[0];
  convolve<T>(dy.data(), transform_filters(w.data(), k_out, s.c(), true), nullptr, s.n(), k_out, s.c(), s.h(), s.w(),
              dx.data());
}

// dw [K, C, 3, 3] (overwritten). The bias gradient is the caller's (a plain sum of dy).
template <class T>
void backward_filter(const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw) {
  const Shape& s = x.shape();
  const std::int64_t k_out = dw.shape()[0], c_in = s.c(), n = s.n(), pairs = k_out * c_in;
  const TileGrid grid(s.h(), s.w());
  const std::int64_t work = 9 * pairs * s.h() * s.w();
  // Per-thread partial sums of dU [16][C][K], added in thread order afterwards so that the result does not depend
  // on scheduling.
  const int threads = chunk_threads(n, work);
  std::vector<std::vector<T>> du(static_cast<std::size_t>(threads), std::vector<T>(static_cast<std::size_t>(16 * pairs), T(0)));
  parallel_chunks(n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    const std::int64_t group = grid.images_per_group(last - first);
    std::vector<T> v(static_cast<std::size_t>(16 * c_in * group * grid.per_image()));
    std::vector<T> p(static_cast<std::size_t>(16 * k_out * group * grid.per_image()));
    std::vector<T> hwc, zeros(static_cast<std::size_t>(std::max(c_in, k_out)), T(0));
    T* acc = du[static_cast<std::size_t>(thread)].data();
    for (std::int64_t image = first; image < last; image += group) {
      const std::int64_t images = std::min(group, last - image), tiles = images * grid.per_image();
      transform_inputs(x.data(), image, images, c_in, grid, hwc, zeros, v.data());
      transform_output_gradients(dy.data(), image, images, k_out, grid, hwc, zeros, p.data());
      for (int xi = 0; xi < 16; ++xi)
        as_matrix(acc + xi * pairs, c_in, k_out).noalias() +=
            as_matrix(v.data() + xi * tiles * c_in, tiles, c_in).transpose() *
            as_matrix(p.data() + xi * tiles * k_out, tiles, k_out);
    }
  });
  for (std::size_t t = 1; t < du.size(); ++t) as_array(du[0].data(), 16 * pairs) += as_array(du[t].data(), 16 * pairs);
  for (std::int64_t k = 0; k < k_out; ++k) {
    for (std::int64_t c = 0; c < c_in; ++c) {
      T tile[16], g[9];
      for (int xi = 0; xi < 16; ++xi) tile[xi] = du[0][static_cast<std::size_t>(xi * pairs + c * k_out + k)];
      filter_gradient_transform(tile, g);
      std::copy(g, g + 9, dw.data() + (k * c_in + c) * 9);
    }
  }
}

}  // namespace mien::cpu::winograd
