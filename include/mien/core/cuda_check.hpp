#pragma once
// Checked calls into the CUDA runtime. Included only where MIEN_WITH_CUDA is 1; the runtime API is plain C, so
// g++ translation units may include this too (kernels need nvcc, memory management does not).
#include "mien/core/config.hpp"
#if MIEN_WITH_CUDA
#include <cuda_runtime_api.h>

#include <cstddef>
#include <string>

#include "mien/core/error.hpp"

namespace mien::cuda {

// Throws DeviceError naming the op, what was being done, and the runtime's message.
inline void check(cudaError_t status, const char* op, const std::string& what = {}) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  std::string msg = std::string(op) + ": " + (what.empty() ? "" : what + ": ") + cudaGetErrorName(status) + " (" +
                    cudaGetErrorString(status) + ")";
  if (status == cudaErrorMemoryAllocation) throw OutOfMemory(msg);
  throw DeviceError(msg);
}

// Checks the launch of the kernel just queued (bad configuration shows here, faults at the next sync).
inline void check_launch(const char* op, const std::string& shapes = {}) {
  check(cudaGetLastError(), op, shapes.empty() ? std::string("kernel launch") : "kernel launch for " + shapes);
}

inline void* device_malloc(std::size_t bytes, const char* op) {
  void* ptr = nullptr;
  const cudaError_t status = cudaMalloc(&ptr, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();
    std::size_t free_bytes = 0, total_bytes = 0;
    cudaMemGetInfo(&free_bytes, &total_bytes);
    throw OutOfMemory(std::string(op) + ": out of GPU memory allocating " + std::to_string(bytes >> 20) +
                      " MiB (" + std::to_string(free_bytes >> 20) + " MiB free of " +
                      std::to_string(total_bytes >> 20) + " MiB); try a smaller batch size or input size");
  }
  check(status, op, "cudaMalloc of " + std::to_string(bytes) + " bytes");
  return ptr;
}

inline bool device_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

}  // namespace mien::cuda
#endif
