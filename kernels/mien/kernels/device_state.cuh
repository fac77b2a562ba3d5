#pragma once
// The CUDA state a Context carries in its backend_state() slot: the stream every mien kernel runs on, the
// cuBLAS and cuDNN handles, one growable scratch workspace, and cuDNN's convolution algorithm choices. It is
// created on the first GPU op and freed with the Context; the library handles are created on first use, so a
// program that never runs a dense layer or a cuDNN convolution never pays for loading those libraries.
//
// The stream is a blocking one: Tensor's synchronous copies and memsets run on the legacy default stream,
// which waits for (and is waited on by) blocking streams, so host reads of device tensors see every kernel
// queued before them.
#include <cublas_v2.h>
#include <cuda_runtime_api.h>
#include <cudnn.h>

#include <array>
#include <cstddef>
#include <map>
#include <memory>
#include <string>

#include "mien/core/context.hpp"
#include "mien/core/cuda_check.hpp"
#include "mien/kernels/library_check.cuh"

namespace mien::cuda {

namespace detail {
struct StreamDeleter {
  void operator()(cudaStream_t s) const noexcept { cudaStreamDestroy(s); }
};
struct CublasDeleter {
  void operator()(cublasHandle_t h) const noexcept { cublasDestroy(h); }
};
struct CudnnDeleter {
  void operator()(cudnnHandle_t h) const noexcept { cudnnDestroy(h); }
};
struct DeviceFree {
  void operator()(void* p) const noexcept { cudaFree(p); }
};
}  // namespace detail

// Which cuDNN convolution pass a cached algorithm is for.
enum class CudnnConvPass { forward, backward_data, backward_filter };

// cuDNN's chosen algorithm for one convolution shape, pass and math mode (as its enum values).
struct CudnnConvChoice {
  int algorithm = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  std::size_t workspace_bytes = 0;
};

// (pass, tf32 allowed, N, C, H, W, K, kernel extent)
using CudnnConvKey = std::array<int, 8>;

class DeviceState {
 public:
  DeviceState() {
    check(cudaGetDevice(&device_), "DeviceState", "cudaGetDevice");
    check(cudaDeviceGetAttribute(&sm_count_, cudaDevAttrMultiProcessorCount, device_), "DeviceState",
          "reading the multiprocessor count");
    cudaStream_t s = nullptr;
    check(cudaStreamCreate(&s), "DeviceState", "cudaStreamCreate");
    stream_.reset(s);
  }
  DeviceState(const DeviceState&) = delete;
  DeviceState& operator=(const DeviceState&) = delete;

  cudaStream_t stream() const { return stream_.get(); }
  int device() const { return device_; }
  int sm_count() const { return sm_count_; }

  cublasHandle_t cublas() {
    if (!cublas_) {
      cublasHandle_t h = nullptr;
      check_cublas(cublasCreate(&h), "DeviceState", "cublasCreate");
      cublas_.reset(h);
      check_cublas(cublasSetStream(h, stream()), "DeviceState", "cublasSetStream");
      // Plain fp32 GEMMs (no TF32): the dense layers must match the CPU reference to fp32 rounding.
      check_cublas(cublasSetMathMode(h, CUBLAS_DEFAULT_MATH), "DeviceState", "cublasSetMathMode");
    }
    return cublas_.get();
  }

  cudnnHandle_t cudnn() {
    if (!cudnn_) {
      cudnnHandle_t h = nullptr;
      check_cudnn(cudnnCreate(&h), "DeviceState", "cudnnCreate");
      cudnn_.reset(h);
      check_cudnn(cudnnSetStream(h, stream()), "DeviceState", "cudnnSetStream");
    }
    return cudnn_.get();
  }

  // Scratch memory of at least `bytes`, valid until the next call (ops run in stream order, so one op's
  // scratch is free again once the next op's kernels are queued behind it). Growing frees the old buffer;
  // cudaFree waits for the device, so no queued kernel still reads it.
  void* workspace(std::size_t bytes, const char* op) {
    if (bytes > workspace_bytes_) {
      workspace_.reset();
      workspace_bytes_ = 0;
      // Round up to 1 MiB steps so that a sequence of slightly growing requests does not reallocate each time.
      const std::size_t rounded = (bytes + (std::size_t{1} << 20) - 1) & ~((std::size_t{1} << 20) - 1);
      workspace_.reset(device_malloc(rounded, op));
      workspace_bytes_ = rounded;
    }
    return workspace_.get();
  }
  std::size_t workspace_bytes() const { return workspace_bytes_; }

  std::map<CudnnConvKey, CudnnConvChoice>& cudnn_conv_choices() { return cudnn_conv_choices_; }

 private:
  int device_ = 0;
  int sm_count_ = 1;
  // Declaration order is destruction order reversed: handles go before the stream they were bound to.
  std::unique_ptr<CUstream_st, detail::StreamDeleter> stream_;
  std::unique_ptr<cublasContext, detail::CublasDeleter> cublas_;
  std::unique_ptr<cudnnContext, detail::CudnnDeleter> cudnn_;
  std::unique_ptr<void, detail::DeviceFree> workspace_;
  std::size_t workspace_bytes_ = 0;
  std::map<CudnnConvKey, CudnnConvChoice> cudnn_conv_choices_;
};

// The context's CUDA state, created on first use.
inline DeviceState& device_state(Context& ctx) {
  std::shared_ptr<void>& slot = ctx.backend_state();
  if (!slot) slot = std::make_shared<DeviceState>();
  return *static_cast<DeviceState*>(slot.get());
}

inline cudaStream_t stream_of(Context& ctx) { return device_state(ctx).stream(); }

}  // namespace mien::cuda
