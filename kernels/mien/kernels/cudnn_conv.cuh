#pragma once
// cuDNN convolutions (forward, backward data, backward filter) for float NCHW tensors: the yardstick for mien's
// own kernels, and a backend in its own right (ConvBackend::cudnn).
//
// The algorithm for each (pass, shape, math mode) is chosen once by cudnnFind*, which times every algorithm
// cuDNN offers on the real shapes, and cached in the context's DeviceState; where Find reports nothing usable,
// cudnnGet*_v7's heuristic ranking decides. With allow_tf32 false the descriptor is pinned to CUDNN_FMA_MATH,
// so results are plain fp32 (cuDNN's default math would let Ampere and later GPUs use TF32 tensor cores), which
// is what the parity tests and the fp32 comparison need; with allow_tf32 true cuDNN may use any math it finds
// fastest.
#include <cudnn.h>

#include <cstddef>
#include <string>

#include "mien/core/tensor.hpp"
#include "mien/kernels/device_state.cuh"
#include "mien/kernels/library_check.cuh"

namespace mien::cuda::cudnn {

namespace detail {

template <class Handle, cudnnStatus_t (*Destroy)(Handle)>
class Descriptor {
 public:
  Descriptor(cudnnStatus_t (*create)(Handle*), const char* op) { check_cudnn(create(&handle_), op, "creating a descriptor"); }
  ~Descriptor() { Destroy(handle_); }
  Descriptor(const Descriptor&) = delete;
  Descriptor& operator=(const Descriptor&) = delete;
  operator Handle() const { return handle_; }

 private:
  Handle handle_ = nullptr;
};

using TensorDesc = Descriptor<cudnnTensorDescriptor_t, cudnnDestroyTensorDescriptor>;
using FilterDesc = Descriptor<cudnnFilterDescriptor_t, cudnnDestroyFilterDescriptor>;
using ConvDesc = Descriptor<cudnnConvolutionDescriptor_t, cudnnDestroyConvolutionDescriptor>;

// Largest workspace an algorithm may ask for; Find skips the ones that need more.
constexpr std::size_t max_workspace = std::size_t{1} << 30;

// The descriptors of one convolution: x [N, C, H, W], w [K, C, k, k], y [N, K, H, W], stride 1, same padding.
struct ConvDescriptors {
  TensorDesc x{cudnnCreateTensorDescriptor, "cudnn conv"};
  TensorDesc y{cudnnCreateTensorDescriptor, "cudnn conv"};
  TensorDesc bias{cudnnCreateTensorDescriptor, "cudnn conv"};
  FilterDesc w{cudnnCreateFilterDescriptor, "cudnn conv"};
  ConvDesc conv{cudnnCreateConvolutionDescriptor, "cudnn conv"};

  ConvDescriptors(const Shape& xs, const Shape& ws, const char* op) {
    const int n = static_cast<int>(xs.n()), c = static_cast<int>(xs.c()), h = static_cast<int>(xs.h()),
              wd = static_cast<int>(xs.w()), k = static_cast<int>(ws[0]), ks = static_cast<int>(ws[2]);
    check_cudnn(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, c, h, wd), op, "input descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, h, wd), op, "output descriptor");
    check_cudnn(cudnnSetTensor4dDescriptor(bias, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, k, 1, 1), op, "bias descriptor");
    check_cudnn(cudnnSetFilter4dDescriptor(w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, k, c, ks, ks), op, "filter descriptor");
    // Cross-correlation (no kernel flip), as mien and every deep-learning framework define convolution.
    check_cudnn(cudnnSetConvolution2dDescriptor(conv, ks / 2, ks / 2, 1, 1, 1, 1, CUDNN_CROSS_CORRELATION,
                                                CUDNN_DATA_FLOAT),
                op, "convolution descriptor");
  }
};

inline CudnnConvKey cache_key(CudnnConvPass pass, bool allow_tf32, const Shape& xs, const Shape& ws) {
  return CudnnConvKey{static_cast<int>(pass), allow_tf32 ? 1 : 0, static_cast<int>(xs.n()), static_cast<int>(xs.c()),
                      static_cast<int>(xs.h()), static_cast<int>(xs.w()), static_cast<int>(ws[0]),
                      static_cast<int>(ws[2])};
}

// The first usable entry of Find's results (sorted fastest first): successful, within the workspace limit, and
// not a tensor-core algorithm when TF32 is not allowed.
template <class Perf>
bool pick_found(const Perf* perf, int count, bool allow_tf32, CudnnConvChoice& choice) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status != CUDNN_STATUS_SUCCESS || perf[i].memory > max_workspace) continue;
    if (!allow_tf32 && perf[i].mathType != CUDNN_FMA_MATH && perf[i].mathType != CUDNN_DEFAULT_MATH) continue;
    choice.algorithm = static_cast<int>(perf[i].algo);
    choice.math = allow_tf32 ? perf[i].mathType : CUDNN_FMA_MATH;
    choice.workspace_bytes = perf[i].memory;
    return true;
  }
  return false;
}

// Looks up, or finds and caches, the algorithm for a pass. Find and Get take the same arguments per pass, so the
// pass-specific calls come in as callables.
template <class Perf, class FindFn, class GetFn>
CudnnConvChoice choose(DeviceState& state, const CudnnConvKey& key, cudnnConvolutionDescriptor_t conv,
                       bool allow_tf32, const char* op, const std::string& shapes, FindFn&& find, GetFn&& get) {
  auto& cache = state.cudnn_conv_choices();
  if (auto it = cache.find(key); it != cache.end()) return it->second;
  check_cudnn(cudnnSetConvolutionMathType(conv, allow_tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH), op,
              "setting the math type for " + shapes);
  constexpr int max_algos = 16;
  Perf perf[max_algos];
  int returned = 0;
  CudnnConvChoice choice;
  bool found = false;
  // Find runs every candidate, so it needs free memory for their workspaces; if it cannot, fall back to Get.
  if (find(max_algos, &returned, perf) == CUDNN_STATUS_SUCCESS) found = pick_found(perf, returned, allow_tf32, choice);
  if (!found) {
    check_cudnn(get(max_algos, &returned, perf), op, "ranking algorithms for " + shapes);
    found = pick_found(perf, returned, allow_tf32, choice);
  }
  if (!found) throw DeviceError(std::string(op) + ": cuDNN offers no usable algorithm for " + shapes);
  cache.emplace(key, choice);
  return choice;
}

// Puts the chosen math type on the convolution descriptor; returns the chosen algorithm's workspace (nullptr when
// it needs none).
inline void* apply_choice(DeviceState& state, const ConvDescriptors& d, const CudnnConvChoice& choice, const char* op,
                          const std::string& shapes) {
  check_cudnn(cudnnSetConvolutionMathType(d.conv, choice.math), op, "setting the math type for " + shapes);
  return choice.workspace_bytes ? state.workspace(choice.workspace_bytes, op) : nullptr;
}

}  // namespace detail

// y = conv(x, w) + b
inline void conv2d_forward(Context& ctx, const Tensor<float>& x, const Tensor<float>& w, const Tensor<float>& b,
                           Tensor<float>& y, bool allow_tf32) {
  const char* op = "conv2d_forward (cuDNN)";
  const std::string shapes = "x " + x.shape().str() + ", w " + w.shape().str();
  DeviceState& state = device_state(ctx);
  const cudnnHandle_t handle = state.cudnn();
  detail::ConvDescriptors d(x.shape(), w.shape(), op);
  const CudnnConvChoice choice = detail::choose<cudnnConvolutionFwdAlgoPerf_t>(
      state, detail::cache_key(CudnnConvPass::forward, allow_tf32, x.shape(), w.shape()), d.conv, allow_tf32, op,
      shapes,
      [&](int requested, int* returned, cudnnConvolutionFwdAlgoPerf_t* perf) {
        return cudnnFindConvolutionForwardAlgorithm(handle, d.x, d.w, d.conv, d.y, requested, returned, perf);
      },
      [&](int requested, int* returned, cudnnConvolutionFwdAlgoPerf_t* perf) {
        return cudnnGetConvolutionForwardAlgorithm_v7(handle, d.x, d.w, d.conv, d.y, requested, returned, perf);
      });
  void* workspace = detail::apply_choice(state, d, choice, op, shapes);
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionForward(handle, &one, d.x, x.data(), d.w, w.data(), d.conv,
                                      static_cast<cudnnConvolutionFwdAlgo_t>(choice.algorithm), workspace,
                                      choice.workspace_bytes, &zero, d.y, y.data()),
              op, shapes);
  check_cudnn(cudnnAddTensor(handle, &one, d.bias, b.data(), &one, d.y, y.data()), op, "adding the bias, " + shapes);
}

// dx = conv_transpose(dy, w)
inline void conv2d_backward_data(Context& ctx, const Tensor<float>& dy, const Tensor<float>& w, Tensor<float>& dx,
                                 bool allow_tf32) {
  const char* op = "conv2d_backward_data (cuDNN)";
  const std::string shapes = "dy " + dy.shape().str() + ", w " + w.shape().str();
  DeviceState& state = device_state(ctx);
  const cudnnHandle_t handle = state.cudnn();
  detail::ConvDescriptors d(dx.shape(), w.shape(), op);
  const CudnnConvChoice choice = detail::choose<cudnnConvolutionBwdDataAlgoPerf_t>(
      state, detail::cache_key(CudnnConvPass::backward_data, allow_tf32, dx.shape(), w.shape()), d.conv, allow_tf32,
      op, shapes,
      [&](int requested, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
        return cudnnFindConvolutionBackwardDataAlgorithm(handle, d.w, d.y, d.conv, d.x, requested, returned, perf);
      },
      [&](int requested, int* returned, cudnnConvolutionBwdDataAlgoPerf_t* perf) {
        return cudnnGetConvolutionBackwardDataAlgorithm_v7(handle, d.w, d.y, d.conv, d.x, requested, returned, perf);
      });
  void* workspace = detail::apply_choice(state, d, choice, op, shapes);
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionBackwardData(handle, &one, d.w, w.data(), d.y, dy.data(), d.conv,
                                           static_cast<cudnnConvolutionBwdDataAlgo_t>(choice.algorithm), workspace,
                                           choice.workspace_bytes, &zero, d.x, dx.data()),
              op, shapes);
}

// dw and db, overwritten.
inline void conv2d_backward_filter(Context& ctx, const Tensor<float>& x, const Tensor<float>& dy, Tensor<float>& dw,
                                   Tensor<float>& db, bool allow_tf32) {
  const char* op = "conv2d_backward_filter (cuDNN)";
  const std::string shapes = "x " + x.shape().str() + ", dy " + dy.shape().str();
  DeviceState& state = device_state(ctx);
  const cudnnHandle_t handle = state.cudnn();
  detail::ConvDescriptors d(x.shape(), dw.shape(), op);
  const CudnnConvChoice choice = detail::choose<cudnnConvolutionBwdFilterAlgoPerf_t>(
      state, detail::cache_key(CudnnConvPass::backward_filter, allow_tf32, x.shape(), dw.shape()), d.conv,
      allow_tf32, op, shapes,
      [&](int requested, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
        return cudnnFindConvolutionBackwardFilterAlgorithm(handle, d.x, d.y, d.conv, d.w, requested, returned, perf);
      },
      [&](int requested, int* returned, cudnnConvolutionBwdFilterAlgoPerf_t* perf) {
        return cudnnGetConvolutionBackwardFilterAlgorithm_v7(handle, d.x, d.y, d.conv, d.w, requested, returned,
                                                             perf);
      });
  void* workspace = detail::apply_choice(state, d, choice, op, shapes);
  const float one = 1.0f, zero = 0.0f;
  check_cudnn(cudnnConvolutionBackwardFilter(handle, &one, d.x, x.data(), d.y, dy.data(), d.conv,
                                             static_cast<cudnnConvolutionBwdFilterAlgo_t>(choice.algorithm), workspace,
                                             choice.workspace_bytes, &zero, d.w, dw.data()),
              op, shapes);
  check_cudnn(cudnnConvolutionBackwardBias(handle, &one, d.y, dy.data(), &zero, d.bias, db.data()), op,
              "bias gradient, " + shapes);
}

}  // namespace mien::cuda::cudnn
