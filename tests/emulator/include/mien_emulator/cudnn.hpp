#pragma once
// mien's CUDA emulator, part 5: cuDNN's types and the calls mien makes, with the convolutions computed by
// direct loops (accumulating in double) from what the descriptors say, so that mien's cuDNN wrapper
// (cudnn_conv.cuh: descriptors, algorithm search and cache, workspace, bias) runs too. Descriptors are checked
// against each other as cuDNN does (CUDNN_STATUS_BAD_PARAM), and data pointers must be device memory. The
// algorithm search offers one algorithm with no workspace, in the math type the descriptor asks for. Only what
// mien uses is there: NCHW float tensors, 2-D cross-correlation, no groups.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

#include "mien_emulator/runtime.hpp"

struct cudnnContext {
  cudaStream_t stream = nullptr;
};
using cudnnHandle_t = cudnnContext*;
struct cudnnTensorStruct {
  int n = 0, c = 0, h = 0, w = 0;
  bool set = false;
};
struct cudnnFilterStruct {
  int k = 0, c = 0, r = 0, s = 0;
  bool set = false;
};
enum cudnnMathType_t { CUDNN_DEFAULT_MATH = 0, CUDNN_TENSOR_OP_MATH = 1, CUDNN_FMA_MATH = 3 };
struct cudnnConvolutionStruct {
  int pad_h = 0, pad_w = 0, stride_h = 1, stride_w = 1, dilation_h = 1, dilation_w = 1;
  bool cross_correlation = true, set = false;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
};
using cudnnTensorDescriptor_t = cudnnTensorStruct*;
using cudnnFilterDescriptor_t = cudnnFilterStruct*;
using cudnnConvolutionDescriptor_t = cudnnConvolutionStruct*;

enum cudnnStatus_t {
  CUDNN_STATUS_SUCCESS = 0,
  CUDNN_STATUS_BAD_PARAM = 2000,
  CUDNN_STATUS_NOT_SUPPORTED = 3000,
  CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED = 4001,
};
enum cudnnTensorFormat_t { CUDNN_TENSOR_NCHW = 0 };
enum cudnnDataType_t { CUDNN_DATA_FLOAT = 0, CUDNN_DATA_DOUBLE = 1 };
enum cudnnConvolutionMode_t { CUDNN_CONVOLUTION = 0, CUDNN_CROSS_CORRELATION = 1 };
enum cudnnConvolutionFwdAlgo_t { CUDNN_CONVOLUTION_FWD_ALGO_IMPLICIT_GEMM = 0, CUDNN_CONVOLUTION_FWD_ALGO_COUNT = 8 };
enum cudnnConvolutionBwdDataAlgo_t { CUDNN_CONVOLUTION_BWD_DATA_ALGO_0 = 0, CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT = 6 };
enum cudnnConvolutionBwdFilterAlgo_t {
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_0 = 0,
  CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT = 7
};
enum cudnnDeterminism_t { CUDNN_NON_DETERMINISTIC = 0, CUDNN_DETERMINISTIC = 1 };

template <class Algo>
struct mien_emulator_cudnn_perf {
  Algo algo;
  cudnnStatus_t status;
  float time;
  std::size_t memory;
  cudnnDeterminism_t determinism;
  cudnnMathType_t mathType;
};
using cudnnConvolutionFwdAlgoPerf_t = mien_emulator_cudnn_perf<cudnnConvolutionFwdAlgo_t>;
using cudnnConvolutionBwdDataAlgoPerf_t = mien_emulator_cudnn_perf<cudnnConvolutionBwdDataAlgo_t>;
using cudnnConvolutionBwdFilterAlgoPerf_t = mien_emulator_cudnn_perf<cudnnConvolutionBwdFilterAlgo_t>;

inline const char* cudnnGetErrorString(cudnnStatus_t s) {
  switch (s) {
    case CUDNN_STATUS_SUCCESS:
      return "CUDNN_STATUS_SUCCESS";
    case CUDNN_STATUS_BAD_PARAM:
      return "CUDNN_STATUS_BAD_PARAM";
    case CUDNN_STATUS_NOT_SUPPORTED:
      return "CUDNN_STATUS_NOT_SUPPORTED";
    case CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED:
      return "CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED";
  }
  return "CUDNN_STATUS_UNKNOWN";
}
namespace mien_emulator {
inline char* cudnn_last_error() {
  thread_local char message[256] = {};
  return message;
}
inline cudnnStatus_t cudnn_fail(cudnnStatus_t status, const char* why) {
  std::strncpy(cudnn_last_error(), why, 255);
  return status;
}
}  // namespace mien_emulator

// Like cuDNN 9's: the explanation of the last failure, then cleared.
inline void cudnnGetLastErrorString(char* message, std::size_t max) {
  if (max == 0) return;
  std::strncpy(message, mien_emulator::cudnn_last_error(), max - 1);
  message[max - 1] = '\0';
  mien_emulator::cudnn_last_error()[0] = '\0';
}

// 0: no real cuDNN here.
inline std::size_t cudnnGetVersion() { return 0; }

inline cudnnStatus_t cudnnCreate(cudnnHandle_t* h) {
  *h = new cudnnContext{};
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnDestroy(cudnnHandle_t h) {
  delete h;
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetStream(cudnnHandle_t h, cudaStream_t s) {
  h->stream = s;
  return CUDNN_STATUS_SUCCESS;
}

#define MIEN_EMULATOR_DESCRIPTOR(Name, Struct)         \
  inline cudnnStatus_t cudnnCreate##Name(Struct** d) { \
    *d = new Struct{};                                 \
    return CUDNN_STATUS_SUCCESS;                       \
  }                                                    \
  inline cudnnStatus_t cudnnDestroy##Name(Struct* d) { \
    delete d;                                          \
    return CUDNN_STATUS_SUCCESS;                       \
  }
MIEN_EMULATOR_DESCRIPTOR(TensorDescriptor, cudnnTensorStruct)
MIEN_EMULATOR_DESCRIPTOR(FilterDescriptor, cudnnFilterStruct)
MIEN_EMULATOR_DESCRIPTOR(ConvolutionDescriptor, cudnnConvolutionStruct)
#undef MIEN_EMULATOR_DESCRIPTOR

inline cudnnStatus_t cudnnSetTensor4dDescriptor(cudnnTensorDescriptor_t d, cudnnTensorFormat_t format,
                                                cudnnDataType_t type, int n, int c, int h, int w) {
  if (format != CUDNN_TENSOR_NCHW || type != CUDNN_DATA_FLOAT)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_NOT_SUPPORTED, "the emulator has NCHW float tensors only");
  if (n <= 0 || c <= 0 || h <= 0 || w <= 0)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_BAD_PARAM, "tensor dimensions must be positive");
  *d = cudnnTensorStruct{n, c, h, w, true};
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetFilter4dDescriptor(cudnnFilterDescriptor_t d, cudnnDataType_t type,
                                                cudnnTensorFormat_t format, int k, int c, int r, int s) {
  if (format != CUDNN_TENSOR_NCHW || type != CUDNN_DATA_FLOAT)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_NOT_SUPPORTED, "the emulator has NCHW float filters only");
  if (k <= 0 || c <= 0 || r <= 0 || s <= 0)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_BAD_PARAM, "filter dimensions must be positive");
  *d = cudnnFilterStruct{k, c, r, s, true};
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetConvolution2dDescriptor(cudnnConvolutionDescriptor_t d, int pad_h, int pad_w, int stride_h,
                                                     int stride_w, int dilation_h, int dilation_w,
                                                     cudnnConvolutionMode_t mode, cudnnDataType_t type) {
  if (type != CUDNN_DATA_FLOAT)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_NOT_SUPPORTED, "the emulator computes in float only");
  if (pad_h < 0 || pad_w < 0 || stride_h <= 0 || stride_w <= 0 || dilation_h <= 0 || dilation_w <= 0)
    return mien_emulator::cudnn_fail(CUDNN_STATUS_BAD_PARAM, "bad padding, stride or dilation");
  d->pad_h = pad_h;
  d->pad_w = pad_w;
  d->stride_h = stride_h;
  d->stride_w = stride_w;
  d->dilation_h = dilation_h;
  d->dilation_w = dilation_w;
  d->cross_correlation = mode == CUDNN_CROSS_CORRELATION;
  d->set = true;
  return CUDNN_STATUS_SUCCESS;
}
inline cudnnStatus_t cudnnSetConvolutionMathType(cudnnConvolutionDescriptor_t d, cudnnMathType_t math) {
  d->math = math;
  return CUDNN_STATUS_SUCCESS;
}

namespace mien_emulator {

// The geometry of one convolution, checked: x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q].
struct ConvGeometry {
  cudnnTensorStruct x, y;
  cudnnFilterStruct w;
  cudnnConvolutionStruct conv;

  // Input position (row or column) that output position `o` reads through tap `t`, or -1 in the padding.
  static int source(int o, int t, int taps, int pad, int stride, int dilation, int extent, bool cross) {
    const int tap = cross ? t : taps - 1 - t;
    const int i = o * stride - pad + tap * dilation;
    return i >= 0 && i < extent ? i : -1;
  }
  std::int64_t x_at(int n, int c, int h, int w_) const { return ((std::int64_t{n} * x.c + c) * x.h + h) * x.w + w_; }
  std::int64_t y_at(int n, int k, int p, int q) const { return ((std::int64_t{n} * y.c + k) * y.h + p) * y.w + q; }
  std::int64_t w_at(int k, int c, int r, int s) const { return ((std::int64_t{k} * w.c + c) * w.r + r) * w.s + s; }
  std::int64_t x_count() const { return std::int64_t{x.n} * x.c * x.h * x.w; }
  std::int64_t y_count() const { return std::int64_t{y.n} * y.c * y.h * y.w; }
  std::int64_t w_count() const { return std::int64_t{w.k} * w.c * w.r * w.s; }

  // Visits every (x index, w index, y index) triple that contributes a product.
  template <class F>
  void for_each_product(F&& f) const {
    for (int n = 0; n < y.n; ++n)
      for (int k = 0; k < y.c; ++k)
        for (int p = 0; p < y.h; ++p)
          for (int q = 0; q < y.w; ++q)
            for (int c = 0; c < x.c; ++c)
              for (int r = 0; r < w.r; ++r) {
                const int h =
                    source(p, r, w.r, conv.pad_h, conv.stride_h, conv.dilation_h, x.h, conv.cross_correlation);
                if (h < 0) continue;
                for (int s = 0; s < w.s; ++s) {
                  const int wi =
                      source(q, s, w.s, conv.pad_w, conv.stride_w, conv.dilation_w, x.w, conv.cross_correlation);
                  if (wi >= 0) f(x_at(n, c, h, wi), w_at(k, c, r, s), y_at(n, k, p, q));
                }
              }
  }
};

inline cudnnStatus_t geometry(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                              cudnnTensorDescriptor_t y, ConvGeometry& g) {
  if (!x || !w || !conv || !y || !x->set || !w->set || !conv->set || !y->set)
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "a descriptor was not set");
  if (x->c != w->c) return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "input and filter channels differ");
  auto out = [](int in, int pad, int taps, int dilation, int stride) {
    return (in + 2 * pad - ((taps - 1) * dilation + 1)) / stride + 1;
  };
  if (y->n != x->n || y->c != w->k || y->h != out(x->h, conv->pad_h, w->r, conv->dilation_h, conv->stride_h) ||
      y->w != out(x->w, conv->pad_w, w->s, conv->dilation_w, conv->stride_w))
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "the output descriptor does not match the convolution");
  g = ConvGeometry{*x, *y, *w, *conv};
  return CUDNN_STATUS_SUCCESS;
}

// The algorithm search of every pass: the descriptors checked, then one algorithm offered, needing no workspace,
// in the math type the convolution descriptor asks for.
template <class Perf>
cudnnStatus_t offer_algorithm(cudnnTensorDescriptor_t x, cudnnFilterDescriptor_t w, cudnnConvolutionDescriptor_t conv,
                              cudnnTensorDescriptor_t y, int requested, int* returned, Perf* perf) {
  *returned = 0;
  ConvGeometry g;
  if (const cudnnStatus_t st = geometry(x, w, conv, y, g); st != CUDNN_STATUS_SUCCESS) return st;
  if (requested < 1) return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "at least one algorithm must be requested");
  perf[0] = Perf{};
  perf[0].status = CUDNN_STATUS_SUCCESS;
  perf[0].memory = 0;
  perf[0].determinism = CUDNN_DETERMINISTIC;
  perf[0].mathType = conv->math;
  *returned = 1;
  return CUDNN_STATUS_SUCCESS;
}

inline bool device_floats(const void* p, std::int64_t count) {
  return count == 0 || is_device_range(p, static_cast<std::size_t>(count) * sizeof(float));
}

// out[i] = alpha * sum[i] + beta * out[i]; beta == 0 overwrites without reading (cuDNN's rule).
inline void blend(float* out, const double* sum, std::int64_t count, const void* alpha, const void* beta) {
  const float a = *static_cast<const float*>(alpha), b = *static_cast<const float*>(beta);
  for (std::int64_t i = 0; i < count; ++i)
    out[i] = static_cast<float>(a * sum[i] + (b == 0.0f ? 0.0 : static_cast<double>(b) * out[i]));
}

}  // namespace mien_emulator

using mien_emulator_tensor = cudnnTensorDescriptor_t;
using mien_emulator_filter = cudnnFilterDescriptor_t;
using mien_emulator_conv = cudnnConvolutionDescriptor_t;

inline cudnnStatus_t cudnnFindConvolutionForwardAlgorithm(cudnnHandle_t, mien_emulator_tensor x, mien_emulator_filter w,
                                                          mien_emulator_conv c, mien_emulator_tensor y, int requested,
                                                          int* returned, cudnnConvolutionFwdAlgoPerf_t* perf) {
  return mien_emulator::offer_algorithm(x, w, c, y, requested, returned, perf);
}
inline cudnnStatus_t cudnnGetConvolutionForwardAlgorithm_v7(cudnnHandle_t h, mien_emulator_tensor x,
                                                            mien_emulator_filter w, mien_emulator_conv c,
                                                            mien_emulator_tensor y, int n, int* returned,
                                                            cudnnConvolutionFwdAlgoPerf_t* perf) {
  return cudnnFindConvolutionForwardAlgorithm(h, x, w, c, y, n, returned, perf);
}
inline cudnnStatus_t cudnnFindConvolutionBackwardDataAlgorithm(cudnnHandle_t, mien_emulator_filter w,
                                                               mien_emulator_tensor dy, mien_emulator_conv c,
                                                               mien_emulator_tensor dx, int requested, int* returned,
                                                               cudnnConvolutionBwdDataAlgoPerf_t* perf) {
  return mien_emulator::offer_algorithm(dx, w, c, dy, requested, returned, perf);
}
inline cudnnStatus_t cudnnGetConvolutionBackwardDataAlgorithm_v7(cudnnHandle_t h, mien_emulator_filter w,
                                                                 mien_emulator_tensor dy, mien_emulator_conv c,
                                                                 mien_emulator_tensor dx, int n, int* returned,
                                                                 cudnnConvolutionBwdDataAlgoPerf_t* perf) {
  return cudnnFindConvolutionBackwardDataAlgorithm(h, w, dy, c, dx, n, returned, perf);
}
inline cudnnStatus_t cudnnFindConvolutionBackwardFilterAlgorithm(cudnnHandle_t, mien_emulator_tensor x,
                                                                 mien_emulator_tensor dy, mien_emulator_conv c,
                                                                 mien_emulator_filter dw, int requested, int* returned,
                                                                 cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
  return mien_emulator::offer_algorithm(x, dw, c, dy, requested, returned, perf);
}
inline cudnnStatus_t cudnnGetConvolutionBackwardFilterAlgorithm_v7(cudnnHandle_t h, mien_emulator_tensor x,
                                                                   mien_emulator_tensor dy, mien_emulator_conv c,
                                                                   mien_emulator_filter dw, int n, int* returned,
                                                                   cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
  return cudnnFindConvolutionBackwardFilterAlgorithm(h, x, dy, c, dw, n, returned, perf);
}

namespace mien_emulator {

// Which tensor a convolution pass writes: y (forward), x (backward data) or w (backward filter).
enum class ConvOutput { x, w, y };

// out = alpha * (the pass's sums of products) + beta * out, for x [N, C, H, W], w [K, C, R, S], y [N, K, P, Q].
template <ConvOutput out>
cudnnStatus_t convolution_pass(cudnnHandle_t h, const void* alpha, const void* beta, cudnnTensorDescriptor_t xd,
                               const void* x, cudnnFilterDescriptor_t wd, const void* w,
                               cudnnConvolutionDescriptor_t cd, cudnnTensorDescriptor_t yd, const void* y) {
  ConvGeometry g;
  if (!h) return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "no handle");
  if (const cudnnStatus_t st = geometry(xd, wd, cd, yd, g); st != CUDNN_STATUS_SUCCESS) return st;
  if (!device_floats(x, g.x_count()) || !device_floats(w, g.w_count()) || !device_floats(y, g.y_count()))
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "data must be device memory of the descriptors' sizes");
  const auto* xs = static_cast<const float*>(x);
  const auto* ws = static_cast<const float*>(w);
  const auto* ys = static_cast<const float*>(y);
  const std::int64_t count = out == ConvOutput::x ? g.x_count() : out == ConvOutput::w ? g.w_count() : g.y_count();
  std::vector<double> sum(static_cast<std::size_t>(count), 0.0);
  g.for_each_product([&](std::int64_t xi, std::int64_t wi, std::int64_t yi) {
    if constexpr (out == ConvOutput::y) sum[static_cast<std::size_t>(yi)] += static_cast<double>(xs[xi]) * ws[wi];
    if constexpr (out == ConvOutput::x) sum[static_cast<std::size_t>(xi)] += static_cast<double>(ys[yi]) * ws[wi];
    if constexpr (out == ConvOutput::w) sum[static_cast<std::size_t>(wi)] += static_cast<double>(xs[xi]) * ys[yi];
  });
  const void* target = out == ConvOutput::x ? x : out == ConvOutput::w ? w : y;
  blend(static_cast<float*>(const_cast<void*>(target)), sum.data(), count, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

}  // namespace mien_emulator

inline cudnnStatus_t cudnnConvolutionForward(cudnnHandle_t h, const void* alpha, mien_emulator_tensor xd, const void* x,
                                             mien_emulator_filter wd, const void* w, mien_emulator_conv cd,
                                             cudnnConvolutionFwdAlgo_t, void*, std::size_t, const void* beta,
                                             mien_emulator_tensor yd, void* y) {
  return mien_emulator::convolution_pass<mien_emulator::ConvOutput::y>(h, alpha, beta, xd, x, wd, w, cd, yd, y);
}
inline cudnnStatus_t cudnnConvolutionBackwardData(cudnnHandle_t h, const void* alpha, mien_emulator_filter wd,
                                                  const void* w, mien_emulator_tensor dyd, const void* dy,
                                                  mien_emulator_conv cd, cudnnConvolutionBwdDataAlgo_t, void*,
                                                  std::size_t, const void* beta, mien_emulator_tensor dxd, void* dx) {
  return mien_emulator::convolution_pass<mien_emulator::ConvOutput::x>(h, alpha, beta, dxd, dx, wd, w, cd, dyd, dy);
}
inline cudnnStatus_t cudnnConvolutionBackwardFilter(cudnnHandle_t h, const void* alpha, mien_emulator_tensor xd,
                                                    const void* x, mien_emulator_tensor dyd, const void* dy,
                                                    mien_emulator_conv cd, cudnnConvolutionBwdFilterAlgo_t, void*,
                                                    std::size_t, const void* beta, mien_emulator_filter dwd, void* dw) {
  return mien_emulator::convolution_pass<mien_emulator::ConvOutput::w>(h, alpha, beta, xd, x, dwd, dw, cd, dyd, dy);
}

// db [1, K, 1, 1] = sum of dy [N, K, H, W] over n, h, w.
inline cudnnStatus_t cudnnConvolutionBackwardBias(cudnnHandle_t h, const void* alpha, mien_emulator_tensor dyd,
                                                  const void* dy, const void* beta, mien_emulator_tensor dbd,
                                                  void* db) {
  using namespace mien_emulator;
  if (!h || !dyd || !dbd || !dyd->set || !dbd->set)
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "a descriptor was not set");
  if (dbd->n != 1 || dbd->c != dyd->c || dbd->h != 1 || dbd->w != 1)
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "the bias descriptor must be [1, K, 1, 1]");
  const std::int64_t plane = std::int64_t{dyd->h} * dyd->w;
  if (!device_floats(dy, dyd->n * dyd->c * plane) || !device_floats(db, dyd->c))
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "data must be device memory of the descriptors' sizes");
  std::vector<double> sum(static_cast<std::size_t>(dyd->c), 0.0);
  const auto* dys = static_cast<const float*>(dy);
  for (int n = 0; n < dyd->n; ++n)
    for (int k = 0; k < dyd->c; ++k)
      for (std::int64_t i = 0; i < plane; ++i)
        sum[static_cast<std::size_t>(k)] += dys[(std::int64_t{n} * dyd->c + k) * plane + i];
  blend(static_cast<float*>(db), sum.data(), dyd->c, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}

// C = alpha A + beta C, A broadcast over C where its dimensions are 1 (mien adds a [1, K, 1, 1] bias).
inline cudnnStatus_t cudnnAddTensor(cudnnHandle_t h, const void* alpha, mien_emulator_tensor ad, const void* a,
                                    const void* beta, mien_emulator_tensor cd, void* c) {
  using namespace mien_emulator;
  if (!h || !ad || !cd || !ad->set || !cd->set) return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "a descriptor was not set");
  auto fits = [](int from, int to) { return from == to || from == 1; };
  if (!fits(ad->n, cd->n) || !fits(ad->c, cd->c) || !fits(ad->h, cd->h) || !fits(ad->w, cd->w))
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "A cannot be broadcast to C");
  const std::int64_t a_count = std::int64_t{ad->n} * ad->c * ad->h * ad->w;
  const std::int64_t c_count = std::int64_t{cd->n} * cd->c * cd->h * cd->w;
  if (!device_floats(a, a_count) || !device_floats(c, c_count))
    return cudnn_fail(CUDNN_STATUS_BAD_PARAM, "data must be device memory of the descriptors' sizes");
  const auto* as = static_cast<const float*>(a);
  std::vector<double> sum(static_cast<std::size_t>(c_count));
  for (int n = 0; n < cd->n; ++n)
    for (int k = 0; k < cd->c; ++k)
      for (int y = 0; y < cd->h; ++y)
        for (int x = 0; x < cd->w; ++x) {
          const std::int64_t ai =
              ((std::int64_t{ad->n == 1 ? 0 : n} * ad->c + (ad->c == 1 ? 0 : k)) * ad->h + (ad->h == 1 ? 0 : y)) *
                  ad->w +
              (ad->w == 1 ? 0 : x);
          sum[static_cast<std::size_t>(((std::int64_t{n} * cd->c + k) * cd->h + y) * cd->w + x)] = as[ai];
        }
  blend(static_cast<float*>(c), sum.data(), c_count, alpha, beta);
  return CUDNN_STATUS_SUCCESS;
}
