#pragma once
// CPU 3×3 convolution (stride 1, "same" padding) by Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray, "Fast
// Algorithms for Convolutional Neural Networks", CVPR 2016): a 2×2 block of outputs comes from a 4×4 block of
// inputs with 16 multiplications per channel pair instead of 36. For a group of tiles each pass is 16 independent
// GEMMs, one per position ξ of the transformed 4×4 tile:
//   forward          M[ξ] = U[ξ] · V[ξ], summed over the C input channels
//                    U = G g Gᵀ (filters), V = Bᵀ d B (input tiles), y tile = Aᵀ M A
//   backward data    the forward run on dy, with the filters turned 180° and K and C swapped
//   backward filter  dU[ξ] += P[ξ] · V[ξ], summed over the T tiles; P = A dy Aᵀ (output-gradient tiles)
//                    dW = Gᵀ dU G
//   Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1],  G = [1 0 0; ½ ½ ½; ½ -½ ½; 0 0 1],  Aᵀ = [1 1 1 0; 0 1 -1 -1]
// Tile (i, j) reads input rows 2i - 1 .. 2i + 2 and columns 2j - 1 .. 2j + 2 (the padding is the -1); reads past
// the border are zeros, and outputs past an odd-sized map's edge are dropped. As in the im2col path, threads split
// the batch, each with its own scratch, and a thread's tiles are taken in blocks of about target_tiles tiles (whole
// small maps, or bands of tile rows of a large one) so that one block's operands stay in cache.
//
// The transforms, not the GEMMs, decide whether this beats im2col on a CPU (a first version transforming one tile
// at a time with scalar code ran 1.2–3.5× slower everywhere). Each step of a transform is a loop over a row of
// tiles, in NCHW; V, M, P are [16][channels][tiles]. That pays on maps of 32×32 or more; smaller maps, whose rows
// hold only a few tiles, take F(4×4, 3×3) in a channels-last layout instead (cpu/conv2d_winograd_4x4.hpp).
#include <algorithm>
#include <cstdint>
#include <vector>

#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu::winograd {

// Where this path measured faster than im2col on the development CPU with 2 threads, in every pass alike
// (docs/benchmarks.md): maps of 32×32 or more with 8+ channels (the 128×128 network: residual convolutions 1.5–1.7×
// per pass, second stream convolution 1.2–1.35×).
constexpr std::int64_t min_pixels = 32 * 32;
constexpr std::int64_t min_channels = 8;
// Tiles per group: 256 (one 32×32 map) ran the 128×128 network's residual convolutions 1.2× faster per pass than
// 512; 128 was no better (docs/benchmarks.md).
constexpr std::int64_t target_tiles = 256;

inline bool applies(const Shape& x, const Shape& w) {
  return w[2] == 3 && w[3] == 3 && x.h() * x.w() >= min_pixels && std::min(x.c(), w[0]) >= min_channels;
}

// ---- the filter transforms (once per call) ---------------------------------------------------------------------

// U = G g Gᵀ for `count` 3×3 filters at once: g [9][count] (tap e of filter i at g[e·count + i]) → u [16][count].
// Every step is a loop over the filters, which the compiler vectorizes.
template <class T>
void filter_transform(const T* __restrict g, std::int64_t count, T* __restrict u) {
  for (int c = 0; c < 3; ++c) {
    const T *g0 = g + c * count, *g1 = g0 + 3 * count, *g2 = g1 + 3 * count;
    // (G g)[r][c] is kept in u's row 4r + c for now; G across the columns follows in place below.
    T *t0 = u + c * count, *t1 = t0 + 4 * count, *t2 = t1 + 4 * count, *t3 = t2 + 4 * count;
    for (std::int64_t i = 0; i < count; ++i) {
      t0[i] = g0[i];
      t1[i] = T(0.5) * (g0[i] + g1[i] + g2[i]);
      t2[i] = T(0.5) * (g0[i] - g1[i] + g2[i]);
      t3[i] = g2[i];
    }
  }
  for (int r = 0; r < 4; ++r) {
    T *u0 = u + 4 * r * count, *u1 = u0 + count, *u2 = u1 + count, *u3 = u2 + count;
    for (std::int64_t i = 0; i < count; ++i) {
      const T a = u0[i], b = u1[i], c = u2[i];
      u1[i] = T(0.5) * (a + b + c);
      u2[i] = T(0.5) * (a - b + c);
      u3[i] = c;
    }
  }
}

// dg = Gᵀ du G, the adjoint of filter_transform, for `count` filters: du [16][count] → dg [9][count].
template <class T>
void filter_gradient_transform(const T* __restrict du, std::int64_t count, T* __restrict dg) {
  std::vector<T> t(static_cast<std::size_t>(12 * count));  // Gᵀ du, 3×4 rows of `count`
  for (int c = 0; c < 4; ++c) {
    const T *d0 = du + c * count, *d1 = d0 + 4 * count, *d2 = d1 + 4 * count, *d3 = d2 + 4 * count;
    T *t0 = t.data() + c * count, *t1 = t0 + 4 * count, *t2 = t1 + 4 * count;
    for (std::int64_t i = 0; i < count; ++i) {
      const T half_sum = T(0.5) * (d1[i] + d2[i]);
      t0[i] = d0[i] + half_sum;
      t1[i] = T(0.5) * (d1[i] - d2[i]);
      t2[i] = half_sum + d3[i];
    }
  }
  for (int r = 0; r < 3; ++r) {
    const T *r0 = t.data() + 4 * r * count, *r1 = r0 + count, *r2 = r1 + count, *r3 = r2 + count;
    T *g0 = dg + 3 * r * count, *g1 = g0 + count, *g2 = g1 + count;
    for (std::int64_t i = 0; i < count; ++i) {
      const T half_sum = T(0.5) * (r1[i] + r2[i]);
      g0[i] = r0[i] + half_sum;
      g1[i] = T(0.5) * (r1[i] - r2[i]);
      g2[i] = half_sum + r3[i];
    }
  }
}

// ---- tiles ------------------------------------------------------------------------------------------------------

// The tiles that one group of GEMMs covers: `images` whole images from `image` on, or tile rows
// [row, row + rows) of one image. Tile (img, i, j) is entry (img·rows + i - row)·cols + j of a tile matrix.
struct TileBlock {
  std::int64_t image, images, row, rows;
};

// The tiles of a map, and how one thread's images [first, last) are cut into blocks of about target_tiles tiles:
// groups of whole images, or bands of tile rows where one image holds more (a 64×64 map has 1024 tiles, whose
// transformed inputs and products would no longer stay in cache between the transforms and the GEMMs).
struct TileGrid {
  std::int64_t h, w, rows, cols;  // map extent; tiles down and across
  std::int64_t target;            // tiles per block
  std::int64_t per_image() const { return rows * cols; }
  // Tiles of `outputs` × `outputs` output pixels: 2 for F(2×2, ·), 4 for F(4×4, 3×3).
  TileGrid(std::int64_t height, std::int64_t width, std::int64_t target_block_tiles = target_tiles,
           std::int64_t outputs = 2)
      : h(height),
        w(width),
        rows((height + outputs - 1) / outputs),
        cols((width + outputs - 1) / outputs),
        target(target_block_tiles) {}
  std::int64_t images_per_block(std::int64_t images) const {
    return std::max<std::int64_t>(1, std::min(images, target / per_image()));
  }
  std::int64_t rows_per_block() const { return std::clamp<std::int64_t>(target / cols, 1, rows); }
  // The most tiles a block of a thread with `images` images holds, for sizing scratch.
  std::int64_t max_block_tiles(std::int64_t images) const {
    return images_per_block(images) > 1 ? images_per_block(images) * per_image() : rows_per_block() * cols;
  }
  std::int64_t tiles(const TileBlock& b) const { return b.images * b.rows * cols; }
  std::int64_t index(const TileBlock& b, std::int64_t img, std::int64_t i) const {
    return (img * b.rows + i - b.row) * cols;
  }
  template <class Fn>
  void for_each_block(std::int64_t first, std::int64_t last, Fn&& fn) const {
    const std::int64_t group = images_per_block(last - first);
    for (std::int64_t image = first; image < last; image += group) {
      if (group > 1 || per_image() <= target) {
        fn(TileBlock{image, std::min(group, last - image), 0, rows});
        continue;
      }
      for (std::int64_t row = 0; row < rows; row += rows_per_block())
        fn(TileBlock{image, 1, row, std::min(rows_per_block(), rows - row)});
    }
  }
};

// Filters w [K, C, 3, 3] → U [16][out][in], 16 matrices over the pass's (output channel, input channel). With
// `adjoint`, the filters of the backward-data pass: from w[k, c] turned 180°, with K the input and C the output
// channels.
template <class T>
std::vector<T> transform_filters(const T* w, std::int64_t k_out, std::int64_t c_in, bool adjoint) {
  const std::int64_t pairs = k_out * c_in;
  std::vector<T> u(static_cast<std::size_t>(16 * pairs));
  // Row by row of U's matrices (k for the forward pass, c for backward data), each row's filters transformed
  // together and stored contiguously. The filters are small next to a pass's GEMMs, but a serial scalar transform
  // left the second thread idle for ~2% of a 48×48 training step.
  const bool k_rows = !adjoint;
  const std::int64_t rows = k_rows ? k_out : c_in, cols = k_rows ? c_in : k_out;
  parallel_chunks(rows, 16 * cols, [&](int, std::int64_t first, std::int64_t last) {
    std::vector<T> g(static_cast<std::size_t>(9 * cols)), t(static_cast<std::size_t>(16 * cols));
    for (std::int64_t r = first; r < last; ++r) {
      for (std::int64_t q = 0; q < cols; ++q) {
        const T* taps = w + (k_rows ? r * c_in + q : q * c_in + r) * 9;
        for (int e = 0; e < 9; ++e) g[static_cast<std::size_t>(e * cols + q)] = taps[adjoint ? 8 - e : e];
      }
      filter_transform(g.data(), cols, t.data());
      for (int xi = 0; xi < 16; ++xi)
        std::copy(t.data() + xi * cols, t.data() + (xi + 1) * cols, u.data() + xi * pairs + r * cols);
    }
  });
  return u;
}

// ---- the rows layout -------------------------------------------------------------------------------------------
namespace rows {

// The two steps of the input transform of a tile row. The __restrict qualifiers keep their loops vectorized:
// without them GCC vectorized them in one build of the network and not in another (a 2.4× slower input transform,
// seen in a profile).
// Bᵀ down four rows r0 .. r3 of n entries each: t[s·ld + e].
template <class T>
void bt_down_rows(const T* __restrict r0, const T* __restrict r1, const T* __restrict r2, const T* __restrict r3,
                  std::int64_t n, T* __restrict t, std::int64_t ld) {
  for (std::int64_t e = 0; e < n; ++e) {
    t[e] = r0[e] - r2[e];
    t[ld + e] = r1[e] + r2[e];
    t[2 * ld + e] = r2[e] - r1[e];
    t[3 * ld + e] = r1[e] - r3[e];
  }
}

// B across the columns of each of `cols` tiles in one row t: v_s[j] from t[2j .. 2j + 3].
template <class T>
void b_across_tiles(const T* __restrict t, std::int64_t cols, T* __restrict v0, T* __restrict v1, T* __restrict v2,
                    T* __restrict v3) {
  for (std::int64_t j = 0; j < cols; ++j) {
    v0[j] = t[2 * j] - t[2 * j + 2];
    v1[j] = t[2 * j + 1] + t[2 * j + 2];
    v2[j] = t[2 * j + 2] - t[2 * j + 1];
    v3[j] = t[2 * j + 1] - t[2 * j + 3];
  }
}

// Row `row` of a plane [H, W], or `zeros` (W zeros) for a row outside the map: the padding above and below.
template <class T>
const T* row_or_zeros(const T* plane, const TileGrid& g, std::int64_t row, const std::vector<T>& zeros) {
  return row >= 0 && row < g.h ? plane + row * g.w : zeros.data();
}

// V [16][C][tiles] for the tiles of block b of x [*, C, H, W].
template <class T>
void transform_inputs(const T* x, const TileBlock& b, std::int64_t c_in, const TileGrid& g, T* v) {
  const std::int64_t tiles = g.tiles(b), stride = c_in * tiles, width = 2 * g.cols + 2;
  // mixed[s][1 + col] holds Bᵀ down the tile row's input rows at column col; its other entries are the left and
  // right padding, zero throughout.
  std::vector<T> mixed(static_cast<std::size_t>(4 * width)), zeros(static_cast<std::size_t>(g.w));
  for (std::int64_t img = 0; img < b.images; ++img) {
    for (std::int64_t c = 0; c < c_in; ++c) {
      const T* plane = x + ((b.image + img) * c_in + c) * g.h * g.w;
      for (std::int64_t i = b.row; i < b.row + b.rows; ++i) {
        // Bᵀ down the tile row's four input rows 2i - 1 .. 2i + 2, then B across the columns of each tile.
        bt_down_rows(row_or_zeros(plane, g, 2 * i - 1, zeros), row_or_zeros(plane, g, 2 * i, zeros),
                     row_or_zeros(plane, g, 2 * i + 1, zeros), row_or_zeros(plane, g, 2 * i + 2, zeros), g.w,
                     mixed.data() + 1, width);
        T* out = v + c * tiles + g.index(b, img, i);
        for (int r = 0; r < 4; ++r) {
          T* v0 = out + (4 * r) * stride;
          b_across_tiles(mixed.data() + r * width, g.cols, v0, v0 + stride, v0 + 2 * stride, v0 + 3 * stride);
        }
      }
    }
  }
}

// Writes the outputs of tile row i of 2×2 tiles into an output plane [H, W]: out[2r + s][j] is
// plane[2i + r][2j + s]; rows and columns past the map's edge are dropped.
template <class T>
void store_tile_row(const T* __restrict out, const TileGrid& g, std::int64_t i, T* __restrict plane) {
  for (int r = 0; r < 2 && 2 * i + r < g.h; ++r) {
    T* dst = plane + (2 * i + r) * g.w;
    const T *even = out + (2 * r) * g.cols, *odd = even + g.cols;
    for (std::int64_t j = 0; j < g.w / 2; ++j) {
      dst[2 * j] = even[j];
      dst[2 * j + 1] = odd[j];
    }
    if (g.w % 2) dst[g.w - 1] = even[g.cols - 1];
  }
}

// y [*, K, H, W] (+ bias when given) for the tiles of block blk, from M [16][K][tiles].
template <class T>
void transform_outputs(const T* m, const TileBlock& blk, std::int64_t k_out, const TileGrid& g, const T* bias, T* y) {
  const std::int64_t tiles = g.tiles(blk), stride = k_out * tiles;
  std::vector<T> cols(static_cast<std::size_t>(8 * g.cols)), out(static_cast<std::size_t>(4 * g.cols));
  for (std::int64_t img = 0; img < blk.images; ++img) {
    for (std::int64_t k = 0; k < k_out; ++k) {
      T* plane = y + ((blk.image + img) * k_out + k) * g.h * g.w;
      const T b = bias != nullptr ? bias[k] : T(0);
      for (std::int64_t i = blk.row; i < blk.row + blk.rows; ++i) {
        const T* in = m + k * tiles + g.index(blk, img, i);
        // A across each tile's columns (4 → 2), row by row: cols[2r + s][j].
        for (int r = 0; r < 4; ++r) {
          const T *m0 = in + (4 * r) * stride, *m1 = m0 + stride, *m2 = m1 + stride, *m3 = m2 + stride;
          T *c0 = cols.data() + (2 * r) * g.cols, *c1 = c0 + g.cols;
          for (std::int64_t j = 0; j < g.cols; ++j) {
            c0[j] = m0[j] + m1[j] + m2[j];
            c1[j] = m1[j] - m2[j] - m3[j];
          }
        }
        // Aᵀ down the rows (4 → 2): out[2r + s][j] is y[2i + r][2j + s].
        for (int s = 0; s < 2; ++s) {
          const T *a0 = cols.data() + s * g.cols, *a1 = a0 + 2 * g.cols, *a2 = a1 + 2 * g.cols, *a3 = a2 + 2 * g.cols;
          T *y0 = out.data() + s * g.cols, *y1 = y0 + 2 * g.cols;
          for (std::int64_t j = 0; j < g.cols; ++j) {
            y0[j] = a0[j] + a1[j] + a2[j] + b;
            y1[j] = a1[j] - a2[j] - a3[j] + b;
          }
        }
        store_tile_row(out.data(), g, i, plane);
      }
    }
  }
}

// The 2×2 output blocks of tile row i of a plane [H, W], split by position: blocks[2r + s][j] = plane[2i + r][2j + s]
// (zero past the edge), 4 rows of g.cols entries. The output-gradient transforms of both kernel sizes start here.
template <class T>
void load_output_blocks(const T* plane, const TileGrid& g, std::int64_t i, std::vector<T>& blocks) {
  std::fill(blocks.begin(), blocks.end(), T(0));
  for (int r = 0; r < 2 && 2 * i + r < g.h; ++r) {
    const T* src = plane + (2 * i + r) * g.w;
    T *even = blocks.data() + (2 * r) * g.cols, *odd = even + g.cols;
    for (std::int64_t j = 0; j < g.w / 2; ++j) {
      even[j] = src[2 * j];
      odd[j] = src[2 * j + 1];
    }
    if (g.w % 2) even[g.cols - 1] = src[g.w - 1];
  }
}

// A on two vectors into four: d0, d0 + d1, d0 - d1, -d1. Four __restrict output pointers, so that GCC vectorizes
// the loop (see winograd5::bt_vectors).
template <class T>
void a_vectors(const T* __restrict d0, const T* __restrict d1, std::int64_t n, T* __restrict o0, T* __restrict o1,
               T* __restrict o2, T* __restrict o3) {
  for (std::int64_t e = 0; e < n; ++e) {
    o0[e] = d0[e];
    o1[e] = d0[e] + d1[e];
    o2[e] = d0[e] - d1[e];
    o3[e] = -d1[e];
  }
}

// P [16][K][tiles] from dy [*, K, H, W] for the tiles of block b.
template <class T>
void transform_output_gradients(const T* dy, const TileBlock& b, std::int64_t k_out, const TileGrid& g, T* p) {
  const std::int64_t tiles = g.tiles(b), stride = k_out * tiles;
  std::vector<T> blocks(static_cast<std::size_t>(4 * g.cols)), mixed(static_cast<std::size_t>(8 * g.cols));
  for (std::int64_t img = 0; img < b.images; ++img) {
    for (std::int64_t k = 0; k < k_out; ++k) {
      const T* plane = dy + ((b.image + img) * k_out + k) * g.h * g.w;
      for (std::int64_t i = b.row; i < b.row + b.rows; ++i) {
        load_output_blocks(plane, g, i, blocks);
        // A down the rows (2 → 4): mixed[2r + s][j].
        for (int s = 0; s < 2; ++s) {
          const T* d0 = blocks.data() + s * g.cols;
          T* a0 = mixed.data() + s * g.cols;
          a_vectors(d0, d0 + 2 * g.cols, g.cols, a0, a0 + 2 * g.cols, a0 + 4 * g.cols, a0 + 6 * g.cols);
        }
        // Aᵀ across the columns (2 → 4).
        T* out = p + k * tiles + g.index(b, img, i);
        for (int r = 0; r < 4; ++r) {
          const T* e0 = mixed.data() + (2 * r) * g.cols;
          T* p0 = out + (4 * r) * stride;
          a_vectors(e0, e0 + g.cols, g.cols, p0, p0 + stride, p0 + 2 * stride, p0 + 3 * stride);
        }
      }
    }
  }
}

}  // namespace rows

// ---- the passes ------------------------------------------------------------------------------------------------

// y = conv3x3(x, filters whose transform is u) (+ bias), x [N, C, H, W], y [N, K, H, W].
template <class T>
void convolve(const T* x, const std::vector<T>& u, const T* bias, std::int64_t n, std::int64_t c_in,
              std::int64_t k_out, std::int64_t h, std::int64_t w, T* y) {
  const TileGrid grid(h, w);
  parallel_chunks(n, 9 * c_in * k_out * h * w, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    std::vector<T> v(static_cast<std::size_t>(16 * c_in * max_tiles));
    std::vector<T> m(static_cast<std::size_t>(16 * k_out * max_tiles));
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      rows::transform_inputs(x, b, c_in, grid, v.data());
      for (int xi = 0; xi < 16; ++xi)
        matmul(as_matrix(m.data() + xi * k_out * tiles, k_out, tiles),
               as_matrix(u.data() + xi * k_out * c_in, k_out, c_in),
               as_matrix(static_cast<const T*>(v.data()) + xi * c_in * tiles, c_in, tiles));
      rows::transform_outputs(m.data(), b, k_out, grid, bias, y);
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
  const TileGrid grid(s.h(), s.w());
  const std::int64_t work = 9 * pairs * s.h() * s.w();
  // Per-thread partial sums of dU [16][K][C], added in thread order afterwards so that the result does not depend
  // on scheduling.
  const int threads = chunk_threads(n, work);
  std::vector<std::vector<T>> du(static_cast<std::size_t>(threads),
                                 std::vector<T>(static_cast<std::size_t>(16 * pairs), T(0)));
  parallel_chunks(n, work, [&](int thread, std::int64_t first, std::int64_t last) {
    const std::int64_t max_tiles = grid.max_block_tiles(last - first);
    std::vector<T> v(static_cast<std::size_t>(16 * c_in * max_tiles));
    std::vector<T> p(static_cast<std::size_t>(16 * k_out * max_tiles));
    T* acc = du[static_cast<std::size_t>(thread)].data();
    grid.for_each_block(first, last, [&](const TileBlock& b) {
      const std::int64_t tiles = grid.tiles(b);
      rows::transform_inputs(x.data(), b, c_in, grid, v.data());
      rows::transform_output_gradients(dy.data(), b, k_out, grid, p.data());
      for (int xi = 0; xi < 16; ++xi)
        matmul_add(as_matrix(acc + xi * pairs, k_out, c_in),
                   as_matrix(static_cast<const T*>(p.data()) + xi * k_out * tiles, k_out, tiles),
                   as_matrix(static_cast<const T*>(v.data()) + xi * c_in * tiles, c_in, tiles).transpose());
    });
  });
  // The threads' sums added in thread order and turned into dw, a block of filter pairs at a time.
  constexpr std::int64_t block = 256;
  parallel_chunks((pairs + block - 1) / block, 16 * block, [&](int, std::int64_t first, std::int64_t last) {
    std::vector<T> sum(static_cast<std::size_t>(16 * block)), dg(static_cast<std::size_t>(9 * block));
    for (std::int64_t b = first; b < last; ++b) {
      const std::int64_t start = b * block, count = std::min(block, pairs - start);
      for (int xi = 0; xi < 16; ++xi) {
        auto row = as_array(sum.data() + xi * count, count);
        row = as_array(du[0].data() + xi * pairs + start, count);
        for (std::size_t t = 1; t < du.size(); ++t) row += as_array(du[t].data() + xi * pairs + start, count);
      }
      filter_gradient_transform(sum.data(), count, dg.data());
      for (std::int64_t pair = 0; pair < count; ++pair)
        for (int e = 0; e < 9; ++e) dw.data()[(start + pair) * 9 + e] = dg[static_cast<std::size_t>(e * count + pair)];
    }
  });
}

}  // namespace mien::cpu::winograd
