#pragma once
// CUDA backend of ops/dense.hpp: the three products on cuBLAS (plain fp32/fp64 math, no TF32), the bias
// broadcast and the bias gradient as small kernels.
//
// cuBLAS is column-major; a row-major [R, C] matrix is the column-major [C, R] matrix, its transpose. So, with
// x [N, F], w [O, F], y [N, O] row-major:
//   y  = x wᵀ   <=>  yᵀ [O, N]  = w (as wᵀ [F, O], transposed)  · xᵀ [F, N]
//   dx = dy w   <=>  dxᵀ [F, N] = wᵀ [F, O]                     · dyᵀ [O, N]
//   dw = dyᵀ x  <=>  dwᵀ [F, O] = xᵀ [F, N]                     · dy (as dyᵀ [O, N], transposed)
#include <cublas_v2.h>

#include <cstdint>
#include <string>

#include "mien/cpu/dense.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/library_check.cuh"

namespace mien::cuda {

namespace dense_detail {

inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const float* alpha, const float* a, int lda, const float* b, int ldb, const float* beta,
                           float* c, int ldc) {
  return cublasSgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}
inline cublasStatus_t gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                           const double* alpha, const double* a, int lda, const double* b, int ldb,
                           const double* beta, double* c, int ldc) {
  return cublasDgemm(h, ta, tb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc);
}

// y[n, o] += b[o]
template <class T>
struct AddBias {
  T* y;
  const T* b;
  FastDivmod outputs;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    int row, col;
    outputs.divmod(e, row, col);
    Vec<T, V> v = load_vec<V>(y + e);
#pragma unroll
    for (int j = 0; j < V; ++j) v.v[j] += b[col + j];
    store_vec<V>(y + e, v);
  }
};

// db[o] = Σ_n dy[n, o]: a thread per column, reading rows in order (coalesced across the threads).
template <class T>
__global__ void column_sums_kernel(const T* __restrict__ dy, T* __restrict__ db, int rows, int cols) {
  const int o = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x);
  if (o >= cols) return;
  double total = 0;
  for (int n = 0; n < rows; ++n) total += static_cast<double>(dy[static_cast<std::int64_t>(n) * cols + o]);
  db[o] = static_cast<T>(total);
}

}  // namespace dense_detail

template <class T>
void dense_forward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  const char* op = "dense_forward";
  const int n = static_cast<int>(x.shape()[0]), f = static_cast<int>(x.shape()[1]), o = static_cast<int>(w.shape()[0]);
  if (y.numel() == 0) return;
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"w", w.shape()}});
  require_int32_indexing(op, static_cast<std::int64_t>(y.numel()), shapes);
  const T one = T(1), zero = T(0);
  check_cublas(dense_detail::gemm(device_state(ctx).cublas(), CUBLAS_OP_T, CUBLAS_OP_N, o, n, f, &one, w.data(), f,
                                  x.data(), f, &zero, y.data(), o),
               op, shapes);
  launch_map<T>(ctx, dense_detail::AddBias<T>{y.data(), b.data(), FastDivmod(o)}, static_cast<std::int64_t>(y.numel()),
                o % vector_width<T> == 0 && vector_aligned(y.data()), op, shapes);
}

template <class T>
void dense_backward(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& dy, Tensor<T>& dx,
                    Tensor<T>& dw, Tensor<T>& db) {
  const char* op = "dense_backward";
  const int n = static_cast<int>(x.shape()[0]), f = static_cast<int>(x.shape()[1]), o = static_cast<int>(w.shape()[0]);
  const std::string shapes = describe_shapes({{"x", x.shape()}, {"w", w.shape()}});
  const cublasHandle_t handle = device_state(ctx).cublas();
  const T one = T(1), zero = T(0);
  if (n == 0) {  // no samples: zero gradients (cuBLAS would leave dw untouched for an empty reduction)
    dw.set_zero();
    db.set_zero();
    return;
  }
  if (f > 0)
    check_cublas(dense_detail::gemm(handle, CUBLAS_OP_N, CUBLAS_OP_N, f, n, o, &one, w.data(), f, dy.data(), o, &zero,
                                    dx.data(), f),
                 op, "dx, " + shapes);
  if (f > 0 && o > 0)
    check_cublas(dense_detail::gemm(handle, CUBLAS_OP_N, CUBLAS_OP_T, f, o, n, &one, x.data(), f, dy.data(), o, &zero,
                                    dw.data(), f),
                 op, "dw, " + shapes);
  if (o > 0) {
    launch_kernel(dense_detail::column_sums_kernel<T>, ceil_div(o, 128), 128, stream_of(ctx), dy.data(), db.data(), n,
                  o);
    check_kernel(ctx, op, shapes);
  }
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(dense, dense_forward, dense_backward)
