#pragma once
// Checked calls into cuBLAS and cuDNN, beside mien/core/cuda_check.hpp's checks of the runtime: a failure throws
// DeviceError naming the op, what was being done (with shapes) and the library's own message.
#include <cublas_v2.h>
#include <cudnn.h>

#include <string>

#include "mien/core/cuda_check.hpp"
#include "mien/core/error.hpp"

namespace mien::cuda {

inline void check_cublas(cublasStatus_t status, const char* op, const std::string& what = {}) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  std::string msg = std::string(op) + ": " + (what.empty() ? "" : what + ": ") + "cuBLAS " +
                    cublasGetStatusName(status) + " (" + cublasGetStatusString(status) + ")";
  if (status == CUBLAS_STATUS_ALLOC_FAILED)
    throw OutOfMemory(msg + "; try a smaller batch size or input size");
  throw DeviceError(msg);
}

inline void check_cudnn(cudnnStatus_t status, const char* op, const std::string& what = {}) {
  if (status == CUDNN_STATUS_SUCCESS) return;
  std::string msg = std::string(op) + ": " + (what.empty() ? "" : what + ": ") + "cuDNN " + cudnnGetErrorString(status);
  // cuDNN 9 keeps a more specific explanation of the last failure (which parameter it rejected, and why).
  char detail[512] = {};
  cudnnGetLastErrorString(detail, sizeof(detail));
  if (detail[0] != '\0') msg += std::string(" (") + detail + ")";
  if (status == CUDNN_STATUS_INTERNAL_ERROR_DEVICE_ALLOCATION_FAILED)
    throw OutOfMemory(msg + "; try a smaller batch size or input size");
  throw DeviceError(msg);
}

}  // namespace mien::cuda
