#pragma once
// The CPU backend's matrix products: C = A·B or C += A·B on row-major Eigen maps, where A and B may be transposed
// views. Float products inside a parallel region go to OpenBLAS's sgemm when the library can be loaded at run time
// (Debian: libopenblas0-pthread or libopenblas0-openmp); everything else, and every product when it is absent or
// MIEN_BLAS=none, runs on Eigen. On the development CPU (AMD Zen 5, AVX-512) OpenBLAS's AVX-512 kernels ran the
// network's GEMM shapes at 200–235 GFLOP/s per core against Eigen's 130–170, the 48×48 training step 1.18× faster
// (docs/benchmarks.md).
//
// Details of loading it:
// - OpenBLAS is used only with its AVX-512 kernels (SkylakeX, Cooperlake, SapphireRapids): its AVX2 "Haswell"
//   kernels ran 0.7× Eigen's AVX-512 code on the development CPU, and other CPUs were not measured.
// - OpenBLAS 0.3.21 (Debian 12) does not know AMD's AVX-512 CPUs (Zen 4, Zen 5) and picks the Haswell kernels
//   there. On an AMD CPU with AVX-512, unless OPENBLAS_CORETYPE is set already, mien sets it to SkylakeX before
//   loading the library, which reads it as it loads (hence dlopen, not linking). A value the environment set is
//   kept: OPENBLAS_CORETYPE=Haswell means Eigen.
// - The threads come from mien's own parallel loops, which call sgemm concurrently, so OpenBLAS is asked for one
//   thread, and its single-threaded build (libopenblas0-serial), which is not safe to call from several threads
//   at once (it corrupted results in a test), is not used. Products outside a parallel region (a batch smaller
//   than the thread count) stay on Eigen, which threads them itself.
#include <Eigen/Core>
#include <utility>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <type_traits>
#if defined(__linux__)
#include <dlfcn.h>
#endif
#if defined(_OPENMP)
#include <omp.h>
#endif


namespace mien::cpu {

namespace gemm_detail {

using Sgemm = void (*)(const char*, const char*, const int*, const int*, const int*, const float*, const float*,
                       const int*, const float*, const int*, const float*, float*, const int*);

struct Blas {
  Sgemm sgemm = nullptr;
  std::string description = "Eigen";
};

inline Blas load_blas() {
  Blas blas;
#if defined(__linux__)
  const char* choice = std::getenv("MIEN_BLAS");
  if (choice != nullptr && std::string(choice) == "none") return blas;
#if defined(__x86_64__) && defined(__GNUC__)
  if (std::getenv("OPENBLAS_CORETYPE") == nullptr && __builtin_cpu_is("amd") && __builtin_cpu_supports("avx512f"))
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
#endif
  for (const char* name : {"libopenblas.so.0", "libopenblas.so"}) {
    void* library = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    if (library == nullptr) continue;
    const auto sgemm = reinterpret_cast<Sgemm>(dlsym(library, "sgemm_"));
    const auto corename = reinterpret_cast<char* (*)()>(dlsym(library, "openblas_get_corename"));
    const auto parallel = reinterpret_cast<int (*)()>(dlsym(library, "openblas_get_parallel"));
    if (sgemm == nullptr || corename == nullptr || parallel == nullptr) continue;
    if (parallel() == 0) {
      blas.description = "Eigen (OpenBLAS found in its single-threaded build: not used)";
      break;
    }
    std::string core = corename();
    for (char& ch : core) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (core != "skylakex" && core != "cooperlake" && core != "sapphirerapids") {
      blas.description = "Eigen (OpenBLAS found with its " + std::string(corename()) + " kernels: not used)";
      break;
    }
    if (auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(library, "openblas_set_num_threads")))
      set_threads(1);
    blas.sgemm = sgemm;
    blas.description = "OpenBLAS (" + std::string(corename()) + " kernels)";
    break;
  }
#endif
  return blas;
}

inline const Blas& blas() {
  static const Blas loaded = load_blas();
  return loaded;
}

// A product operand: a row-major map, or Eigen's transposed view of one.
template <class X>
struct Operand {
  static constexpr bool transposed = false;
  static const X& stored(const X& x) { return x; }
};
template <class X>
struct Operand<Eigen::Transpose<X>> {
  static constexpr bool transposed = true;
  static const std::remove_const_t<X>& stored(const Eigen::Transpose<X>& x) { return x.nestedExpression(); }
};

// Where a one-thread sgemm loses nothing: inside a parallel region (the other threads have their own work), or
// with one thread in all.
inline bool single_threaded_caller() {
#if defined(_OPENMP)
  return omp_in_parallel() != 0 || omp_get_max_threads() == 1;
#else
  return true;
#endif
}

template <class Dst, class Lhs, class Rhs>
void product(Dst&& dst, const Lhs& lhs, const Rhs& rhs, bool accumulate) {
  using T = typename std::decay_t<Dst>::Scalar;
  if constexpr (std::is_same_v<T, float>) {
    const Sgemm sgemm = blas().sgemm;
    if (sgemm != nullptr && single_threaded_caller() && dst.rows() > 0 && dst.cols() > 0 && lhs.cols() > 0) {
      const auto& a = Operand<Lhs>::stored(lhs);
      const auto& b = Operand<Rhs>::stored(rhs);
      // Row-major C = A·B is column-major Cᵀ = Bᵀ·Aᵀ: B's storage goes first.
      const char op_b = Operand<Rhs>::transposed ? 'T' : 'N', op_a = Operand<Lhs>::transposed ? 'T' : 'N';
      const int m = static_cast<int>(dst.cols()), n = static_cast<int>(dst.rows()), k = static_cast<int>(lhs.cols());
      const int ldb = static_cast<int>(b.outerStride()), lda = static_cast<int>(a.outerStride()),
                ldc = static_cast<int>(dst.outerStride());
      const float one = 1, beta = accumulate ? 1.0f : 0.0f;
      sgemm(&op_b, &op_a, &m, &n, &k, &one, b.data(), &ldb, a.data(), &lda, &beta, dst.data(), &ldc);
      return;
    }
  }
  if (accumulate)
    dst.noalias() += lhs * rhs;
  else
    dst.noalias() = lhs * rhs;
}

}  // namespace gemm_detail

// dst = lhs · rhs and dst += lhs · rhs, for row-major maps (as_matrix, as_strided_matrix) or their .transpose().
template <class Dst, class Lhs, class Rhs>
void matmul(Dst&& dst, const Lhs& lhs, const Rhs& rhs) {
  gemm_detail::product(std::forward<Dst>(dst), lhs, rhs, false);
}
template <class Dst, class Lhs, class Rhs>
void matmul_add(Dst&& dst, const Lhs& lhs, const Rhs& rhs) {
  gemm_detail::product(std::forward<Dst>(dst), lhs, rhs, true);
}

// What runs the float products, for benchmark reports: "Eigen", "OpenBLAS (SkylakeX kernels)", or Eigen with the
// reason OpenBLAS was not used.
inline const std::string& gemm_backend() { return gemm_detail::blas().description; }

}  // namespace mien::cpu
