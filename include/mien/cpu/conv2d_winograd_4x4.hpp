#pragma once
// CPU 3×3 convolution on small maps by Winograd's F(4×4, 3×3) (Lavin & Gray, CVPR 2016): a 4×4 block of outputs
// from a 6×6 block of inputs with 36 multiplications per channel pair, 2.25 per output against F(2×2, 3×3)'s 4.
// Its interpolation points are those of the 5×5 path's F(2×2, 5×5) (0, ±1, ±2, ∞), so Bᵀ is the same
// (winograd5::bt_vectors), with
//   G  = [¼ 0 0; -⅙ -⅙ -⅙; -⅙ ⅙ -⅙; 1/24 1/12 ⅙; 1/24 -1/12 ⅙; 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]
// The passes are the 3×3 path's (conv2d_winograd.hpp) with 36 positions ξ instead of 16:
//   forward          M[ξ] = V[ξ] · U[ξ] over the input channels; V = Bᵀ d B, U = G g Gᵀ, y tile = Aᵀ M A
//   backward data    the forward run on dy with the filters turned 180° and K and C swapped
//   backward filter  dU[ξ] += P[ξ]ᵀ · V[ξ] over the tiles, P = A dy Aᵀ; dW = Gᵀ dU G
// in its channels-last layout: each image is transposed to [H·W, C], so every step of a transform is one vector
// operation over the channels, and V, M, P are [36][tiles][channels]. Tile (i, j) reads input rows 4i - 1 .. 4i + 4
// and columns 4j - 1 .. 4j + 4 (zeros outside the map); outputs past the map's edge are dropped.
// Used on maps under 32×32 with 32+ channels (see applies): the 48×48 network's residual convolutions (12×12) and
// its second 3×3 stream convolution (24×24).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/tensor.hpp"
#include "mien/cpu/conv2d_winograd.hpp"
#include "mien/cpu/conv2d_winograd_5x5.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
#include "mien/cpu/parallel.hpp"
#include "mien/cpu/scratch.hpp"
#include "mien/cpu/transpose.hpp"

namespace mien::cpu::winograd4 {

using winograd::TileBlock;
using winograd::TileGrid;

// Maps under 32×32 (larger ones take the 3×3 path's rows layout) with 32+ channels in and out. The F(2×2, 3×3)
// channels-last passes that this replaced measured faster than im2col from 32 channels on; F(4×4, 3×3) ran a
// 48×48 training step 1.14× faster than they did (docs/benchmarks.md).
constexpr std::int64_t max_pixels = 32 * 32 - 1;
constexpr std::int64_t min_channels = 32;

inline bool applies(const Shape& x, const Shape& w) {
  return w[2] == 3 && w[3] == 3 && x.h() * x.w() <= max_pixels && std::min(x.c(), w[0]) >= min_channels;
}

// Tiles per block: 36 to 64 ran the 48×48 training step alike (within the noise), 128 slower by ~2% and 256 by
// ~3%. 48 keeps a block's transformed inputs in a 1 MB L2 cache at 128 channels (36 × 128 × 45 tiles × 4 bytes:
// five 12×12 maps, or one 24×24 map).
constexpr std::int64_t target_tiles = 48;

inline TileGrid tile_grid(std::int64_t h, std::int64_t w) { return TileGrid(h, w, target_tiles, 4); }

// ---- the small transforms, each over n entries of its vectors (channels, or filters) -----------------------------
// Each output vector has its own __restrict pointer, so that GCC vectorizes the loops (see winograd5::bt_vectors,
// which is Bᵀ here too); out(s) below is out + s·ld, for outputs ld apart (n ≤ ld).

// G on three vectors (s < 6), with products by rounded reciprocals rather than divisions, which cost several times
// more.
template <class T>
void g_vectors(const T* __restrict g0, const T* __restrict g1, const T* __restrict g2, std::int64_t n,
               T* __restrict o0, T* __restrict o1, T* __restrict o2, T* __restrict o3, T* __restrict o4,
               T* __restrict o5) {
  const T quarter = T(1) / T(4), sixth = T(1) / T(6), twelfth = T(1) / T(12), twentyfourth = T(1) / T(24);
  for (std::int64_t e = 0; e < n; ++e) {
    const T a = g0[e], b = g1[e], c = g2[e];
    o0[e] = a * quarter;
    o1[e] = -(a + b + c) * sixth;
    o2[e] = (b - a - c) * sixth;
    o3[e] = a * twentyfourth + b * twelfth + c * sixth;
    o4[e] = a * twentyfourth - b * twelfth + c * sixth;
    o5[e] = c;
  }
}
template <class T>
void g_vectors(const T* g0, const T* g1, const T* g2, std::int64_t n, T* out, std::int64_t ld) {
  g_vectors(g0, g1, g2, n, out, out + ld, out + 2 * ld, out + 3 * ld, out + 4 * ld, out + 5 * ld);
}

// Gᵀ on six vectors (s < 3): the adjoint of g_vectors.
template <class T>
void gt_vectors(const T* __restrict u0, const T* __restrict u1, const T* __restrict u2, const T* __restrict u3,
                const T* __restrict u4, const T* __restrict u5, std::int64_t n, T* __restrict o0, T* __restrict o1,
                T* __restrict o2) {
  const T quarter = T(1) / T(4), sixth = T(1) / T(6), twelfth = T(1) / T(12), twentyfourth = T(1) / T(24);
  for (std::int64_t e = 0; e < n; ++e) {
    const T sum12 = (u1[e] + u2[e]) * sixth, sum34 = u3[e] + u4[e], diff34 = u3[e] - u4[e];
    o0[e] = u0[e] * quarter - sum12 + sum34 * twentyfourth;
    o1[e] = (u2[e] - u1[e]) * sixth + diff34 * twelfth;
    o2[e] = sum34 * sixth - sum12 + u5[e];
  }
}
template <class T>
void gt_vectors(const T* u0, const T* u1, const T* u2, const T* u3, const T* u4, const T* u5, std::int64_t n, T* out,
                std::int64_t ld) {
  gt_vectors(u0, u1, u2, u3, u4, u5, n, out, out + ld, out + 2 * ld);
}

// Aᵀ on six vectors (s < 4), plus the vector b (the bias on the last step of the output transform, else zeros).
template <class T>
void at_vectors(const T* __restrict m0, const T* __restrict m1, const T* __restrict m2, const T* __restrict m3,
                const T* __restrict m4, const T* __restrict m5, const T* __restrict b, std::int64_t n,
                T* __restrict o0, T* __restrict o1, T* __restrict o2, T* __restrict o3) {
  for (std::int64_t e = 0; e < n; ++e) {
    const T sum12 = m1[e] + m2[e], diff12 = m1[e] - m2[e], sum34 = m3[e] + m4[e], diff34 = m3[e] - m4[e];
    o0[e] = m0[e] + sum12 + sum34 + b[e];
    o1[e] = diff12 + T(2) * diff34 + b[e];
    o2[e] = sum12 + T(4) * sum34 + b[e];
    o3[e] = diff12 + T(8) * diff34 + m5[e] + b[e];
  }
}
template <class T>
void at_vectors(const T* m0, const T* m1, const T* m2, const T* m3, const T* m4, const T* m5, const T* b,
                std::int64_t n, T* out, std::int64_t ld) {
  at_vectors(m0, m1, m2, m3, m4, m5, b, n, out, out + ld, out + 2 * ld, out + 3 * ld);
}

// A on four vectors (s < 6): the adjoint of at_vectors.
template <class T>
void a_vectors(const T* __restrict d0, const T* __restrict d1, const T* __restrict d2, const T* __restrict d3,
               std::int64_t n, T* __restrict o0, T* __restrict o1, T* __restrict o2, T* __restrict o3,
               T* __restrict o4, T* __restrict o5) {
  for (std::int64_t e = 0; e < n; ++e) {
    const T even = d0[e] + d2[e], odd = d1[e] + d3[e], even4 = d0[e] + T(4) * d2[e], odd4 = T(2) * d1[e] + T(8) * d3[e];
    o0[e] = d0[e];
    o1[e] = even + odd;
    o2[e] = even - odd;
    o3[e] = even4 + odd4;
    o4[e] = even4 - odd4;
    o5[e] = d3[e];
  }
}
template <class T>
void a_vectors(const T* d0, const T* d1, const T* d2, const T* d3, std::int64_t n, T* out, std::int64_t ld) {
  a_vectors(d0, d1, d2, d3, n, out, out + ld, out + 2 * ld, out + 3 * ld, out + 4 * ld, out + 5 * ld);
}

// ---- the filter transforms (once per call) ---------------------------------------------------------------------

// The purposes of this file's scratch buffers (cpu/scratch.hpp).
struct FilterTransforms;
struct FilterSums;
struct TransformedTiles;
struct Products;

// Filters w [K, C, 3, 3] → U [36][C][K]; with `adjoint`, those of the backward-data pass, U [36][K][C] from w[k, c]
// turned 180°. Row by row of U's matrices, each row's filters transformed together. U is the calling thread's
// scratch, valid until its next call.
template <class T>
const T* transform_filters(const T* w, std::int64_t k_out, std::int64_t c_in, bool adjoint) {
  const std::int64_t pairs = k_out * c_in;
  T* u = thread_scratch<FilterTransforms, T>(static_cast<std::size_t>(36 * pairs));
  const std::int64_t rows = adjoint ? k_out : c_in, cols = adjoint ? c_in : k_out;
  parallel_chunks(rows, 36 * cols, [&](int, std::int64_t first, std::int64_t last) {
    // g [9][cols] (tap 3a + b of each filter), t = G g [6][3][cols].
    std::vector<T> g(static_cast<std::size_t>(9 * cols)), t(static_cast<std::size_t>(18 * cols));
    for (std::int64_t r = first; r < last; ++r) {
      for (std::int64_t q = 0; q < cols; ++q) {
        const T* taps = w + (adjoint ? r * c_in + q : q * c_in + r) * 9;
        for (int e = 0; e < 9; ++e) g[static_cast<std::size_t>(e * cols + q)] = taps[adjoint ? 8 - e : e];
      }
      for (int b = 0; b < 3; ++b)
        g_vectors(g.data() + b * cols, g.data() + (3 + b) * cols, g.data() + (6 + b) * cols, cols,
                  t.data() + b * cols, 3 * cols);
      for (int s = 0; s < 6; ++s) {
        const T* ts = t.data() + 3 * s * cols;
        g_vectors(ts, ts + cols, ts + 2 * cols, cols, u + 6 * s * pairs + r * cols, pairs);
      }
    }
  });
  return u;
}

// dw [K, C, 3, 3] = Gᵀ dU G from the threads' partial sums of dU [36][K][C], added in thread order.
template <class T>
void filter_gradients(const std::vector<const T*>& du, std::int64_t pairs, T* dw) {
  constexpr std::int64_t block = 256;
  parallel_chunks((pairs + block - 1) / block, 36 * block, [&](int, std::int64_t first, std::int64_t last) {
    // sum [36][count], t = Gᵀ sum [3][6][count], dg [9][count].
    std::vector<T> sum(static_cast<std::size_t>(36 * block)), t(static_cast<std::size_t>(18 * block)),
        dg(static_cast<std::size_t>(9 * block));
    for (std::int64_t b = first; b < last; ++b) {
      const std::int64_t start = b * block, count = std::min(block, pairs - start);
      for (int xi = 0; xi < 36; ++xi) {
        auto row = as_array(sum.data() + xi * count, count);
        row = as_array(du[0] + xi * pairs + start, count);
        for (std::size_t th = 1; th < du.size(); ++th) row += as_array(du[th] + xi * pairs + start, count);
      }
      const T* s = sum.data();
      for (int col = 0; col < 6; ++col)
        gt_vectors(s + col * count, s + (6 + col) * count, s + (12 + col) * count, s + (18 + col) * count,
                   s + (24 + col) * count, s + (30 + col) * count, count, t.data() + col * count, 6 * count);
      for (int a = 0; a < 3; ++a) {
        const T* ta = t.data() + 6 * a * count;
        gt_vectors(ta, ta + count, ta + 2 * count, ta + 3 * count, ta + 4 * count, ta + 5 * count, count,
                   dg.data() + 3 * a * count, count);
      }
      for (std::int64_t pair = 0; pair < count; ++pair)
        for (int e = 0; e < 9; ++e) dw[(start + pair) * 9 + e] = dg[static_cast<std::size_t>(e * count + pair)];
    }
  });
}

// ---- the tile transforms ---------------------------------------------------------------------------------------

// One image of an NCHW tensor as [H·W, C] in `hwc`.
template <class T>
void to_channels_last(const T* image, std::int64_t channels, std::int64_t pixels, std::vector<T>& hwc) {
  hwc.resize(static_cast<std::size_t>(pixels * channels));
  transpose(image, channels, pixels, pixels, hwc.data(), channels);
}

// One thread's scratch: an image in channels-last order, a tile's half-transformed vectors, a partial tile at the
// map's edge, and the zeros that stand for pixels outside the map.
template <class T>
struct Scratch {
  std::vector<T> hwc, mixed, edge, zeros;
  explicit Scratch(std::int64_t channels)
      : mixed(static_cast<std::size_t>(36 * channels)),
        edge(static_cast<std::size_t>(16 * channels)),
        zeros(static_cast<std::size_t>(channels), T(0)) {}
  // The `channels` values of pixel (row, col) of the image in hwc, or zeros outside the map.
  const T* pixel(const TileGrid& g, std::int64_t row, std::int64_t col, std::int64_t channels) const {
    const bool inside = row >= 0 && row < g.h && col >= 0 && col < g.w;
    return inside ? hwc.data() + (row * g.w + col) * channels : zeros.data();
  }
};

// V [36][tiles][C] for the tiles of block blk of x [*, C, H, W].
template <class T>
void transform_inputs(const T* x, const TileBlock& blk, std::int64_t c_in, const TileGrid& g, Scratch<T>& s, T* v) {
  const std::int64_t tiles = g.tiles(blk), stride = tiles * c_in;
  T* mixed = s.mixed.data();
  for (std::int64_t img = 0; img < blk.images; ++img) {
    to_channels_last(x + (blk.image + img) * c_in * g.h * g.w, c_in, g.h * g.w, s.hwc);
    for (std::int64_t i = blk.row; i < blk.row + blk.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        // d[r][c]: the channels of input pixel (4i - 1 + r, 4j - 1 + c).
        const T* d[6][6];
        for (int r = 0; r < 6; ++r)
          for (int c = 0; c < 6; ++c) d[r][c] = s.pixel(g, 4 * i - 1 + r, 4 * j - 1 + c, c_in);
        // Bᵀ down each column c into mixed[r][c], then B across each row r into V[6r + c].
        for (int c = 0; c < 6; ++c)
          winograd5::bt_down_rows(d[0][c], d[1][c], d[2][c], d[3][c], d[4][c], d[5][c], c_in, mixed + c * c_in,
                                  6 * c_in);
        T* out = v + (g.index(blk, img, i) + j) * c_in;
        for (int r = 0; r < 6; ++r) {
          const T* m = mixed + 6 * r * c_in;
          winograd5::bt_down_rows(m, m + c_in, m + 2 * c_in, m + 3 * c_in, m + 4 * c_in, m + 5 * c_in, c_in,
                                  out + 6 * r * stride, stride);
        }
      }
    }
  }
}

// y [*, K, H, W] (+ bias when given) for the tiles of block blk, from M [36][tiles][K]: Aᵀ M A.
template <class T>
void transform_outputs(const T* m, const TileBlock& blk, std::int64_t k_out, const TileGrid& g, const T* bias,
                       Scratch<T>& s, T* y) {
  const std::int64_t tiles = g.tiles(blk), stride = tiles * k_out;
  s.hwc.resize(static_cast<std::size_t>(g.h * g.w * k_out));
  T *hwc = s.hwc.data(), *mixed = s.mixed.data();
  const T *zeros = s.zeros.data(), *b = bias != nullptr ? bias : zeros;
  for (std::int64_t img = 0; img < blk.images; ++img) {
    for (std::int64_t i = blk.row; i < blk.row + blk.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        // Aᵀ across each row r of M into mixed[r][c] (c < 4), then down each column c, adding the bias, into output
        // pixel (4i + r', 4j + c): straight into hwc for a whole tile, through s.edge for one over the map's edge.
        const T* in = m + (g.index(blk, img, i) + j) * k_out;
        for (int r = 0; r < 6; ++r) {
          const T* q = in + 6 * r * stride;
          at_vectors(q, q + stride, q + 2 * stride, q + 3 * stride, q + 4 * stride, q + 5 * stride, zeros, k_out,
                     mixed + 4 * r * k_out, k_out);
        }
        const bool whole = 4 * i + 3 < g.h && 4 * j + 3 < g.w;
        T* dst = whole ? hwc + (4 * i * g.w + 4 * j) * k_out : s.edge.data();
        const std::int64_t ld = whole ? g.w * k_out : 4 * k_out;
        for (int c = 0; c < 4; ++c) {
          const T* q = mixed + c * k_out;
          at_vectors(q, q + 4 * k_out, q + 8 * k_out, q + 12 * k_out, q + 16 * k_out, q + 20 * k_out, b, k_out,
                     dst + c * k_out, ld);
        }
        if (whole) continue;
        for (int r = 0; r < 4 && 4 * i + r < g.h; ++r)
          for (int c = 0; c < 4 && 4 * j + c < g.w; ++c)
            std::copy_n(s.edge.data() + (4 * r + c) * k_out, k_out, hwc + ((4 * i + r) * g.w + 4 * j + c) * k_out);
      }
    }
    // Back to NCHW: the pixels of the block's output rows only.
    const std::int64_t first = 4 * blk.row * g.w, count = std::min(4 * (blk.row + blk.rows), g.h) * g.w - first;
    transpose(static_cast<const T*>(hwc) + first * k_out, count, k_out, k_out,
              y + (blk.image + img) * k_out * g.h * g.w + first, g.h * g.w);
  }
}

// P [36][tiles][K] from dy [*, K, H, W] for the tiles of block blk: P = A dy Aᵀ per tile and channel, a 4×4 block
// of dy (zeros past the map's edge) spread over the 6×6 transformed tile.
template <class T>
void transform_output_gradients(const T* dy, const TileBlock& blk, std::int64_t k_out, const TileGrid& g,
                                Scratch<T>& s, T* p) {
  const std::int64_t tiles = g.tiles(blk), stride = tiles * k_out;
  T* mixed = s.mixed.data();
  for (std::int64_t img = 0; img < blk.images; ++img) {
    to_channels_last(dy + (blk.image + img) * k_out * g.h * g.w, k_out, g.h * g.w, s.hwc);
    for (std::int64_t i = blk.row; i < blk.row + blk.rows; ++i) {
      for (std::int64_t j = 0; j < g.cols; ++j) {
        const auto at = [&](std::int64_t r, std::int64_t c) { return s.pixel(g, 4 * i + r, 4 * j + c, k_out); };
        // A down each column c into mixed[r][c] (r < 6), then A across each row r into P[6r + c'].
        for (int c = 0; c < 4; ++c)
          a_vectors(at(0, c), at(1, c), at(2, c), at(3, c), k_out, mixed + c * k_out, 4 * k_out);
        T* out = p + (g.index(blk, img, i) + j) * k_out;
        for (int r = 0; r < 6; ++r) {
          const T* q = mixed + 4 * r * k_out;
          a_vectors(q, q + k_out, q + 2 * k_out, q + 3 * k_out, k_out, out + 6 * r * stride, stride);
        }
      }
    }
  }
}

// ---- the passes ------------------------------------------------------------------------------------------------

// y = conv3x3(x, filters whose transform is u) (+ bias), x [N, C, H, W], y [N, K, H, W].
template <class T>
void convolve(const T* x, const T* u, const T* bias, std::int64_t n, std::int64_t c_in,
              std::int64_t k_out, std::int64_t h, std::int64_t w, T* y) {
  const TileGrid grid = tile_grid(h, w);
  parallel_chunks(n, 9 * c_in * k_out * h * w, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    T* v = thread_scratch<TransformedTiles, T>(static_cast<std::size_t>(36 * c_in * max_tiles));
    T* m = thread_scratch<Products, T>(static_cast<std::size_t>(36 * k_out * max_tiles));
    Scratch<T> scratch(std::max(c_in, k_out));
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      transform_inputs(x, b, c_in, grid, scratch, v);
      for (int xi = 0; xi < 36; ++xi)
        matmul(as_matrix(m + xi * tiles * k_out, tiles, k_out),
               as_matrix(static_cast<const T*>(v) + xi * tiles * c_in, tiles, c_in),
               as_matrix(u + xi * c_in * k_out, c_in, k_out));
      transform_outputs(m, b, k_out, grid, bias, scratch, y);
    });
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
  const TileGrid grid = tile_grid(s.h(), s.w());
  const std::int64_t work = 9 * pairs * s.h() * s.w();
  // Per-thread partial sums of dU [36][K][C], added in thread order afterwards (filter_gradients) so that the
  // result does not depend on scheduling.
  std::vector<const T*> du(static_cast<std::size_t>(chunk_threads(n, work)));
  parallel_chunks(n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    T* v = thread_scratch<TransformedTiles, T>(static_cast<std::size_t>(36 * c_in * max_tiles));
    T* p = thread_scratch<Products, T>(static_cast<std::size_t>(36 * k_out * max_tiles));
    T* acc = thread_scratch<FilterSums, T>(static_cast<std::size_t>(36 * pairs));
    std::fill(acc, acc + 36 * pairs, T(0));
    du[static_cast<std::size_t>(thread)] = acc;
    Scratch<T> scratch(std::max(c_in, k_out));
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      transform_inputs(x.data(), b, c_in, grid, scratch, v);
      transform_output_gradients(dy.data(), b, k_out, grid, scratch, p);
      for (int xi = 0; xi < 36; ++xi)
        matmul_add(as_matrix(acc + xi * pairs, k_out, c_in),
                   as_matrix(static_cast<const T*>(p) + xi * tiles * k_out, tiles, k_out).transpose(),
                   as_matrix(static_cast<const T*>(v) + xi * tiles * c_in, tiles, c_in));
    });
  });
  filter_gradients(du, pairs, dw.data());
}

}  // namespace mien::cpu::winograd4
