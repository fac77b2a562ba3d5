#pragma once
// The one place that knows both backends exist: MIEN_DISPATCH calls cuda::op for device tensors (when this
// translation unit compiles the kernels: nvcc, or the CUDA emulator of tests/emulator) and cpu::op for host
// tensors. Op headers validate shapes and size their outputs before dispatching, so backends may assume
// well-formed arguments.
#include <string>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"

namespace mien::ops::detail {
[[noreturn]] inline void cuda_unavailable(const char* op) {
  throw DeviceError(std::string(op) +
                    ": the tensors are on the GPU, but this translation unit was not compiled with nvcc; "
                    "compile it as CUDA to run GPU ops");
}
}  // namespace mien::ops::detail

#if MIEN_CUDA_KERNELS
#define MIEN_DISPATCH(device, op, ...)      \
  do {                                      \
    if ((device) == ::mien::Device::cuda)   \
      ::mien::cuda::op(__VA_ARGS__);        \
    else                                    \
      ::mien::cpu::op(__VA_ARGS__);         \
  } while (0)
#define MIEN_DISPATCH_RETURN(device, op, ...) \
  return (device) == ::mien::Device::cuda ? ::mien::cuda::op(__VA_ARGS__) : ::mien::cpu::op(__VA_ARGS__)
#else
#define MIEN_DISPATCH(device, op, ...)                         \
  do {                                                         \
    if ((device) == ::mien::Device::cuda)                      \
      ::mien::ops::detail::cuda_unavailable(#op);              \
    else                                                       \
      ::mien::cpu::op(__VA_ARGS__);                            \
  } while (0)
#define MIEN_DISPATCH_RETURN(device, op, ...)                  \
  do {                                                         \
    if ((device) == ::mien::Device::cuda)                      \
      ::mien::ops::detail::cuda_unavailable(#op);              \
    return ::mien::cpu::op(__VA_ARGS__);                       \
  } while (0)
#endif
