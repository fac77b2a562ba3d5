#pragma once
// Concatenation of two NCHW maps along channels, and its backward split.
#include "mien/cpu/concat.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/concat.cuh"
#endif

namespace mien::ops {

// a [N, Ca, H, W], b [N, Cb, H, W] -> y [N, Ca + Cb, H, W]
template <class T>
void concat_channels_forward(Context& ctx, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  const Shape &sa = a.shape(), &sb = b.shape();
  check_arg(sa.rank() == 4 && sb.rank() == 4 && sa.n() == sb.n() && sa.h() == sb.h() && sa.w() == sb.w(),
            "concat_channels_forward", "cannot concatenate ", sa, " and ", sb);
  check_same_device("concat_channels_forward", a, b);
  y.resize(Shape{sa.n(), sa.c() + sb.c(), sa.h(), sa.w()}, a.device());
  return MIEN_DISPATCH(a.device(), concat_channels_forward, T, ctx, a, b, y);
}

// dy [N, Ca + Cb, H, W] -> da [N, Ca, H, W], db [N, Cb, H, W]
template <class T>
void concat_channels_backward(Context& ctx, const Tensor<T>& dy, std::int64_t channels_a, Tensor<T>& da,
                              Tensor<T>& db) {
  const Shape& s = dy.shape();
  check_arg(s.rank() == 4 && channels_a > 0 && channels_a < s.c(), "concat_channels_backward", "cannot split ", s,
            " after channel ", channels_a);
  da.resize(Shape{s.n(), channels_a, s.h(), s.w()}, dy.device());
  db.resize(Shape{s.n(), s.c() - channels_a, s.h(), s.w()}, dy.device());
  return MIEN_DISPATCH(dy.device(), concat_channels_backward, T, ctx, dy, channels_a, da, db);
}

}  // namespace mien::ops
