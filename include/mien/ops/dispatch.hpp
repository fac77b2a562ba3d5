#pragma once
// The one place that knows both backends exist. Op headers validate every argument and size their outputs, then
// MIEN_DISPATCH calls cpu::op for host tensors and, for device tensors, the cuda::op registered for it.
//
// The GPU side goes through a function pointer per op and element type, cuda_impl<&cpu::op<T>>, which starts as
// nullptr and is filled in at static-initialisation time by the kernel headers (kernels/mien/kernels/*.cuh, end
// of each) in every translation unit that compiles them (nvcc, or the CUDA emulator of tests/emulator). So the
// body of every ops:: function (and of every layer that calls one) is the same token for token in every
// translation unit, whichever compiler built it: a program mixing g++ and nvcc objects has one definition of
// each inline function (no ODR violation), and its g++ code runs GPU ops that its nvcc code registered. cpu::op,
// ops::op and cuda::op take the same parameters (the registration checks this: the pointer types must match).
//
// Host tensors never touch the pointer: the CPU path is the direct call it always was.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"

namespace mien::ops {

namespace detail {

// The GPU implementation of the op whose CPU implementation is CpuFn (e.g. &cpu::relu_forward<float>), or nullptr
// while no translation unit of the program has registered one. Constant-initialised, so it is nullptr before any
// registration runs.
template <auto CpuFn>
inline decltype(CpuFn) cuda_impl = nullptr;

// Names of the ops with a registered GPU implementation (any element type).
inline std::set<std::string>& cuda_op_names() {
  static std::set<std::string> names;
  return names;
}

[[noreturn]] inline void cuda_unavailable(const char* op) {
  throw DeviceError(std::string(op) +
                    ": the tensors are on the GPU, but no translation unit of this program was compiled with nvcc "
                    "(or the CUDA emulator) to register its kernels; compile the code that includes mien/ops/*.hpp "
                    "as CUDA, or link in a translation unit that does");
}

template <auto CpuFn, class... Args>
decltype(auto) dispatch(const char* op, Device device, Args&&... args) {
  if (device == Device::cuda) {
    const auto gpu = cuda_impl<CpuFn>;
    if (gpu == nullptr) cuda_unavailable(op);
    return gpu(std::forward<Args>(args)...);
  }
  return CpuFn(std::forward<Args>(args)...);
}

}  // namespace detail

// Registers gpu as the implementation of the op whose CPU implementation is CpuFn, under the op's ops:: name.
// Called by the kernel headers at static-initialisation time; returns true so that it can initialise a variable.
template <auto CpuFn>
bool register_cuda_op(const char* name, decltype(CpuFn) gpu) {
  detail::cuda_impl<CpuFn> = gpu;
  detail::cuda_op_names().insert(name);
  return true;
}

// The ops:: names with a GPU implementation in this program, sorted.
inline std::vector<std::string> registered_cuda_ops() {
  return {detail::cuda_op_names().begin(), detail::cuda_op_names().end()};
}

}  // namespace mien::ops

// ops::op's last step: `return MIEN_DISPATCH(device, op, T, args...);` with the same arguments cpu::op and cuda::op
// take.
#define MIEN_DISPATCH(device, op, T, ...) \
  ::mien::ops::detail::dispatch<&::mien::cpu::op<T>>(#op, (device), __VA_ARGS__)
