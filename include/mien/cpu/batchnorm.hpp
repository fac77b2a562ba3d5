#pragma once
// CPU backend of ops/batchnorm.hpp. A channel's values sit in N segments of plane = H * W contiguous elements
// (plane = 1 for [N, F] features), one segment per sample; the loops run over channels in parallel and over
// segments inside, mapping each segment as an Eigen array so reductions vectorize.
//
// The variance takes a second pass over (x - mean)², because the one-pass E[x²] - E[x]² cancels
// catastrophically in float when |mean| is large against the spread.
#include <cmath>
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace detail {

// Where the values of one channel live: segment n of channel c starts at (n * channels + c) * plane.
struct ChannelSegments {
  std::int64_t batch, channels, plane;

  explicit ChannelSegments(const Shape& s) : batch(s.n()), channels(s.c()), plane(s.h() * s.w()) {}
  std::int64_t offset(std::int64_t n, std::int64_t c) const { return (n * channels + c) * plane; }
  std::int64_t count() const { return batch * plane; }
};

}  // namespace detail

template <class T>
void batchnorm_forward_train(Context&, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             Tensor<T>& running_mean, Tensor<T>& running_var, T momentum, T eps, Tensor<T>& y,
                             Tensor<T>& saved_mean, Tensor<T>& saved_invstd, bool relu) {
  const detail::ChannelSegments seg(x.shape());
  const double count = static_cast<double>(seg.count());
  parallel_chunks(seg.channels, seg.count(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      // Sums run in T within a segment (vectorized) and in double across segments. Both passes sum values
      // shifted near zero, the first by the channel's first value, the second by the mean rounded to T, since
      // a float sum of values far from zero loses the digits that the spread lives in.
      const T pivot = x[static_cast<std::size_t>(seg.offset(0, c))];
      double shifted_sum = 0;
      for (std::int64_t n = 0; n < seg.batch; ++n)
        shifted_sum += static_cast<double>((as_array(x.data() + seg.offset(n, c), seg.plane) - pivot).sum());
      const double mean = static_cast<double>(pivot) + shifted_sum / count;
      const T centre = static_cast<T>(mean);
      double squares = 0;
      for (std::int64_t n = 0; n < seg.batch; ++n)
        squares += static_cast<double>((as_array(x.data() + seg.offset(n, c), seg.plane) - centre).square().sum());
      // Σ(x - mean)² = Σ(x - centre)² - M (mean - centre)²; biased, as Keras uses for both normalizing and the
      // running average.
      const double residual = mean - static_cast<double>(centre);
      const double var = squares / count - residual * residual;
      const double invstd = 1.0 / std::sqrt(var + static_cast<double>(eps));

      // Centre first: folding the mean into the shift (x * scale + shift) would cancel in float when |mean| is
      // large against the spread. The mean rounded to T is off by up to half an ulp of |mean|, which is not small
      // then either, so that residual moves into the shift, computed in double.
      const double scale = static_cast<double>(gamma[c]) * invstd;
      const T shift = static_cast<T>(static_cast<double>(beta[c]) - residual * scale);
      for (std::int64_t n = 0; n < seg.batch; ++n) {
        auto out = as_array(y.data() + seg.offset(n, c), seg.plane);
        out = (as_array(x.data() + seg.offset(n, c), seg.plane) - centre) * static_cast<T>(scale) + shift;
        if (relu) out = out.max(T(0));  // while the segment is still in cache
      }

      saved_mean[c] = static_cast<T>(mean);
      saved_invstd[c] = static_cast<T>(invstd);
      running_mean[c] = momentum * running_mean[c] + (T(1) - momentum) * static_cast<T>(mean);
      running_var[c] = momentum * running_var[c] + (T(1) - momentum) * static_cast<T>(var);
    }
  });
}

template <class T>
void batchnorm_forward_infer(Context&, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             const Tensor<T>& running_mean, const Tensor<T>& running_var, T eps, Tensor<T>& y,
                             bool relu) {
  const detail::ChannelSegments seg(x.shape());
  parallel_chunks(seg.channels, seg.count(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      const T scale = gamma[c] / std::sqrt(running_var[c] + eps);
      for (std::int64_t n = 0; n < seg.batch; ++n) {
        auto out = as_array(y.data() + seg.offset(n, c), seg.plane);
        out = (as_array(x.data() + seg.offset(n, c), seg.plane) - running_mean[c]) * scale + beta[c];
        if (relu) out = out.max(T(0));
      }
    }
  });
}

// Backward of the inference forward (running statistics are constants): dx = dy * gamma / sqrt(running_var + eps),
// 0 where a fused ReLU's output is not positive. For gradients through a frozen network (Grad-CAM).
template <class T>
void batchnorm_backward_infer(Context&, const Tensor<T>& dy, const Tensor<T>& gamma, const Tensor<T>& running_var, T eps,
                              Tensor<T>& dx, const Tensor<T>* relu_output) {
  const detail::ChannelSegments seg(dy.shape());
  parallel_chunks(seg.channels, seg.count(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      const T scale = gamma[c] / std::sqrt(running_var[c] + eps);
      for (std::int64_t n = 0; n < seg.batch; ++n) {
        auto out = as_array(dx.data() + seg.offset(n, c), seg.plane);
        const auto in = as_array(dy.data() + seg.offset(n, c), seg.plane);
        if (relu_output != nullptr)
          out = (as_array(relu_output->data() + seg.offset(n, c), seg.plane) > T(0)).select(in * scale, T(0));
        else
          out = in * scale;
      }
    }
  });
}

// With xhat = (x - mean) * invstd and M values per channel:
//   dbeta = sum dy,  dgamma = sum dy * xhat,  dx = gamma * invstd * (dy - dbeta / M - xhat * dgamma / M).
// With a fused ReLU (relu_output, the forward's y), dy counts only where y > 0.
template <class T>
void batchnorm_backward(Context&, const Tensor<T>& x, const Tensor<T>& dy, const Tensor<T>& gamma,
                        const Tensor<T>& saved_mean, const Tensor<T>& saved_invstd, Tensor<T>& dx, Tensor<T>& dgamma,
                        Tensor<T>& dbeta, const Tensor<T>* relu_output) {
  const detail::ChannelSegments seg(x.shape());
  const double count = static_cast<double>(seg.count());
  parallel_chunks(seg.channels, seg.count(), [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t c = first; c < last; ++c) {
      const T mean = saved_mean[c], invstd = saved_invstd[c];
      // The gradient reaching the normalization: dy, or dy masked by the fused ReLU, written into dx first (dx is
      // overwritten element by element below, each element read before it is written).
      const T* grad = dy.data();
      if (relu_output != nullptr) {
        for (std::int64_t n = 0; n < seg.batch; ++n)
          as_array(dx.data() + seg.offset(n, c), seg.plane) =
              (as_array(relu_output->data() + seg.offset(n, c), seg.plane) > T(0))
                  .select(as_array(dy.data() + seg.offset(n, c), seg.plane), T(0));
        grad = dx.data();
      }
      double sum_dy = 0, sum_dy_xhat = 0;
      for (std::int64_t n = 0; n < seg.batch; ++n) {
        const auto g = as_array(grad + seg.offset(n, c), seg.plane);
        const auto v = as_array(x.data() + seg.offset(n, c), seg.plane);
        sum_dy += static_cast<double>(g.sum());
        sum_dy_xhat += static_cast<double>((g * (v - mean)).sum());
      }
      sum_dy_xhat *= static_cast<double>(invstd);
      dbeta[c] = static_cast<T>(sum_dy);
      dgamma[c] = static_cast<T>(sum_dy_xhat);

      // dx = scale_dy * dy + scale_centred * (x - mean) + offset, the per-channel constants worked out once.
      const double a = static_cast<double>(gamma[c]) * static_cast<double>(invstd);
      const T scale_dy = static_cast<T>(a);
      const T scale_centred = static_cast<T>(-a * sum_dy_xhat / count * static_cast<double>(invstd));
      const T offset = static_cast<T>(-a * sum_dy / count);
      for (std::int64_t n = 0; n < seg.batch; ++n)
        as_array(dx.data() + seg.offset(n, c), seg.plane) =
            as_array(grad + seg.offset(n, c), seg.plane) * scale_dy +
            (as_array(x.data() + seg.offset(n, c), seg.plane) - mean) * scale_centred + offset;
    }
  });
}

}  // namespace mien::cpu
