#pragma once
// Per-channel gating, the arithmetic of dynamic attention and of the attention-gated skip connections.
//   channel_scale:  y[n, c, h, w] = x[n, c, h, w] * s[n, c]
//   gated_add:      y[n, c, h, w] = main[n, c, h, w] + gate[n, c] * skip[n, c, h, w]
#include "mien/cpu/gating.hpp"
#include "mien/ops/dispatch.hpp"
#if MIEN_CUDA_KERNELS
#include "mien/kernels/gating.cuh"
#endif

namespace mien::ops {

template <class T>
void check_gate(const char* op, const Shape& map, const Tensor<T>& gate) {
  check_arg(map.rank() == 4, op, "feature map must be NCHW, got ", map);
  check_arg(gate.shape() == Shape({map.n(), map.c()}), op, "gate has shape ", gate.shape(), ", expected [",
            map.n(), ", ", map.c(), "] for the map ", map,
            " (attention scores of this forward pass, from a map with the same channels)");
}

template <class T>
void channel_scale_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& s, Tensor<T>& y) {
  check_gate("channel_scale_forward", x.shape(), s);
  check_same_device("channel_scale_forward", x, s);
  y.resize(x.shape(), x.device());
  return MIEN_DISPATCH(x.device(), channel_scale_forward, T, ctx, x, s, y);
}

// dx = dy * s; ds[n, c] = sum over (h, w) of dy * x.
template <class T>
void channel_scale_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& s, const Tensor<T>& dy, Tensor<T>& dx,
                            Tensor<T>& ds) {
  check_gate("channel_scale_backward", x.shape(), s);
  check_arg(dy.shape() == x.shape(), "channel_scale_backward", "gradient ", dy.shape(), " vs input ", x.shape());
  check_same_device("channel_scale_backward", x, s, dy);
  dx.resize(x.shape(), x.device());
  ds.resize(s.shape(), x.device());
  return MIEN_DISPATCH(x.device(), channel_scale_backward, T, ctx, x, s, dy, dx, ds);
}

template <class T>
void gated_add_forward(Context& ctx, const Tensor<T>& main, const Tensor<T>& skip, const Tensor<T>& gate,
                       Tensor<T>& y) {
  check_gate("gated_add_forward", skip.shape(), gate);
  check_arg(main.shape() == skip.shape(), "gated_add_forward", "main path ", main.shape(), " vs skip ", skip.shape());
  check_same_device("gated_add_forward", main, skip, gate);
  y.resize(main.shape(), main.device());
  return MIEN_DISPATCH(main.device(), gated_add_forward, T, ctx, main, skip, gate, y);
}

// The main path's gradient is dy itself; this computes dskip = gate * dy and dgate = sum over (h, w) of dy * skip.
template <class T>
void gated_add_backward(Context& ctx, const Tensor<T>& skip, const Tensor<T>& gate, const Tensor<T>& dy,
                        Tensor<T>& dskip, Tensor<T>& dgate) {
  check_gate("gated_add_backward", skip.shape(), gate);
  check_arg(dy.shape() == skip.shape(), "gated_add_backward", "gradient ", dy.shape(), " vs skip ", skip.shape());
  check_same_device("gated_add_backward", skip, gate, dy);
  dskip.resize(skip.shape(), skip.device());
  dgate.resize(gate.shape(), skip.device());
  return MIEN_DISPATCH(skip.device(), gated_add_backward, T, ctx, skip, gate, dy, dskip, dgate);
}

}  // namespace mien::ops
