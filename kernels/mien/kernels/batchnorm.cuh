#pragma once
// CUDA backend of ops/batchnorm.hpp, for NCHW maps (statistics over N, H, W) and [N, F] features (over N).
//
// Training forward: per-channel sums of x and x² (reduce.cuh: two deterministic stages, in double; in double
// the one-pass variance E[x²] - E[x]² keeps ~16 - 2·log10(|mean| / std) digits, far beyond float's), then a
// per-channel finish that writes the saved statistics and the running averages, then one element-wise pass.
// Backward: per-channel sums of dy and dy·(x - mean), a finish that turns them into dgamma, dbeta and three
// per-channel coefficients, and one element-wise pass dx = a·dy + b·(x - mean) + c. The per-channel constants are
// formed in double and rounded once, as on the CPU. A fused ReLU (ops/batchnorm.hpp) clamps in the element-wise
// pass of the forward and masks dy by the forward's output in both passes of the backward: no extra pass, and no
// separate ReLU tensor to write and read back.
#include <cmath>
#include <cstdint>
#include <string>

#include "mien/cpu/batchnorm.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace batchnorm_detail {

template <class T>
struct SumAndSquares {
  const T* x;
  __device__ void operator()(int offset, int, double (&acc)[2]) const {
    const double v = static_cast<double>(x[offset]);
    acc[0] += v;
    acc[1] += v * v;
  }
};

// Per channel: y = (x - centre) * scale + shift.
template <class T>
struct Affine {
  T* centre;
  T* scale;
  T* shift;
};

template <class T>
struct FinishStatistics {
  const T* gamma;
  const T* beta;
  T* running_mean;
  T* running_var;
  T* saved_mean;
  T* saved_invstd;
  Affine<T> affine;
  double count;
  T momentum;
  double eps;

  __device__ void operator()(int c, const double (&total)[2]) const {
    const double mean = total[0] / count;
    const double var = fmax(total[1] / count - mean * mean, 0.0);  // biased, as Keras uses
    const double invstd = 1.0 / sqrt(var + eps);
    saved_mean[c] = static_cast<T>(mean);
    saved_invstd[c] = static_cast<T>(invstd);
    running_mean[c] = momentum * running_mean[c] + (T(1) - momentum) * static_cast<T>(mean);
    running_var[c] = momentum * running_var[c] + (T(1) - momentum) * static_cast<T>(var);
    affine.centre[c] = static_cast<T>(mean);
    affine.scale[c] = static_cast<T>(static_cast<double>(gamma[c]) * invstd);
    affine.shift[c] = beta[c];
  }
};

// y = (x - centre[c]) * scale[c] + shift[c], clamped at 0 with relu; the element's channel is (e / plane) % channels.
template <class T>
struct ApplyAffine {
  const T* x;
  T* y;
  const T* centre;
  const T* scale;
  const T* shift;
  FastDivmod plane, channels;
  bool relu;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    int image_channel, image, c;
    image_channel = plane.div(e);
    channels.divmod(image_channel, image, c);
    const T m = centre[c], s = scale[c], b = shift[c];
    Vec<T, V> v = load_vec<V>(x + e);
#pragma unroll
    for (int j = 0; j < V; ++j) {
      const T out = (v.v[j] - m) * s + b;
      v.v[j] = relu && !(out > T(0)) ? T(0) : out;
    }
    store_vec<V>(y + e, v);
  }
};

// The gradient reaching the normalization: dy, or 0 where a fused ReLU's output y is not positive.
template <class T>
__device__ __forceinline__ T masked_gradient(T g, const T* relu_y, int offset) {
  return relu_y != nullptr && !(relu_y[offset] > T(0)) ? T(0) : g;
}

// dx = dy * gamma / sqrt(var + eps) per element (masked by a fused ReLU): the inference forward's backward.
template <class T>
struct ApplyInferenceGradient {
  const T* dy;
  const T* gamma;
  const T* var;
  T eps;
  const T* relu_y;
  T* dx;
  FastDivmod plane, channels;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    int image_channel, image, c;
    image_channel = plane.div(e);
    channels.divmod(image_channel, image, c);
    const T s = gamma[c] / dev_sqrt(var[c] + eps);
    Vec<T, V> g = load_vec<V>(dy + e);
#pragma unroll
    for (int j = 0; j < V; ++j) g.v[j] = masked_gradient(g.v[j], relu_y, e + j) * s;
    store_vec<V>(dx + e, g);
  }
};

template <class T>
struct GradientSums {
  const T* x;
  const T* dy;
  const T* mean;
  const T* relu_y;  // nullptr without a fused ReLU
  __device__ void operator()(int offset, int c, double (&acc)[2]) const {
    const T g = masked_gradient(dy[offset], relu_y, offset);
    acc[0] += static_cast<double>(g);
    acc[1] += static_cast<double>(g * (x[offset] - mean[c]));
  }
};

// dx = a·dy + b·(x - mean) + c, with a = gamma·invstd, b = -a·dgamma·invstd / M, c = -a·dbeta / M.
template <class T>
struct FinishGradients {
  const T* gamma;
  const T* invstd;
  T* dgamma;
  T* dbeta;
  T* coef;  // [channels][3]
  double count;
  __device__ void operator()(int c, const double (&total)[2]) const {
    const double inv = static_cast<double>(invstd[c]);
    const double sum_dy = total[0], sum_dy_xhat = total[1] * inv;
    dbeta[c] = static_cast<T>(sum_dy);
    dgamma[c] = static_cast<T>(sum_dy_xhat);
    const double a = static_cast<double>(gamma[c]) * inv;
    coef[3 * c + 0] = static_cast<T>(a);
    coef[3 * c + 1] = static_cast<T>(-a * sum_dy_xhat / count * inv);
    coef[3 * c + 2] = static_cast<T>(-a * sum_dy / count);
  }
};

template <class T>
struct ApplyGradients {
  const T* x;
  const T* dy;
  const T* mean;
  const T* coef;
  const T* relu_y;  // nullptr without a fused ReLU
  T* dx;
  FastDivmod plane, channels;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    int image, c;
    channels.divmod(plane.div(e), image, c);
    const T m = mean[c], a = coef[3 * c], b = coef[3 * c + 1], k = coef[3 * c + 2];
    const Vec<T, V> xv = load_vec<V>(x + e);
    Vec<T, V> g = load_vec<V>(dy + e);
#pragma unroll
    for (int j = 0; j < V; ++j) g.v[j] = masked_gradient(g.v[j], relu_y, e + j) * a + (xv.v[j] - m) * b + k;
    store_vec<V>(dx + e, g);
  }
};

// Per channel, from the running statistics: centre = running mean, scale = gamma / sqrt(running var + eps).
template <class T>
__global__ void inference_affine_kernel(const T* gamma, const T* beta, const T* mean, const T* var, T eps,
                                        Affine<T> affine, int channels) {
  const int c = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (c >= channels) return;
  affine.centre[c] = mean[c];
  affine.scale[c] = gamma[c] / dev_sqrt(var[c] + eps);
  affine.shift[c] = beta[c];
}
// Scratch: the reduction partials, then per-channel values (256-byte aligned).
struct Scratch {
  double* partials;
  void* per_channel;
};

inline Scratch scratch(Context& ctx, const ChannelLayout& layout, int parts, std::size_t per_channel_bytes,
                       const char* op) {
  const std::size_t partial_bytes = (channel_reduce_scratch(2, layout, parts) + 255) / 256 * 256;
  char* base = static_cast<char*>(device_state(ctx).workspace(partial_bytes + per_channel_bytes, op));
  return Scratch{reinterpret_cast<double*>(base), base + partial_bytes};
}

template <class T>
bool planes_vectorize(const Shape& s) {
  return (s.h() * s.w()) % vector_width<T> == 0;
}

// What the training forward and the backward share: the op's name and shapes for error messages, the channel
// layout, the reduction's split, and scratch for the partials and three values per channel.
template <class T>
struct ChannelPass {
  const char* op;
  std::string shapes;
  ChannelLayout layout;
  int parts;
  Scratch scratch;

  ChannelPass(Context& ctx, const Tensor<T>& x, const char* name)
      : op(name), shapes(describe_shapes({{"x", x.shape()}})), layout(x.shape()) {
    require_int32_indexing(op, static_cast<std::int64_t>(x.numel()), shapes);
    parts = channel_reduce_parts(ctx, layout);
    scratch = batchnorm_detail::scratch(ctx, layout, parts, 3 * layout.channels * sizeof(T), op);
  }
  T* per_channel() const { return static_cast<T*>(scratch.per_channel); }
  FastDivmod plane_div() const { return FastDivmod(layout.plane); }
  FastDivmod channel_div() const { return FastDivmod(layout.channels); }
};

}  // namespace batchnorm_detail

template <class T>
void batchnorm_forward_train(Context& ctx, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             Tensor<T>& running_mean, Tensor<T>& running_var, T momentum, T eps, Tensor<T>& y,
                             Tensor<T>& saved_mean, Tensor<T>& saved_invstd, bool relu) {
  using namespace batchnorm_detail;
  const ChannelPass<T> pass(ctx, x, "batchnorm_forward_train");
  const int channels = pass.layout.channels;
  T* per_channel = pass.per_channel();
  const Affine<T> affine{per_channel, per_channel + channels, per_channel + 2 * channels};
  const FinishStatistics<T> finish{gamma.data(),       beta.data(),         running_mean.data(),
                                   running_var.data(), saved_mean.data(),   saved_invstd.data(),
                                   affine,             static_cast<double>(pass.layout.count()), momentum,
                                   static_cast<double>(eps)};
  reduce_channels<2>(ctx, SumAndSquares<T>{x.data()}, finish, pass.layout, pass.parts, pass.scratch.partials, pass.op,
                     pass.shapes);
  const ApplyAffine<T> normalize{x.data(),         y.data(),          affine.centre, affine.scale, affine.shift,
                                 pass.plane_div(), pass.channel_div(), relu};
  launch_map<T>(ctx, normalize, static_cast<std::int64_t>(x.numel()),
                planes_vectorize<T>(x.shape()) && vector_aligned(x.data(), y.data()), pass.op, pass.shapes);
}

template <class T>
void batchnorm_forward_infer(Context& ctx, const Tensor<T>& x, const Tensor<T>& gamma, const Tensor<T>& beta,
                             const Tensor<T>& running_mean, const Tensor<T>& running_var, T eps, Tensor<T>& y,
                             bool relu) {
  using namespace batchnorm_detail;
  const char* op = "batchnorm_forward_infer";
  const std::string shapes = describe_shapes({{"x", x.shape()}});
  require_int32_indexing(op, static_cast<std::int64_t>(x.numel()), shapes);
  const int channels = static_cast<int>(x.shape().c());
  if (x.numel() == 0 || channels == 0) return;
  T* per_channel = static_cast<T*>(device_state(ctx).workspace(3 * channels * sizeof(T), op));
  const Affine<T> affine{per_channel, per_channel + channels, per_channel + 2 * channels};
  launch_kernel(inference_affine_kernel<T>, ceil_div(channels, 128), 128, stream_of(ctx), gamma.data(), beta.data(),
                running_mean.data(), running_var.data(), eps, affine, channels);
  check_kernel(ctx, op, shapes);
  const int plane = static_cast<int>(x.shape().h() * x.shape().w());
  const ApplyAffine<T> normalize{x.data(),        y.data(),           affine.centre, affine.scale, affine.shift,
                                 FastDivmod(plane), FastDivmod(channels), relu};
  launch_map<T>(ctx, normalize, static_cast<std::int64_t>(x.numel()),
                planes_vectorize<T>(x.shape()) && vector_aligned(x.data(), y.data()), op, shapes);
}

template <class T>
void batchnorm_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& dy, const Tensor<T>& gamma,
                        const Tensor<T>& saved_mean, const Tensor<T>& saved_invstd, Tensor<T>& dx, Tensor<T>& dgamma,
                        Tensor<T>& dbeta, const Tensor<T>* relu_output) {
  using namespace batchnorm_detail;
  const ChannelPass<T> pass(ctx, x, "batchnorm_backward");
  T* coef = pass.per_channel();
  const T* relu_y = relu_output != nullptr ? relu_output->data() : nullptr;
  reduce_channels<2>(ctx, GradientSums<T>{x.data(), dy.data(), saved_mean.data(), relu_y},
                     FinishGradients<T>{gamma.data(), saved_invstd.data(), dgamma.data(), dbeta.data(), coef,
                                        static_cast<double>(pass.layout.count())},
                     pass.layout, pass.parts, pass.scratch.partials, pass.op, pass.shapes);
  const ApplyGradients<T> apply{x.data(), dy.data(), saved_mean.data(), coef,
                                relu_y,   dx.data(), pass.plane_div(),  pass.channel_div()};
  launch_map<T>(ctx, apply, static_cast<std::int64_t>(x.numel()),
                planes_vectorize<T>(x.shape()) && vector_aligned(x.data(), dy.data(), dx.data()), pass.op,
                pass.shapes);
}

template <class T>
void batchnorm_backward_infer(Context& ctx, const Tensor<T>& dy, const Tensor<T>& gamma, const Tensor<T>& running_var,
                              T eps, Tensor<T>& dx, const Tensor<T>* relu_output) {
  using namespace batchnorm_detail;
  const char* op = "batchnorm_backward_infer";
  const std::string shapes = describe_shapes({{"dy", dy.shape()}});
  require_int32_indexing(op, static_cast<std::int64_t>(dy.numel()), shapes);
  if (dy.numel() == 0) return;
  const int plane = static_cast<int>(dy.shape().h() * dy.shape().w());
  const T* relu_y = relu_output != nullptr ? relu_output->data() : nullptr;
  const ApplyInferenceGradient<T> apply{dy.data(), gamma.data(),      running_var.data(),
                                        eps,       relu_y,            dx.data(),
                                        FastDivmod(plane), FastDivmod(static_cast<int>(dy.shape().c()))};
  launch_map<T>(ctx, apply, static_cast<std::int64_t>(dy.numel()),
                planes_vectorize<T>(dy.shape()) && vector_aligned(dy.data(), dx.data()), op, shapes);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(batchnorm, batchnorm_forward_train, batchnorm_forward_infer, batchnorm_backward,
                       batchnorm_backward_infer)
