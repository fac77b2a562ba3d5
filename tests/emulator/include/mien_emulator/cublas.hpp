#pragma once
// mien's CUDA emulator, part 4: the cuBLAS calls mien makes (handles, GEMM in single and double precision),
// as plain column-major loops with cuBLAS's argument checks. Accumulation is in double, so the emulated GEMM
// is at least as accurate as cuBLAS's fp32 one; the parity tests' fp32 tolerances still apply.
#include <cstdint>

#include "mien_emulator/runtime.hpp"

struct cublasContext {
  cudaStream_t stream = nullptr;
};
using cublasHandle_t = cublasContext*;

enum cublasStatus_t {
  CUBLAS_STATUS_SUCCESS = 0,
  CUBLAS_STATUS_NOT_INITIALIZED = 1,
  CUBLAS_STATUS_ALLOC_FAILED = 3,
  CUBLAS_STATUS_INVALID_VALUE = 7,
  CUBLAS_STATUS_EXECUTION_FAILED = 13,
};
enum cublasOperation_t { CUBLAS_OP_N = 0, CUBLAS_OP_T = 1, CUBLAS_OP_C = 2 };
enum cublasMath_t { CUBLAS_DEFAULT_MATH = 0, CUBLAS_TF32_TENSOR_OP_MATH = 3 };

namespace mien_emulator {
inline constexpr StatusText<cublasStatus_t> cublas_statuses[] = {
    {CUBLAS_STATUS_SUCCESS, "CUBLAS_STATUS_SUCCESS", "success"},
    {CUBLAS_STATUS_NOT_INITIALIZED, "CUBLAS_STATUS_NOT_INITIALIZED", "the library was not initialized"},
    {CUBLAS_STATUS_ALLOC_FAILED, "CUBLAS_STATUS_ALLOC_FAILED", "the resource allocation failed"},
    {CUBLAS_STATUS_INVALID_VALUE, "CUBLAS_STATUS_INVALID_VALUE", "an invalid numeric value was used as an argument"},
    {CUBLAS_STATUS_EXECUTION_FAILED, "CUBLAS_STATUS_EXECUTION_FAILED", "the GPU program failed to execute"},
};
}  // namespace mien_emulator

inline const char* cublasGetStatusName(cublasStatus_t s) {
  const auto* row = mien_emulator::find_status(mien_emulator::cublas_statuses, s);
  return row ? row->name : "CUBLAS_STATUS_UNKNOWN";
}
inline const char* cublasGetStatusString(cublasStatus_t s) {
  const auto* row = mien_emulator::find_status(mien_emulator::cublas_statuses, s);
  return row ? row->message : "unknown error";
}

inline cublasStatus_t cublasCreate(cublasHandle_t* h) {
  *h = new cublasContext{};
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasDestroy(cublasHandle_t h) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  delete h;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetStream(cublasHandle_t h, cudaStream_t s) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  h->stream = s;
  return CUBLAS_STATUS_SUCCESS;
}
inline cublasStatus_t cublasSetMathMode(cublasHandle_t h, cublasMath_t) {
  return h ? CUBLAS_STATUS_SUCCESS : CUBLAS_STATUS_NOT_INITIALIZED;
}

// 0: no real cuBLAS here.
inline cublasStatus_t cublasGetVersion(cublasHandle_t h, int* version) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  *version = 0;
  return CUBLAS_STATUS_SUCCESS;
}

namespace mien_emulator {

// C (m x n, column-major) = alpha op(A) op(B) + beta C, op(A) m x k, op(B) k x n.
template <class T>
cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k, const T* alpha,
                    const T* a, int lda, const T* b, int ldb, const T* beta, T* c, int ldc) {
  if (!h) return CUBLAS_STATUS_NOT_INITIALIZED;
  const bool at = ta != CUBLAS_OP_N, bt = tb != CUBLAS_OP_N;
  if (m < 0 || n < 0 || k < 0 || lda < (at ? k : m) || lda < 1 || ldb < (bt ? n : k) || ldb < 1 || ldc < m || ldc < 1)
    return CUBLAS_STATUS_INVALID_VALUE;
  const std::size_t a_extent = static_cast<std::size_t>(lda) * static_cast<std::size_t>(at ? m : k);
  const std::size_t b_extent = static_cast<std::size_t>(ldb) * static_cast<std::size_t>(bt ? k : n);
  const std::size_t c_extent = static_cast<std::size_t>(ldc) * static_cast<std::size_t>(n);
  // The matrices must be device memory, as on a GPU (a host pointer there is a bug the emulator would hide).
  if ((k > 0 && m > 0 && !is_device_range(a, (a_extent - lda + (at ? k : m)) * sizeof(T))) ||
      (k > 0 && n > 0 && !is_device_range(b, (b_extent - ldb + (bt ? n : k)) * sizeof(T))) ||
      (m > 0 && n > 0 && !is_device_range(c, (c_extent - ldc + m) * sizeof(T))))
    return CUBLAS_STATUS_INVALID_VALUE;
  for (int j = 0; j < n; ++j)
    for (int i = 0; i < m; ++i) {
      double sum = 0;
      for (int p = 0; p < k; ++p) {
        const T av = at ? a[static_cast<std::int64_t>(i) * lda + p] : a[static_cast<std::int64_t>(p) * lda + i];
        const T bv = bt ? b[static_cast<std::int64_t>(p) * ldb + j] : b[static_cast<std::int64_t>(j) * ldb + p];
        sum += static_cast<double>(av) * static_cast<double>(bv);
      }
      T& out = c[static_cast<std::int64_t>(j) * ldc + i];
      // beta == 0 overwrites without reading C, which may hold NaN (cuBLAS's rule).
      out = static_cast<T>(*alpha * sum + (*beta == T(0) ? 0.0 : static_cast<double>(*beta) * out));
    }
  return CUBLAS_STATUS_SUCCESS;
}

}  // namespace mien_emulator

inline cublasStatus_t cublasSgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const float* alpha, const float* a, int lda, const float* b, int ldb,
                                  const float* beta, float* c, int ldc) {
  return mien_emulator::gemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t cublasDgemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                                  const double* alpha, const double* a, int lda, const double* b, int ldb,
                                  const double* beta, double* c, int ldc) {
  return mien_emulator::gemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
