#pragma once
// Build switches shared by every mien header.
//
// MIEN_WITH_CUDA: device tensors and the CUDA backend exist. It defaults to "compiled by nvcc"; the CMake
// option MIEN_CUDA sets it for a whole project so that plain C++ translation units and CUDA ones agree on
// it (they must: Tensor and Context have device members only when it is 1).
#ifndef MIEN_WITH_CUDA
#if defined(__CUDACC__)
#define MIEN_WITH_CUDA 1
#else
#define MIEN_WITH_CUDA 0
#endif
#endif

// MIEN_CUDA_KERNELS: this translation unit compiles the CUDA kernels. True under nvcc, and under the CUDA emulator
// (tests/emulator), which compiles them as C++ and runs them on the CPU. It only decides whether the ops headers
// include the kernel headers, whose registrations (kernels/mien/kernels/register.cuh) then let ops on device
// tensors run them in the whole program; it changes no inline function outside kernels/ (ops/dispatch.hpp), so
// g++ and nvcc translation units of one program agree on every definition.
#if defined(__CUDACC__) || defined(MIEN_CUDA_EMULATION)
#define MIEN_CUDA_KERNELS 1
#else
#define MIEN_CUDA_KERNELS 0
#endif

// Functions that pure index and arithmetic helpers share between host code, device code and CPU tests.
#if defined(__CUDACC__)
#define MIEN_HD __host__ __device__ __forceinline__
#else
#define MIEN_HD inline
#endif
