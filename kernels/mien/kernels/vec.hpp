#pragma once
// N elements of T as one aligned value, so that a copy is one vector instruction on the GPU (at most 16 bytes
// each). Host-callable too, so that CPU tests can run the kernels' index and store logic.
#include "mien/core/config.hpp"
#if defined(MIEN_CUDA_EMULATION)
#include <cuda_runtime.h>  // the emulator's: it checks what a GPU would fault on
#endif

namespace mien::cuda {

template <class T, int N>
struct alignas(N * sizeof(T) >= 16 ? 16 : N * sizeof(T)) Vec {
  T v[N];
};

template <int N, class T>
MIEN_HD Vec<T, N> load_vec(const T* p) {
#if defined(MIEN_CUDA_EMULATION)
  mien_emulator::require_aligned(p, alignof(Vec<T, N>));
#endif
  return *reinterpret_cast<const Vec<T, N>*>(p);
}
template <int N, class T>
MIEN_HD void store_vec(T* p, const Vec<T, N>& v) {
#if defined(MIEN_CUDA_EMULATION)
  mien_emulator::require_aligned(p, alignof(Vec<T, N>));
#endif
  *reinterpret_cast<Vec<T, N>*>(p) = v;
}

// Elements per 16-byte vector.
template <class T>
constexpr int vector_width = static_cast<int>(16 / sizeof(T));

}  // namespace mien::cuda
