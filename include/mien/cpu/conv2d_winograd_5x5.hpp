#pragma once
// CPU 5×5 convolution (stride 1, "same" padding) by Winograd's minimal filtering F(2×2, 5×5): a 2×2 block of outputs
// from a 6×6 block of inputs with 36 multiplications per channel pair instead of 100. The interpolation points are
// 0, ±1, ±2 and ∞ (the Toom-Cook construction that Lavin & Gray, CVPR 2016, use for F(2×2, 3×3); these matrices
// were derived with it and checked exactly with sympy):
//   Bᵀ = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]
//   G  = [¼ 0 0 0 0; -⅙ -⅙ -⅙ -⅙ -⅙; -⅙ ⅙ -⅙ ⅙ -⅙; 1/24 1/12 ⅙ ⅓ ⅔; 1/24 -1/12 ⅙ -⅓ ⅔; 0 0 0 0 1]
//   Aᵀ = [1 1 1 1 1 0; 0 1 -1 2 -2 1]
// The forward pass as the 3×3 path's forward (conv2d_winograd.hpp) with 36 positions ξ instead of 16, in its rows
// layout (V and M are [36][channels][tiles]) and its blocks of tiles; tile (i, j) reads input rows 2i - 2 .. 2i + 3
// and columns 2j - 2 .. 2j + 3. The backward-data pass is the forward pass on dy with the filters turned 180°; the
// filter gradient is dW = Gᵀ (Σ over tiles of P · Vᵀ) G with P = A dy Aᵀ, as in the 3×3 path.
// Measured against im2col on the second 5×5 stream convolution (32 → 64 channels), batch 32, 2 threads
// (docs/benchmarks.md): 24×24 maps (48×48 network) forward 1.5×, backward data 1.2×, filter gradient 1.45×; 64×64
// maps (128×128 network) forward 1.6×, backward data 1.45×, filter gradient 1.4×, once the maps were cut into bands
// of tile rows (a whole 64×64 map as one block, 14 MB of transformed tiles, ran the forward pass 1.26×).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/tensor.hpp"
#include "mien/cpu/conv2d_winograd.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu::winograd5 {

using winograd::TileBlock;
using winograd::TileGrid;

// Every pass on maps of 16×16 or more with 8+ channels in and out.
constexpr std::int64_t min_pixels = 16 * 16;
constexpr std::int64_t min_channels = 8;

inline bool applies(const Shape& x, const Shape& w) {
  return w[2] == 5 && w[3] == 5 && std::min(x.c(), w[0]) >= min_channels && x.h() * x.w() >= min_pixels;
}

// Blocks of 128 tiles on maps below 32×32 and 256 (the 3×3 path's) on larger ones: on the 24×24 maps, blocks of one
// whole map (144 tiles) ran the backward passes 1.3–1.4× slower than bands of 10 tile rows, and on 64×64 maps
// bands of 4 rows ran 1.05–1.1× slower than bands of 8 (docs/benchmarks.md).
inline TileGrid tile_grid(std::int64_t h, std::int64_t w) { return TileGrid(h, w, h * w < 32 * 32 ? 128 : 256); }

// ---- the small transforms ---------------------------------------------------------------------------------------

// out[s·step] = Σ_t Bᵀ[s][t] d[t·step] for one column of six values.
template <class T>
inline void bt6(T d0, T d1, T d2, T d3, T d4, T d5, T* out, std::int64_t step) {
  out[0] = T(4) * d0 - T(5) * d2 + d4;
  out[step] = d3 + d4 - T(4) * (d1 + d2);
  out[2 * step] = d4 - d3 + T(4) * (d1 - d2);
  out[3 * step] = d4 - d2 + T(2) * (d3 - d1);
  out[4 * step] = d4 - d2 + T(2) * (d1 - d3);
  out[5 * step] = T(4) * d1 - T(5) * d3 + d5;
}

// u[k·step] = Σ_c G[k][c] g[c·gstep] for k < 6: G applied to five values.
template <class T>
inline void g5(const T* g, std::int64_t gstep, T* u, std::int64_t step) {
  const T a = g[0], b = g[gstep], c = g[2 * gstep], d = g[3 * gstep], e = g[4 * gstep];
  u[0] = a / T(4);
  u[step] = -(a + b + c + d + e) / T(6);
  u[2 * step] = -(a - b + c - d + e) / T(6);
  u[3 * step] = a / T(24) + b / T(12) + c / T(6) + d / T(3) + T(2) * e / T(3);
  u[4 * step] = a / T(24) - b / T(12) + c / T(6) - d / T(3) + T(2) * e / T(3);
  u[5 * step] = e;
}

// out[c·step] = Σ_k G[k][c] u[k·ustep] for c < 5: Gᵀ applied to six values (the adjoint of g5).
template <class T>
inline void gt6(const T* u, std::int64_t ustep, T* out, std::int64_t step) {
  const T u0 = u[0], u1 = u[ustep], u2 = u[2 * ustep], u3 = u[3 * ustep], u4 = u[4 * ustep], u5 = u[5 * ustep];
  const T sum12 = (u1 + u2) / T(6), diff12 = (u2 - u1) / T(6);
  out[0] = u0 / T(4) - sum12 + (u3 + u4) / T(24);
  out[step] = diff12 + (u3 - u4) / T(12);
  out[2 * step] = (u3 + u4) / T(6) - sum12;
  out[3 * step] = diff12 + (u3 - u4) / T(3);
  out[4 * step] = T(2) * (u3 + u4) / T(3) - sum12 + u5;
}

// Filters w [K, C, 5, 5] → U [36][K][C] (U = G g Gᵀ). With `adjoint`, those of the backward-data pass, U [36][C][K]
// from w[k, c] turned 180°. Output channels split over the threads, as the 3×3 paths do: serial, this and the filter
// gradient's last step were 0.7% of a 48×48 training step's samples in perf, with the other thread idle.
template <class T>
std::vector<T> transform_filters(const T* w, std::int64_t k_out, std::int64_t c_in, bool adjoint) {
  const std::int64_t pairs = k_out * c_in;
  std::vector<T> u(static_cast<std::size_t>(36 * pairs));
  parallel_chunks(k_out, 36 * c_in, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t k = first; k < last; ++k) {
      for (std::int64_t c = 0; c < c_in; ++c) {
        const T* src = w + (k * c_in + c) * 25;
        T g[25], t[30], out[36];  // t = G g, 6×5
        for (int e = 0; e < 25; ++e) g[e] = src[adjoint ? 24 - e : e];
        for (int col = 0; col < 5; ++col) g5(g + col, 5, t + col, 5);
        for (int r = 0; r < 6; ++r) g5(t + 5 * r, 1, out + 6 * r, 1);
        const std::int64_t at = adjoint ? c * k_out + k : k * c_in + c;
        for (int xi = 0; xi < 36; ++xi) u[static_cast<std::size_t>(xi * pairs + at)] = out[xi];
      }
    }
  });
  return u;
}

// ---- the tile transforms (rows layout) --------------------------------------------------------------------------

// Bᵀ on six vectors d0 .. d5 of n entries into six others: o_s[e] = Σ_t Bᵀ[s][t] d_t[e]. Six output pointers, each
// __restrict, because GCC 12 left the loop scalar when the outputs were one pointer plus multiples of a stride
// (bt6's form): it could not show that the six stores of one entry never meet another entry's.
template <class T>
void bt_vectors(const T* __restrict d0, const T* __restrict d1, const T* __restrict d2, const T* __restrict d3,
                const T* __restrict d4, const T* __restrict d5, std::int64_t n, T* __restrict o0, T* __restrict o1,
                T* __restrict o2, T* __restrict o3, T* __restrict o4, T* __restrict o5) {
  for (std::int64_t e = 0; e < n; ++e) {
    o0[e] = T(4) * d0[e] - T(5) * d2[e] + d4[e];
    o1[e] = d3[e] + d4[e] - T(4) * (d1[e] + d2[e]);
    o2[e] = d4[e] - d3[e] + T(4) * (d1[e] - d2[e]);
    o3[e] = d4[e] - d2[e] + T(2) * (d3[e] - d1[e]);
    o4[e] = d4[e] - d2[e] + T(2) * (d1[e] - d3[e]);
    o5[e] = T(4) * d1[e] - T(5) * d3[e] + d5[e];
  }
}

// Aᵀ on six vectors into two, plus b: o0 = m0 + m1 + m2 + m3 + m4 + b, o1 = m1 - m2 + 2 (m3 - m4) + m5 + b.
template <class T>
void at_vectors(const T* __restrict m0, const T* __restrict m1, const T* __restrict m2, const T* __restrict m3,
                const T* __restrict m4, const T* __restrict m5, std::int64_t n, T b, T* __restrict o0,
                T* __restrict o1) {
  for (std::int64_t e = 0; e < n; ++e) {
    o0[e] = m0[e] + m1[e] + m2[e] + m3[e] + m4[e] + b;
    o1[e] = m1[e] - m2[e] + T(2) * (m3[e] - m4[e]) + m5[e] + b;
  }
}

// A on two vectors into six: d0, d0 + d1, d0 - d1, d0 + 2 d1, d0 - 2 d1, d1.
template <class T>
void a_vectors(const T* __restrict d0, const T* __restrict d1, std::int64_t n, T* __restrict o0, T* __restrict o1,
               T* __restrict o2, T* __restrict o3, T* __restrict o4, T* __restrict o5) {
  for (std::int64_t e = 0; e < n; ++e) {
    o0[e] = d0[e];
    o1[e] = d0[e] + d1[e];
    o2[e] = d0[e] - d1[e];
    o3[e] = d0[e] + T(2) * d1[e];
    o4[e] = d0[e] - T(2) * d1[e];
    o5[e] = d1[e];
  }
}

// The two steps of the input transform of a tile row. Bᵀ down six rows d0 .. d5 of n entries each: t[s·ld + e]
// (n ≤ ld).
template <class T>
void bt_down_rows(const T* d0, const T* d1, const T* d2, const T* d3, const T* d4, const T* d5, std::int64_t n, T* t,
                  std::int64_t ld) {
  bt_vectors(d0, d1, d2, d3, d4, d5, n, t, t + ld, t + 2 * ld, t + 3 * ld, t + 4 * ld, t + 5 * ld);
}

// B across the columns of each of `cols` tiles in one row q: o[s·stride + j] from q[2j .. 2j + 5].
template <class T>
void b_across_tiles(const T* __restrict q, std::int64_t cols, T* __restrict o, std::int64_t stride) {
  for (std::int64_t j = 0; j < cols; ++j)
    bt6(q[2 * j], q[2 * j + 1], q[2 * j + 2], q[2 * j + 3], q[2 * j + 4], q[2 * j + 5], o + j, stride);
}

// V [36][C][tiles] for the tiles of block b of x [*, C, H, W].
template <class T>
void transform_inputs(const T* x, const TileBlock& b, std::int64_t c_in, const TileGrid& g, T* v) {
  const std::int64_t tiles = g.tiles(b), stride = c_in * tiles, width = 2 * g.cols + 4;
  // mixed[s][2 + col] holds Bᵀ down the tile row's input rows at column col; its other entries are the left and
  // right padding, zero throughout.
  std::vector<T> mixed(static_cast<std::size_t>(6 * width)), zeros(static_cast<std::size_t>(g.w));
  for (std::int64_t img = 0; img < b.images; ++img) {
    for (std::int64_t c = 0; c < c_in; ++c) {
      const T* plane = x + ((b.image + img) * c_in + c) * g.h * g.w;
      for (std::int64_t i = b.row; i < b.row + b.rows; ++i) {
        // Bᵀ down the tile row's six input rows 2i - 2 .. 2i + 3, then B across the columns of each tile.
        const T* d[6];
        for (int r = 0; r < 6; ++r) d[r] = winograd::rows::row_or_zeros(plane, g, 2 * i - 2 + r, zeros);
        bt_down_rows(d[0], d[1], d[2], d[3], d[4], d[5], g.w, mixed.data() + 2, width);
        T* out = v + c * tiles + g.index(b, img, i);
        for (int r = 0; r < 6; ++r) b_across_tiles(mixed.data() + r * width, g.cols, out + (6 * r) * stride, stride);
      }
    }
  }
}

// y [*, K, H, W] (+ bias when given) for the tiles of block blk, from M [36][K][tiles]: Aᵀ M A.
template <class T>
void transform_outputs(const T* m, const TileBlock& blk, std::int64_t k_out, const TileGrid& g, const T* bias, T* y) {
  const std::int64_t tiles = g.tiles(blk), stride = k_out * tiles;
  std::vector<T> cols(static_cast<std::size_t>(12 * g.cols)), out(static_cast<std::size_t>(4 * g.cols));
  for (std::int64_t img = 0; img < blk.images; ++img) {
    for (std::int64_t k = 0; k < k_out; ++k) {
      T* plane = y + ((blk.image + img) * k_out + k) * g.h * g.w;
      const T b = bias != nullptr ? bias[k] : T(0);
      for (std::int64_t i = blk.row; i < blk.row + blk.rows; ++i) {
        const T* in = m + k * tiles + g.index(blk, img, i);
        // A across each tile's columns (6 → 2), row by row: cols[2r + s][j].
        for (int r = 0; r < 6; ++r) {
          const T* q = in + (6 * r) * stride;
          T* c0 = cols.data() + (2 * r) * g.cols;
          at_vectors(q, q + stride, q + 2 * stride, q + 3 * stride, q + 4 * stride, q + 5 * stride, g.cols, T(0), c0,
                     c0 + g.cols);
        }
        // Aᵀ down the rows (6 → 2): out[2r + s][j] is y[2i + r][2j + s].
        for (int s = 0; s < 2; ++s) {
          const T* a = cols.data() + s * g.cols;
          const std::int64_t ld = 2 * g.cols;
          T* y0 = out.data() + s * g.cols;
          at_vectors(a, a + ld, a + 2 * ld, a + 3 * ld, a + 4 * ld, a + 5 * ld, g.cols, b, y0, y0 + 2 * g.cols);
        }
        winograd::rows::store_tile_row(out.data(), g, i, plane);
      }
    }
  }
}

// P [36][K][tiles] from dy [*, K, H, W] for the tiles of block b: P = A dy Aᵀ, a 2×2 block of dy (zero past the
// edge) spread over the 6×6 transformed tile; A applied to (y0, y1) gives y0, y0 + y1, y0 - y1, y0 + 2y1, y0 - 2y1, y1.
template <class T>
void transform_output_gradients(const T* dy, const TileBlock& b, std::int64_t k_out, const TileGrid& g, T* p) {
  const std::int64_t tiles = g.tiles(b), stride = k_out * tiles;
  // blocks[2r + s][j] = dy[2i + r][2j + s]; mixed[2r + s][j] after A down the rows (2 → 6).
  std::vector<T> blocks(static_cast<std::size_t>(4 * g.cols)), mixed(static_cast<std::size_t>(12 * g.cols));
  for (std::int64_t img = 0; img < b.images; ++img) {
    for (std::int64_t k = 0; k < k_out; ++k) {
      const T* plane = dy + ((b.image + img) * k_out + k) * g.h * g.w;
      for (std::int64_t i = b.row; i < b.row + b.rows; ++i) {
        winograd::rows::load_output_blocks(plane, g, i, blocks);
        for (int s = 0; s < 2; ++s) {
          const T* d0 = blocks.data() + s * g.cols;
          T* a = mixed.data() + s * g.cols;
          const std::int64_t ld = 2 * g.cols;
          a_vectors(d0, d0 + 2 * g.cols, g.cols, a, a + ld, a + 2 * ld, a + 3 * ld, a + 4 * ld, a + 5 * ld);
        }
        // Aᵀ across the columns (2 → 6).
        T* out = p + k * tiles + g.index(b, img, i);
        for (int r = 0; r < 6; ++r) {
          const T* e0 = mixed.data() + (2 * r) * g.cols;
          T* q = out + (6 * r) * stride;
          a_vectors(e0, e0 + g.cols, g.cols, q, q + stride, q + 2 * stride, q + 3 * stride, q + 4 * stride,
                    q + 5 * stride);
        }
      }
    }
  }
}

// ---- the forward pass ------------------------------------------------------------------------------------------

// y = conv5x5(x, filters whose transform is u) + bias, x [N, C, H, W], y [N, K, H, W].
template <class T>
void convolve(const T* x, const std::vector<T>& u, const T* bias, std::int64_t n, std::int64_t c_in,
              std::int64_t k_out, std::int64_t h, std::int64_t w, T* y) {
  const TileGrid grid = tile_grid(h, w);
  parallel_chunks(n, 25 * c_in * k_out * h * w, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    std::vector<T> v(static_cast<std::size_t>(36 * c_in * max_tiles));
    std::vector<T> m(static_cast<std::size_t>(36 * k_out * max_tiles));
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      transform_inputs(x, b, c_in, grid, v.data());
      for (int xi = 0; xi < 36; ++xi)
        matmul(as_matrix(m.data() + xi * k_out * tiles, k_out, tiles),
               as_matrix(u.data() + xi * k_out * c_in, k_out, c_in),
               as_matrix(static_cast<const T*>(v.data()) + xi * c_in * tiles, c_in, tiles));
      transform_outputs(m.data(), b, k_out, grid, bias, y);
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

// dx = the forward pass on dy with the filters turned 180° and K and C swapped (stride 1, "same" padding).
template <class T>
void backward_data(const Tensor<T>& dy, const Tensor<T>& w, Tensor<T>& dx) {
  const Shape& s = dx.shape();
  const std::int64_t k_out = w.shape()[0];
  convolve<T>(dy.data(), transform_filters(w.data(), k_out, s.c(), true), nullptr, s.n(), k_out, s.c(), s.h(), s.w(),
              dx.data());
}

// dw [K, C, 5, 5] (overwritten): dU[ξ] = Σ over tiles of P[ξ] · V[ξ]ᵀ, then dW = Gᵀ dU G. The bias gradient is the
// caller's. Per-thread partial sums are added in thread order, so the result does not depend on scheduling.
template <class T>
void backward_filter(const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw) {
  const Shape& s = x.shape();
  const std::int64_t k_out = dw.shape()[0], c_in = s.c(), n = s.n(), pairs = k_out * c_in;
  const TileGrid grid = tile_grid(s.h(), s.w());
  const std::int64_t work = 25 * pairs * s.h() * s.w();
  const int threads = chunk_threads(n, work);
  std::vector<std::vector<T>> du(static_cast<std::size_t>(threads),
                                 std::vector<T>(static_cast<std::size_t>(36 * pairs), T(0)));
  parallel_chunks(n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    std::vector<T> v(static_cast<std::size_t>(36 * c_in * max_tiles));
    std::vector<T> p(static_cast<std::size_t>(36 * k_out * max_tiles));
    T* acc = du[static_cast<std::size_t>(thread)].data();
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      transform_inputs(x.data(), b, c_in, grid, v.data());
      transform_output_gradients(dy.data(), b, k_out, grid, p.data());
      for (int xi = 0; xi < 36; ++xi)
        matmul_add(as_matrix(acc + xi * pairs, k_out, c_in),
                   as_matrix(static_cast<const T*>(p.data()) + xi * k_out * tiles, k_out, tiles),
                   as_matrix(static_cast<const T*>(v.data()) + xi * c_in * tiles, c_in, tiles).transpose());
    });
  });
  // The threads' sums added in thread order, pair by pair, and turned into dw.
  parallel_chunks(pairs, 36 * static_cast<std::int64_t>(du.size()), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t pair = first; pair < last; ++pair) {
      T tile[36], t[30];  // t = Gᵀ dU, 5×6
      for (int xi = 0; xi < 36; ++xi) {
        const std::size_t at = static_cast<std::size_t>(xi * pairs + pair);
        tile[xi] = du[0][at];
        for (std::size_t th = 1; th < du.size(); ++th) tile[xi] += du[th][at];
      }
      for (int col = 0; col < 6; ++col) gt6(tile + col, 6, t + col, 6);
      for (int r = 0; r < 5; ++r) gt6(t + 6 * r, 1, dw.data() + pair * 25 + 5 * r, 1);
    }
  });
}

}  // namespace mien::cpu::winograd5
