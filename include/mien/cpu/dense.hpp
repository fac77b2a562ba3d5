#pragma once
// CPU fully connected layer on Eigen GEMMs. The work is split over threads by output (or input) features, each
// thread running a single-threaded GEMM on its band: Eigen's own GEMM threading busy-waits between its threads and
// collapsed on a loaded machine (the 32768 → 256 head layer took 20–820 ms instead of 6 ms).
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

// y [N, O] = x [N, F] · wᵀ + b
template <class T>
void dense_forward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  const std::int64_t n = x.shape()[0], f = x.shape()[1], o = w.shape()[0];
  const auto in = as_matrix(x, n, f);
  parallel_chunks(o, n * f, [&](int, std::int64_t first, std::int64_t last) {
    if (first == last) return;
    auto out = as_strided_matrix(y.data() + first, n, last - first, o);
    matmul(out, in, as_strided_matrix(w.data() + first * f, last - first, f, f).transpose());
    out.rowwise() += as_matrix(b, 1, o).row(0).segment(first, last - first);
  });
}

// dx = dy · w,  dw = dyᵀ · x,  db = column sums of dy (all overwritten).
template <class T>
void dense_backward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& dy, Tensor<T>& dx,
                    Tensor<T>& dw, Tensor<T>& db) {
  const std::int64_t n = x.shape()[0], f = x.shape()[1], o = w.shape()[0];
  const auto grad_out = as_matrix(dy, n, o);
  const auto in = as_matrix(x, n, f);
  // dx by bands of input features, dw by bands of output features: every band is written by one thread.
  parallel_chunks(f, n * o, [&](int, std::int64_t first, std::int64_t last) {
    if (first == last) return;
    matmul(as_strided_matrix(dx.data() + first, n, last - first, f), grad_out,
           as_strided_matrix(w.data() + first, o, last - first, f));
  });
  parallel_chunks(o, n * f, [&](int, std::int64_t first, std::int64_t last) {
    if (first == last) return;
    matmul(as_strided_matrix(dw.data() + first * f, last - first, f, f),
           as_strided_matrix(dy.data() + first, n, last - first, o).transpose(), in);
  });
  as_matrix(db, 1, o) = grad_out.colwise().sum();
}

}  // namespace mien::cpu
