#pragma once
// Index arithmetic of mien's implicit-GEMM convolution kernels (stride 1, "same" zero padding, odd square
// kernels), apart from the kernels so that plain C++ tests can check it against a direct convolution.
//
// The three passes are GEMMs over virtual matrices that are never stored:
//   forward          y [K, P]   = W [K, C·k·k]      · X̂ [C·k·k, P]     X̂ = im2col of x, P = N·H·W pixels
//   backward data    dx [C, P]  = Wᶠ [C, K·k·k]     · D̂Y [K·k·k, P]    Wᶠ = W transposed and flipped
//   backward filter  dW [K, C·k·k] = DY [K, P] · X̂ᵀ [P, C·k·k]
// Backward data is the forward pass run on dy with the flipped weights (a "same" convolution of dy with the
// kernel rotated by 180°), so two GEMM shapes cover all three passes.
#include <cstdint>

#include "mien/core/config.hpp"
#include "mien/kernels/index_math.hpp"

namespace mien::cuda::conv {

// A convolution from `c` input channels to `k` output channels over n images of h x w, kernel extent ks.
struct ConvShape {
  int n, c, h, w;
  int k;
  int ks;

  MIEN_HD int pad() const { return ks / 2; }
  MIEN_HD int plane() const { return h * w; }
  MIEN_HD int pixels() const { return n * h * w; }
  MIEN_HD int patch() const { return c * ks * ks; }
  // The shape whose forward pass computes this one's backward data: dy (k channels) in, dx (c channels) out.
  MIEN_HD ConvShape transposed() const { return ConvShape{n, k, h, w, c, ks}; }
};

// An output pixel: image, row, column.
struct Pixel {
  int n, h, w;
};

// One entry of the kernel window: input channel, row, column.
struct Tap {
  int c, r, s;
};

// Pixel p of the flattened (image, row, column) order.
MIEN_HD Pixel pixel_of(int p, const FastDivmod& plane, const FastDivmod& width) {
  Pixel px;
  int hw;
  plane.divmod(p, px.n, hw);
  width.divmod(hw, px.h, px.w);
  return px;
}

// Row `i` of im2col (channel-major, then kernel row, then kernel column, as the weights are laid out). KS > 0
// fixes the kernel extent at compile time (the divisions become multiplies); KS = 0 reads it from ks.
template <int KS>
MIEN_HD Tap tap_of(int i, int ks) {
  const int extent = KS > 0 ? KS : ks;
  Tap t;
  t.c = i / (extent * extent);
  const int rs = i - t.c * extent * extent;
  t.r = rs / extent;
  t.s = rs - t.r * extent;
  return t;
}

// Offset in x [N, C, H, W] of the value that tap t of output pixel px reads, or -1 where it falls in the
// zero padding.
MIEN_HD int input_offset(const ConvShape& s, const Pixel& px, const Tap& t) {
  const int hi = px.h + t.r - s.pad(), wi = px.w + t.s - s.pad();
  if (hi < 0 || hi >= s.h || wi < 0 || wi >= s.w) return -1;
  return ((px.n * s.c + t.c) * s.h + hi) * s.w + wi;
}

// Offset in y [N, K, H, W] of output channel m at pixel px.
MIEN_HD int output_offset(const ConvShape& s, const Pixel& px, int m) {
  return ((px.n * s.k + m) * s.h + px.h) * s.w + px.w;
}

// Element i of the flipped weights Wᶠ [C, K, ks, ks] is w[k, c, ks-1-r, ks-1-s] of W [K, C, ks, ks]; returns
// that source offset.
MIEN_HD int flipped_weight_source(int i, int k_out, int c_in, int ks) {
  const int taps = ks * ks;
  const int c = i / (k_out * taps);
  const int rest = i - c * k_out * taps;
  const int k = rest / taps;
  const int rs = rest - k * taps;
  const int r = rs / ks, col = rs - r * ks;
  return ((k * c_in + c) * ks + (ks - 1 - r)) * ks + (ks - 1 - col);
}

// A position in the flattened pixel order that moves forward without dividing: backward filter reduces over
// pixels, and each thread steps through them a tile at a time.
struct PixelCursor {
  int p;  // flat index
  Pixel px;

  MIEN_HD void advance(int step, int height, int width) {
    p += step;
    px.w += step;
    while (px.w >= width) {
      px.w -= width;
      if (++px.h == height) {
        px.h = 0;
        ++px.n;
      }
    }
  }
};

// ---- Tile shapes and work split (host side; the kernels are instantiated for each shape) ----------------------

// Block tiles of the forward / backward-data GEMM (M = output channels, N = pixels).
enum class GemmTile { m128n128, m64n128, m32n128, m8n256 };

MIEN_HD int tile_m(GemmTile t) {
  return t == GemmTile::m128n128 ? 128 : t == GemmTile::m64n128 ? 64 : t == GemmTile::m32n128 ? 32 : 8;
}
MIEN_HD int tile_n(GemmTile t) { return t == GemmTile::m8n256 ? 256 : 128; }

// The tile for an M x N output on `sm_count` multiprocessors: the tallest that M fills at least half of (a taller
// one would compute mostly padding), then shorter ones while the grid would leave multiprocessors idle.
inline GemmTile choose_gemm_tile(int m, int n, int sm_count) {
  GemmTile tile = m > 64 ? GemmTile::m128n128 : m > 32 ? GemmTile::m64n128 : m > 8 ? GemmTile::m32n128 : GemmTile::m8n256;
  auto blocks = [&](GemmTile t) {
    return static_cast<std::int64_t>(ceil_div(m, tile_m(t))) * ceil_div(n, tile_n(t));
  };
  while (tile != GemmTile::m32n128 && tile != GemmTile::m8n256 && blocks(tile) < sm_count)
    tile = tile == GemmTile::m128n128 ? GemmTile::m64n128 : GemmTile::m32n128;
  return tile;
}

// Block tiles of the backward-filter GEMM (M = output channels, N = C·k·k), whose reduction runs over pixels.
// Its grid is small (K x C·k·k outputs), so parallelism comes from splitting the pixels, not from tall tiles.
enum class FilterTile { m64n128, m32n32 };

MIEN_HD int tile_m(FilterTile t) { return t == FilterTile::m64n128 ? 64 : 32; }
MIEN_HD int tile_n(FilterTile t) { return t == FilterTile::m64n128 ? 128 : 32; }

// The narrow tile when either side is at most 32 (the first layer's 1-channel input gives C·k·k = 9 or 25).
inline FilterTile choose_filter_tile(int m, int n) {
  return m <= 32 || n <= 32 ? FilterTile::m32n32 : FilterTile::m64n128;
}

// How many parts the pixel reduction of backward filter is split into: enough blocks for about `waves` blocks
// per multiprocessor, but no part shorter than min_chunk pixels (each part's partial result costs a write and
// a read of M x N values).
inline int filter_split_parts(int pixels, int output_tiles, int sm_count, int waves = 4, int min_chunk = 1024) {
  const int wanted = ceil_div(waves * sm_count, output_tiles > 0 ? output_tiles : 1);
  int most = ceil_div(pixels, min_chunk);
  if (most > 65535) most = 65535;  // the parts are the grid's z extent
  const int parts = wanted < most ? wanted : most;
  return parts > 1 ? parts : 1;
}

}  // namespace mien::cuda::conv
