#pragma once
// CUDA backend of ops/conv2d.hpp. ctx.conv_backend() picks the engine:
//   native       mien's implicit-GEMM kernels in fp32 (fp64 for double tensors)
//   native_tf32  the same kernels on TF32 tensor cores (float only; tiles too narrow for 16 x 16 fragments, and
//                double tensors, use the fp32 kernels)
//   cudnn        cuDNN with plain fp32 math (float only; double tensors use the native kernels)
// The kernels are instantiated with the kernel extent fixed at compile time for 3 and 5 (the paper's streams);
// other odd extents use the same kernels with the extent read at run time.
#include <algorithm>
#include <string>
#include <type_traits>

#include "mien/cpu/conv2d.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/conv_implicit_gemm.cuh"
#include "mien/kernels/cudnn_conv.cuh"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace conv_detail {

using conv::ConvShape;
using conv::FmaTile;
using conv::GemmTile;
using conv::FilterTile;
using conv::Tf32Tile;

inline ConvShape conv_shape(const Shape& x, const Shape& w) {
  return ConvShape{static_cast<int>(x.n()), static_cast<int>(x.c()), static_cast<int>(x.h()), static_cast<int>(x.w()),
                   static_cast<int>(w[0]), static_cast<int>(w[2])};
}

template <class T>
constexpr bool is_float = std::is_same_v<T, float>;

template <class T, int KS, class Tile, bool Tf32>
void launch_im2col(Context& ctx, const ConvShape& s, const T* a, const T* x, const conv::NchwOutput<T>& out) {
  const dim3 grid(ceil_div(s.pixels(), Tile::BN), ceil_div(s.k, Tile::BM));
  launch_kernel(conv::im2col_gemm_kernel<T, KS, Tile, Tf32>, grid, Tile::threads, stream_of(ctx), a, x, s, out.plane,
                out.width, out);
}

template <class T, int KS>
void im2col_for_tile(Context& ctx, GemmTile tile, bool tf32, const ConvShape& s, const T* a, const T* x,
                     const conv::NchwOutput<T>& out) {
  if constexpr (is_float<T>) {
    if (tf32) {
      switch (tile) {
        // The tallest tile stages 8 deep rather than 16: its accumulators leave too few registers for more.
        case GemmTile::m128n128: return launch_im2col<T, KS, Tf32Tile<128, 128, 8>, true>(ctx, s, a, x, out);
        case GemmTile::m64n128: return launch_im2col<T, KS, Tf32Tile<64, 128>, true>(ctx, s, a, x, out);
        case GemmTile::m32n128: return launch_im2col<T, KS, Tf32Tile<32, 128>, true>(ctx, s, a, x, out);
        case GemmTile::m8n256: break;  // too short for 16-row fragments: fp32 below
      }
    }
  }
  switch (tile) {
    case GemmTile::m128n128:
      // 8 x 8 doubles per thread would not fit in the registers: doubles take the 64-row tile.
      if constexpr (is_float<T>)
        return launch_im2col<T, KS, FmaTile<128, 128, 8, 8, 8>, false>(ctx, s, a, x, out);
      else
        return launch_im2col<T, KS, FmaTile<64, 128, 8, 4, 8>, false>(ctx, s, a, x, out);
    case GemmTile::m64n128: return launch_im2col<T, KS, FmaTile<64, 128, 8, 4, 8>, false>(ctx, s, a, x, out);
    case GemmTile::m32n128: return launch_im2col<T, KS, FmaTile<32, 128, 8, 4, 4>, false>(ctx, s, a, x, out);
    case GemmTile::m8n256: return launch_im2col<T, 0, FmaTile<8, 256, 8, 2, 4>, false>(ctx, s, a, x, out);
  }
}

// out [N, s.k, H, W] = A [s.k, s.patch()] · im2col(x) (+ bias).
template <class T>
void run_im2col_gemm(Context& ctx, const ConvShape& s, const T* a, const T* x, const T* bias, T* y, bool tf32,
                     const char* op, const std::string& shapes) {
  const GemmTile tile = conv::choose_gemm_tile(s.k, s.pixels(), device_state(ctx).sm_count());
  const conv::NchwOutput<T> out{y, bias, s, FastDivmod(s.plane()), FastDivmod(s.w), s.plane() % 4 == 0};
  if constexpr (is_float<T>) {
    if (s.ks == 3) {
      im2col_for_tile<T, 3>(ctx, tile, tf32, s, a, x, out);
    } else if (s.ks == 5) {
      im2col_for_tile<T, 5>(ctx, tile, tf32, s, a, x, out);
    } else {
      im2col_for_tile<T, 0>(ctx, tile, tf32, s, a, x, out);
    }
  } else {
    im2col_for_tile<T, 0>(ctx, tile, false, s, a, x, out);
  }
  check_kernel(ctx, op, shapes);
}

template <class T, class Tile, bool Tf32>
void launch_filter(Context& ctx, const ConvShape& s, const T* dy, const T* x, T* out, int sm_count) {
  const int rows = s.k, cols = s.patch();
  const int tiles = ceil_div(rows, Tile::BM) * ceil_div(cols, Tile::BN);
  const int parts = conv::filter_split_parts(s.pixels(), tiles, sm_count);
  T* partial = out;
  if (parts > 1) {
    const std::size_t bytes = static_cast<std::size_t>(parts) * rows * cols * sizeof(T);
    partial = static_cast<T*>(device_state(ctx).workspace(bytes, "conv2d_backward_filter"));
  }
  const dim3 grid(ceil_div(cols, Tile::BN), ceil_div(rows, Tile::BM), parts);
  launch_kernel(conv::filter_gemm_kernel<T, Tile, Tf32>, grid, Tile::threads, stream_of(ctx), dy, x, s,
                FastDivmod(s.plane()), FastDivmod(s.w), parts, conv::MatrixOutput<T>{partial, rows, cols});
  if (parts > 1) {
    const int count = rows * cols;
    launch_kernel(conv::sum_parts_kernel<T>, grid_blocks(ctx, count), default_threads, stream_of(ctx), partial, parts,
                  count, out);
  }
}

// dw [K, C·k·k] = dy [K, P] · im2col(x)ᵀ.
template <class T>
void run_filter_gemm(Context& ctx, const ConvShape& s, const T* dy, const T* x, T* dw, bool tf32, const char* op,
                     const std::string& shapes) {
  const int sm_count = device_state(ctx).sm_count();
  const FilterTile tile = conv::choose_filter_tile(s.k, s.patch());
  if (tile == FilterTile::m64n128) {
    if constexpr (is_float<T>) {
      if (tf32) {
        launch_filter<T, Tf32Tile<64, 128>, true>(ctx, s, dy, x, dw, sm_count);
        check_kernel(ctx, op, shapes);
        return;
      }
    }
    // Doubles take half the k-depth, to stay within the 48 KiB of static shared memory.
    launch_filter<T, FmaTile<64, 128, 64 / sizeof(T), 4, 8>, false>(ctx, s, dy, x, dw, sm_count);
  } else {
    launch_filter<T, FmaTile<32, 32, 64 / sizeof(T), 2, 2>, false>(ctx, s, dy, x, dw, sm_count);
  }
  check_kernel(ctx, op, shapes);
}

// db[k] = sum of dy over (n, h, w).
template <class T>
struct BiasGradTerm {
  const T* dy;
  __device__ void operator()(int offset, int, double (&acc)[1]) const { acc[0] += static_cast<double>(dy[offset]); }
};
template <class T>
struct BiasGradFinish {
  T* db;
  __device__ void operator()(int c, const double (&total)[1]) const { db[c] = static_cast<T>(total[0]); }
};

}  // namespace conv_detail

template <class T>
void conv2d_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  const char* op = "conv2d_forward";
  if (y.numel() == 0) return;
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"w", w.shape()}});
  if constexpr (conv_detail::is_float<T>) {
    if (ctx.conv_backend() == ConvBackend::cudnn) return cudnn::conv2d_forward(ctx, x, w, b, y, false);
  }
  require_int32_indexing(op, static_cast<std::int64_t>(std::max(x.numel(), y.numel())), shapes);
  conv_detail::run_im2col_gemm(ctx, conv_detail::conv_shape(x.shape(), w.shape()), w.data(), x.data(), b.data(),
                               y.data(), ctx.conv_backend() == ConvBackend::native_tf32, op, shapes);
}

template <class T>
void conv2d_backward_data(Context& ctx, const Tensor<T>& dy, const Tensor<T>& w, const Shape& /*x_shape: dx's*/,
                          Tensor<T>& dx) {
  const char* op = "conv2d_backward_data";
  if (dx.numel() == 0) return;
  const std::string shapes = describe_shapes({{"dy", dy.shape()}, {"w", w.shape()}});
  if constexpr (conv_detail::is_float<T>) {
    if (ctx.conv_backend() == ConvBackend::cudnn) return cudnn::conv2d_backward_data(ctx, dy, w, dx, false);
  }
  require_int32_indexing(op, static_cast<std::int64_t>(std::max(dx.numel(), dy.numel())), shapes);
  const conv::ConvShape s = conv_detail::conv_shape(dx.shape(), w.shape());
  // The backward-data GEMM is the forward GEMM of dy with the flipped weights, which are tiny: flip them into
  // the workspace first.
  const int count = static_cast<int>(w.numel());
  T* flipped = static_cast<T*>(device_state(ctx).workspace(w.bytes(), op));
  launch_kernel(conv::flip_weights_kernel<T>, grid_blocks(ctx, count), default_threads, stream_of(ctx), w.data(),
                flipped, s.k, s.c, s.ks, count);
  check_kernel(ctx, op, shapes);
  conv_detail::run_im2col_gemm<T>(ctx, s.transposed(), flipped, dy.data(), nullptr, dx.data(),
                                  ctx.conv_backend() == ConvBackend::native_tf32, op, shapes);
}

template <class T>
void conv2d_backward_filter(Context& ctx, const Tensor<T>& x, const Tensor<T>& dy, Tensor<T>& dw, Tensor<T>& db) {
  const char* op = "conv2d_backward_filter";
  if (dw.numel() == 0) return;
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"dy", dy.shape()}});
  if (dy.numel() == 0) {  // no pixels: the gradients are zero
    dw.set_zero();
    db.set_zero();
    return;
  }
  if constexpr (conv_detail::is_float<T>) {
    if (ctx.conv_backend() == ConvBackend::cudnn) return cudnn::conv2d_backward_filter(ctx, x, dy, dw, db, false);
  }
  require_int32_indexing(op, static_cast<std::int64_t>(std::max(x.numel(), dy.numel())), shapes);
  const conv::ConvShape s = conv_detail::conv_shape(x.shape(), dw.shape());
  conv_detail::run_filter_gemm(ctx, s, dy.data(), x.data(), dw.data(), ctx.conv_backend() == ConvBackend::native_tf32,
                               op, shapes);
  // The bias gradient reuses the workspace: stream order finishes the filter pass's use of it first.
  const ChannelLayout layout(dy.shape());
  const int parts = channel_reduce_parts(ctx, layout);
  auto* partials =
      static_cast<double*>(device_state(ctx).workspace(channel_reduce_scratch(1, layout, parts), op));
  reduce_channels<1>(ctx, conv_detail::BiasGradTerm<T>{dy.data()}, conv_detail::BiasGradFinish<T>{db.data()}, layout,
                     parts, partials, op, shapes);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(conv2d, conv2d_forward, conv2d_backward_data, conv2d_backward_filter)
