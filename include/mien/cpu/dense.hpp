#pragma once
// CPU fully connected layer on Eigen GEMMs (Eigen threads them itself; these run outside parallel regions).
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"

namespace mien::cpu {

// y [N, O] = x [N, F] · wᵀ + b
template <class T>
void dense_forward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b, Tensor<T>& y) {
  const std::int64_t n = x.shape()[0], f = x.shape()[1], o = w.shape()[0];
  auto out = as_matrix(y, n, o);
  out.noalias() = as_matrix(x, n, f) * as_matrix(w, o, f).transpose();
  out.rowwise() += as_matrix(b, 1, o).row(0);
}

// dx = dy · w,  dw = dyᵀ · x,  db = column sums of dy (all overwritten).
template <class T>
void dense_backward(Context& /*ctx*/, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& dy, Tensor<T>& dx,
                    Tensor<T>& dw, Tensor<T>& db) {
  const std::int64_t n = x.shape()[0], f = x.shape()[1], o = w.shape()[0];
  const auto grad_out = as_matrix(dy, n, o);
  as_matrix(dx, n, f).noalias() = grad_out * as_matrix(w, o, f);
  as_matrix(dw, o, f).noalias() = grad_out.transpose() * as_matrix(x, n, f);
  as_matrix(db, 1, o) = grad_out.colwise().sum();
}

}  // namespace mien::cpu
