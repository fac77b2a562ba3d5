// The CUDA kernels' index arithmetic, run on the CPU: fast division, range splits, the implicit-GEMM mappings,
// and whole thread blocks of the convolution kernels (every thread's loader and output writer, with the multiply
// done by plain loops) checked against direct convolutions. No GPU needed; what this cannot reach is the
// multiply engines' own loops (FFMA fragments, WMMA), which the GPU parity tests cover.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <random>
#include <vector>

#include "mien/core/philox.hpp"
#include "mien/cpu/conv2d.hpp"
#include "mien/kernels/conv_indexing.hpp"
#include "mien/kernels/conv_tiles.hpp"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/philox_block.hpp"

using namespace mien;
using namespace mien::cuda;
using namespace mien::cuda::conv;

namespace {

std::vector<double> random_values(std::size_t n, std::uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<double> dist(-1.0, 1.0);
  std::vector<double> v(n);
  for (double& e : v) e = dist(gen);
  return v;
}

constexpr double unwritten = std::numeric_limits<double>::quiet_NaN();

// ---- Direct convolutions (the definitions) -------------------------------------------------------------------

std::vector<double> direct_forward(const ConvShape& s, const std::vector<double>& x, const std::vector<double>& w,
                                   const std::vector<double>& b) {
  std::vector<double> y(static_cast<std::size_t>(s.n) * s.k * s.plane());
  const int p = s.pad();
  for (int n = 0; n < s.n; ++n)
    for (int k = 0; k < s.k; ++k)
      for (int h = 0; h < s.h; ++h)
        for (int wc = 0; wc < s.w; ++wc) {
          double acc = b.empty() ? 0.0 : b[k];
          for (int c = 0; c < s.c; ++c)
            for (int r = 0; r < s.ks; ++r)
              for (int q = 0; q < s.ks; ++q) {
                const int hi = h + r - p, wi = wc + q - p;
                if (hi < 0 || hi >= s.h || wi < 0 || wi >= s.w) continue;
                acc += w[((k * s.c + c) * s.ks + r) * s.ks + q] * x[((n * s.c + c) * s.h + hi) * s.w + wi];
              }
          y[((n * s.k + k) * s.h + h) * s.w + wc] = acc;
        }
  return y;
}

// dx[n, c, i, j] = Σ_{k, r, q} w[k, c, r, q] dy[n, k, i - r + p, j - q + p]
std::vector<double> direct_backward_data(const ConvShape& s, const std::vector<double>& dy,
                                         const std::vector<double>& w) {
  std::vector<double> dx(static_cast<std::size_t>(s.n) * s.c * s.plane(), 0.0);
  const int p = s.pad();
  for (int n = 0; n < s.n; ++n)
    for (int k = 0; k < s.k; ++k)
      for (int h = 0; h < s.h; ++h)
        for (int wc = 0; wc < s.w; ++wc)
          for (int c = 0; c < s.c; ++c)
            for (int r = 0; r < s.ks; ++r)
              for (int q = 0; q < s.ks; ++q) {
                const int hi = h + r - p, wi = wc + q - p;
                if (hi < 0 || hi >= s.h || wi < 0 || wi >= s.w) continue;
                dx[((n * s.c + c) * s.h + hi) * s.w + wi] +=
                    w[((k * s.c + c) * s.ks + r) * s.ks + q] * dy[((n * s.k + k) * s.h + h) * s.w + wc];
              }
  return dx;
}

std::vector<double> direct_backward_filter(const ConvShape& s, const std::vector<double>& x,
                                           const std::vector<double>& dy) {
  std::vector<double> dw(static_cast<std::size_t>(s.k) * s.patch(), 0.0);
  const int p = s.pad();
  for (int n = 0; n < s.n; ++n)
    for (int k = 0; k < s.k; ++k)
      for (int h = 0; h < s.h; ++h)
        for (int wc = 0; wc < s.w; ++wc)
          for (int c = 0; c < s.c; ++c)
            for (int r = 0; r < s.ks; ++r)
              for (int q = 0; q < s.ks; ++q) {
                const int hi = h + r - p, wi = wc + q - p;
                if (hi < 0 || hi >= s.h || wi < 0 || wi >= s.w) continue;
                dw[((k * s.c + c) * s.ks + r) * s.ks + q] +=
                    dy[((n * s.k + k) * s.h + h) * s.w + wc] * x[((n * s.c + c) * s.h + hi) * s.w + wi];
              }
  return dw;
}

void require_close(const std::vector<double>& got, const std::vector<double>& want) {
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("element " << i);
    REQUIRE(!std::isnan(got[i]));  // every output written
    REQUIRE(got[i] == Approx(want[i]).margin(1e-12));
  }
}

// ---- Thread-block emulation ------------------------------------------------------------------------------------

enum class Engine { fma, tf32 };

// Emulates the epilogue of one block: hands each thread's runs of the block accumulator `acc` [BM][BN] to
// store(m, n, run), following the thread-to-output mapping of the chosen engine.
template <class Tile, Engine E, class Store>
void emulate_epilogue(const std::vector<double>& acc, int m0, int n0, const Store& store) {
  constexpr int BM = Tile::BM, BN = Tile::BN;
  auto at = [&](int m_local, int n_local) { return acc[static_cast<std::size_t>(m_local) * BN + n_local]; };
  for (int tid = 0; tid < Tile::threads; ++tid) {
    if constexpr (E == Engine::fma) {
      constexpr int TM = Tile::TM, TN = Tile::TN, HN = TN / 2;
      const int tx = tid % (BN / TN), ty = tid / (BN / TN);
      for (int i = 0; i < TM; ++i) {
        const int m_local = half_split_index<BM, TM>(i, ty);
        double left[HN], right[HN];
        for (int j = 0; j < HN; ++j) {
          left[j] = at(m_local, half_split_index<BN, TN>(j, tx));
          right[j] = at(m_local, half_split_index<BN, TN>(HN + j, tx));
        }
        store(m0 + m_local, n0 + tx * HN, left);
        store(m0 + m_local, n0 + BN / 2 + tx * HN, right);
      }
    } else {
      const int warp = tid / 32, lane = tid % 32;
      const int wm = warp / Tile::warps_n, wn = warp % Tile::warps_n;
      for (int i = 0; i < Tile::FM; ++i)
        for (int j = 0; j < Tile::FN; ++j)
          for (int q = 0; q < 2; ++q) {
            const int e = lane + 32 * q, row = e / 4, col = (e % 4) * 4;
            const int m_local = wm * 32 + i * 16 + row, n_local = wn * Tile::WN + j * 16 + col;
            const double run[4] = {at(m_local, n_local), at(m_local, n_local + 1), at(m_local, n_local + 2),
                                   at(m_local, n_local + 3)};
            store(m0 + m_local, n0 + n_local, run);
          }
    }
  }
}

// Multiplies the staged tiles into the block accumulator, after checking that the loaders filled every entry.
template <class Tile>
void multiply_staged(const SharedTiles<double, Tile>& sh, std::vector<double>& acc) {
  for (int kk = 0; kk < Tile::BK; ++kk) {
    for (int m = 0; m < Tile::BM; ++m) REQUIRE(!std::isnan(sh.a[0][kk][m]));
    for (int n = 0; n < Tile::BN; ++n) REQUIRE(!std::isnan(sh.b[0][kk][n]));
  }
  for (int m = 0; m < Tile::BM; ++m)
    for (int n = 0; n < Tile::BN; ++n) {
      double sum = 0;
      for (int kk = 0; kk < Tile::BK; ++kk) sum += sh.a[0][kk][m] * sh.b[0][kk][n];
      acc[static_cast<std::size_t>(m) * Tile::BN + n] += sum;
    }
}

template <class Tile>
void poison(SharedTiles<double, Tile>& sh) {
  for (auto& buffer : sh.a)
    for (auto& row : buffer)
      for (double& v : row) v = unwritten;
  for (auto& buffer : sh.b)
    for (auto& row : buffer)
      for (double& v : row) v = unwritten;
}

// out [N, s.k, H, W] = A · im2col(x) (+ bias), as im2col_gemm_kernel computes it, block by block.
template <class Tile, int KS, Engine E>
std::vector<double> emulate_im2col_gemm(const ConvShape& s, const std::vector<double>& a, const std::vector<double>& x,
                                        const std::vector<double>& bias) {
  std::vector<double> y(static_cast<std::size_t>(s.n) * s.k * s.plane(), unwritten);
  const FastDivmod plane(s.plane()), width(s.w);
  const NchwOutput<double> out{y.data(), bias.empty() ? nullptr : bias.data(), s, plane, width, s.plane() % 4 == 0};
  const int k_tiles = ceil_div(s.patch(), Tile::BK);
  auto sh = std::make_unique<SharedTiles<double, Tile>>();
  for (int m0 = 0; m0 < s.k; m0 += Tile::BM)
    for (int n0 = 0; n0 < s.pixels(); n0 += Tile::BN) {
      std::vector<Im2colLoader<double, KS, Tile>> loaders;
      for (int tid = 0; tid < Tile::threads; ++tid) loaders.emplace_back(tid, a.data(), x.data(), s, plane, width, m0, n0);
      std::vector<double> acc(static_cast<std::size_t>(Tile::BM) * Tile::BN, 0.0);
      for (int t = 0; t < k_tiles; ++t) {
        poison(*sh);
        for (auto& loader : loaders) {
          loader.load();
          loader.store(sh->a[0], sh->b[0], NoRounding{});
        }
        multiply_staged(*sh, acc);
      }
      emulate_epilogue<Tile, E>(acc, m0, n0, [&](int m, int p, const auto& run) { out.store_run(m, p, run); });
    }
  return y;
}

// dw [K, C·k·k] as filter_gemm_kernel and sum_parts_kernel compute it, with the pixels split in `parts`.
template <class Tile, Engine E>
std::vector<double> emulate_filter_gemm(const ConvShape& s, const std::vector<double>& dy, const std::vector<double>& x,
                                        int parts) {
  const int rows = s.k, cols = s.patch();
  std::vector<double> partial(static_cast<std::size_t>(parts) * rows * cols, unwritten);
  const FastDivmod plane(s.plane()), width(s.w);
  const MatrixOutput<double> out{partial.data(), rows, cols};
  auto sh = std::make_unique<SharedTiles<double, Tile>>();
  for (int part = 0; part < parts; ++part) {
    const IndexRange range = split_range(s.pixels(), parts, part, Tile::BK);
    const int k_tiles = ceil_div(range.end - range.begin, Tile::BK);
    for (int m0 = 0; m0 < rows; m0 += Tile::BM)
      for (int n0 = 0; n0 < cols; n0 += Tile::BN) {
        std::vector<FilterLoader<double, Tile>> loaders;
        for (int tid = 0; tid < Tile::threads; ++tid)
          loaders.emplace_back(tid, dy.data(), x.data(), s, plane, width, m0, n0, range);
        std::vector<double> acc(static_cast<std::size_t>(Tile::BM) * Tile::BN, 0.0);
        // The kernel's pipeline always stages one tile, even for an empty part (whose values are all zero).
        for (int t = 0; t < (k_tiles > 0 ? k_tiles : 1); ++t) {
          poison(*sh);
          for (auto& loader : loaders) {
            loader.load();
            loader.store(sh->a[0], sh->b[0], NoRounding{});
          }
          multiply_staged(*sh, acc);
        }
        emulate_epilogue<Tile, E>(acc, m0, n0,
                                  [&](int m, int n, const auto& run) { out.store_run(part, m, n, run); });
      }
  }
  std::vector<double> dw(static_cast<std::size_t>(rows) * cols, 0.0);
  for (int part = 0; part < parts; ++part)
    for (std::size_t i = 0; i < dw.size(); ++i) dw[i] += partial[part * dw.size() + i];
  return dw;
}

// Flipped weights [C, K, k, k] as flip_weights_kernel writes them.
std::vector<double> flipped(const ConvShape& s, const std::vector<double>& w) {
  std::vector<double> wf(w.size());
  for (int i = 0; i < static_cast<int>(w.size()); ++i) wf[i] = w[flipped_weight_source(i, s.k, s.c, s.ks)];
  return wf;
}

// Runs forward, backward data and backward filter of one shape through one forward tile and one filter tile.
template <class ForwardTile, Engine FE, class FilterTileT, Engine WE, int KS>
void check_all_passes(const ConvShape& s, int parts) {
  const auto x = random_values(static_cast<std::size_t>(s.n) * s.c * s.plane(), 1);
  const auto w = random_values(static_cast<std::size_t>(s.k) * s.patch(), 2);
  const auto b = random_values(s.k, 3);
  const auto dy = random_values(static_cast<std::size_t>(s.n) * s.k * s.plane(), 4);
  {
    INFO("forward");
    require_close(emulate_im2col_gemm<ForwardTile, KS, FE>(s, w, x, b), direct_forward(s, x, w, b));
  }
  {
    INFO("backward data");
    require_close(emulate_im2col_gemm<ForwardTile, KS, FE>(s.transposed(), flipped(s, w), dy, {}),
                  direct_backward_data(s, dy, w));
  }
  {
    INFO("backward filter, " << parts << " parts");
    require_close(emulate_filter_gemm<FilterTileT, WE>(s, dy, x, parts), direct_backward_filter(s, x, dy));
  }
}

}  // namespace

TEST_CASE("FastDivmod divides exactly over the kernels' index range", "[cuda][indexing]") {
  std::mt19937 gen(7);
  std::uniform_int_distribution<std::int32_t> dividend(0, std::numeric_limits<std::int32_t>::max());
  const std::int32_t big[] = {65535, 65536, 65537, 1 << 20, (1 << 30) + 1, std::numeric_limits<std::int32_t>::max()};
  std::vector<std::int32_t> divisors;
  for (std::int32_t d = 1; d <= 600; ++d) divisors.push_back(d);
  for (std::int32_t d : {144, 576, 1024, 2304, 4096, 16384, 36864}) divisors.push_back(d);
  for (std::int32_t d : big) divisors.push_back(d);
  for (std::int32_t d : divisors) {
    const FastDivmod fd(d);
    auto check_one = [&](std::int32_t n) {
      std::int32_t q, r;
      fd.divmod(n, q, r);
      if (q != n / d || r != n % d) FAIL("n = " << n << ", d = " << d << ": got " << q << " r " << r);
    };
    for (std::int32_t n : {0, 1, d - 1, d, std::numeric_limits<std::int32_t>::max(),
                           std::numeric_limits<std::int32_t>::max() - 1})
      if (n >= 0) check_one(n);
    for (std::int64_t m = 1; m * d < std::numeric_limits<std::int32_t>::max() && m < 1000; m = m * 3 + 1) {
      check_one(static_cast<std::int32_t>(m * d));
      check_one(static_cast<std::int32_t>(m * d - 1));
    }
    for (int i = 0; i < 300; ++i) check_one(dividend(gen));
  }
  SUCCEED("all quotients matched");
}

TEST_CASE("split_range covers a range with aligned, disjoint chunks", "[cuda][indexing]") {
  for (int total : {0, 1, 7, 64, 1000, 524288})
    for (int parts : {1, 2, 3, 7, 512})
      for (int align : {1, 8, 16}) {
        int expected_begin = 0;
        for (int part = 0; part < parts; ++part) {
          const IndexRange r = split_range(total, parts, part, align);
          REQUIRE(r.begin == expected_begin);
          REQUIRE(r.end >= r.begin);
          REQUIRE(r.end <= total);
          if (r.end < total) REQUIRE((r.end - r.begin) % align == 0);
          expected_begin = r.end;
        }
        REQUIRE(expected_begin == total);
      }
}

TEST_CASE("Implicit-GEMM maps match the tensors' layouts", "[cuda][indexing]") {
  const ConvShape s{3, 4, 5, 7, 6, 5};
  const FastDivmod plane(s.plane()), width(s.w);
  for (int p = 0; p < s.pixels(); ++p) {
    const Pixel px = pixel_of(p, plane, width);
    REQUIRE(p == (px.n * s.h + px.h) * s.w + px.w);
    REQUIRE(output_offset(s, px, 2) == ((px.n * s.k + 2) * s.h + px.h) * s.w + px.w);
  }
  for (int k = 0; k < s.patch(); ++k) {
    const Tap fixed = tap_of<5>(k, 5), runtime = tap_of<0>(k, 5);
    REQUIRE((fixed.c == runtime.c && fixed.r == runtime.r && fixed.s == runtime.s));
    REQUIRE(k == (fixed.c * 5 + fixed.r) * 5 + fixed.s);
  }
  // Padding: the top-left pixel's first tap reads above and left of the image.
  REQUIRE(input_offset(s, Pixel{0, 0, 0}, Tap{0, 0, 0}) == -1);
  REQUIRE(input_offset(s, Pixel{1, 2, 3}, Tap{1, 2, 2}) == ((1 * s.c + 1) * s.h + 2) * s.w + 3);
  // Flipping twice (with the roles of K and C swapped) gives the weights back.
  const auto w = random_values(static_cast<std::size_t>(s.k) * s.patch(), 9);
  const auto twice = flipped(s.transposed(), flipped(s, w));
  REQUIRE(twice == w);
}

TEST_CASE("PixelCursor steps like a division", "[cuda][indexing]") {
  const int h = 5, w = 7;
  const FastDivmod plane(h * w), width(w);
  for (int start : {0, 3, 34, 35, 100})
    for (int step : {1, 8, 16, 40}) {
      PixelCursor cursor{start, pixel_of(start, plane, width)};
      for (int i = 0; i < 30; ++i) {
        cursor.advance(step, h, w);
        const Pixel want = pixel_of(cursor.p, plane, width);
        REQUIRE((cursor.px.n == want.n && cursor.px.h == want.h && cursor.px.w == want.w));
      }
    }
}

TEST_CASE("Tile choice fits the paper's convolutions to an H100", "[cuda][indexing]") {
  const int sms = 132;
  CHECK(choose_gemm_tile(32, 32 * 128 * 128, sms) == GemmTile::m32n128);   // 1 -> 32 at 128x128
  CHECK(choose_gemm_tile(64, 32 * 64 * 64, sms) == GemmTile::m64n128);     // 32 -> 64 at 64x64
  CHECK(choose_gemm_tile(128, 32 * 32 * 32, sms) == GemmTile::m128n128);   // 128 -> 128 at 32x32
  CHECK(choose_gemm_tile(1, 32 * 128 * 128, sms) == GemmTile::m8n256);     // backward data into the image
  // 128 -> 128 at 12x12 (the 48x48 variant): 36 blocks of 128 rows would leave most of the GPU idle.
  CHECK(choose_gemm_tile(128, 32 * 12 * 12, sms) == GemmTile::m32n128);
  CHECK(choose_filter_tile(32, 9) == FilterTile::m32n32);
  CHECK(choose_filter_tile(128, 1152) == FilterTile::m64n128);
  const int parts = filter_split_parts(32 * 128 * 128, 1, sms);
  CHECK(parts > sms);
  CHECK(parts <= 32 * 128 * 128 / 1024);
  CHECK(filter_split_parts(100, 4, sms) == 1);
}

TEST_CASE("Philox blocks give the stream's uniforms four at a time", "[cuda][indexing][rng]") {
  const RandomStream stream{0x123456789abcdefull, 17, 5};
  for (std::uint64_t block : {0ull, 1ull, 2ull, 1000ull, (1ull << 32) + 3}) {
    float u[4];
    uniform_block(stream, block, u);
    for (int j = 0; j < 4; ++j) REQUIRE(u[j] == stream.uniform(4 * block + j));
  }
}

TEST_CASE("Convolution thread blocks compute every pass (FFMA tiles)", "[cuda][indexing][conv]") {
  // Odd extents (no vector stores, partial tiles everywhere) and a plane divisible by 4 (vector stores).
  for (const ConvShape& s : {ConvShape{2, 3, 7, 5, 5, 3}, ConvShape{2, 5, 4, 6, 9, 3}}) {
    INFO("N " << s.n << " C " << s.c << " " << s.h << "x" << s.w << " K " << s.k << " k " << s.ks);
    check_all_passes<FmaTile<128, 128, 8, 8, 8>, Engine::fma, FmaTile<64, 128, 16, 4, 8>, Engine::fma, 3>(s, 3);
    check_all_passes<FmaTile<64, 128, 8, 4, 8>, Engine::fma, FmaTile<32, 32, 16, 2, 2>, Engine::fma, 3>(s, 2);
    check_all_passes<FmaTile<32, 128, 8, 4, 4>, Engine::fma, FmaTile<64, 128, 8, 4, 8>, Engine::fma, 0>(s, 1);
    check_all_passes<FmaTile<8, 256, 8, 2, 4>, Engine::fma, FmaTile<32, 32, 8, 2, 2>, Engine::fma, 0>(s, 5);
  }
  // k = 5 and k = 1, more channels than one tile row holds.
  check_all_passes<FmaTile<32, 128, 8, 4, 4>, Engine::fma, FmaTile<32, 32, 16, 2, 2>, Engine::fma, 5>(
      ConvShape{2, 3, 6, 6, 40, 5}, 4);
  check_all_passes<FmaTile<64, 128, 8, 4, 8>, Engine::fma, FmaTile<64, 128, 16, 4, 8>, Engine::fma, 0>(
      ConvShape{1, 70, 4, 4, 3, 1}, 2);
}

TEST_CASE("Convolution thread blocks compute every pass (TF32 tiles)", "[cuda][indexing][conv]") {
  for (const ConvShape& s : {ConvShape{2, 3, 7, 5, 5, 3}, ConvShape{2, 5, 4, 6, 40, 5}}) {
    INFO("N " << s.n << " C " << s.c << " " << s.h << "x" << s.w << " K " << s.k << " k " << s.ks);
    check_all_passes<Tf32Tile<128, 128, 8>, Engine::tf32, Tf32Tile<64, 128>, Engine::tf32, 0>(s, 3);
    check_all_passes<Tf32Tile<64, 128>, Engine::tf32, Tf32Tile<64, 128>, Engine::tf32, 0>(s, 1);
    check_all_passes<Tf32Tile<32, 128>, Engine::tf32, Tf32Tile<64, 128>, Engine::tf32, 0>(s, 2);
  }
}

TEST_CASE("The emulated convolution agrees with the CPU backend", "[cuda][indexing][conv]") {
  const ConvShape s{2, 3, 6, 5, 4, 3};
  const auto x = random_values(static_cast<std::size_t>(s.n) * s.c * s.plane(), 11);
  const auto w = random_values(static_cast<std::size_t>(s.k) * s.patch(), 12);
  const auto b = random_values(s.k, 13);
  Context ctx;
  Tensor<double> xt = Tensor<double>::from_vector(Shape{s.n, s.c, s.h, s.w}, x);
  Tensor<double> wt = Tensor<double>::from_vector(Shape{s.k, s.c, s.ks, s.ks}, w);
  Tensor<double> bt = Tensor<double>::from_vector(Shape{s.k}, b);
  Tensor<double> yt(Shape{s.n, s.k, s.h, s.w});
  cpu::conv2d_forward(ctx, xt, wt, bt, yt);
  require_close(emulate_im2col_gemm<FmaTile<64, 128, 8, 4, 8>, 3, Engine::fma>(s, w, x, b), yt.to_vector());
}
