#pragma once
// CPU activations. The element-wise ones split large tensors into blocks over threads (they are bound by
// memory bandwidth, which one core does not saturate); the softmax works row by row.
#include <algorithm>
#include <cstdint>

#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace activation_detail {

constexpr std::int64_t block = 1 << 14;

// Calls fn(first, count) over consecutive element ranges of [0, total), in parallel for large totals.
template <class Fn>
void for_each_block(std::int64_t total, Fn&& fn) {
  const std::int64_t blocks = (total + block - 1) / block;
  parallel_chunks(blocks, block, [&](int, std::int64_t first, std::int64_t last) {
    const std::int64_t begin = first * block, end = std::min(total, last * block);
    if (end > begin) fn(begin, end - begin);
  });
}

}  // namespace activation_detail

template <class T>
void relu_forward(Context& /*ctx*/, const Tensor<T>& x, Tensor<T>& y) {
  activation_detail::for_each_block(static_cast<std::int64_t>(x.numel()), [&](std::int64_t first, std::int64_t n) {
    as_array(y.data() + first, n) = as_array(x.data() + first, n).max(T(0));
  });
}

// The derivative at 0 is taken as 0 (y = 0 there, as for every negative input).
template <class T>
void relu_backward(Context& /*ctx*/, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  activation_detail::for_each_block(static_cast<std::int64_t>(y.numel()), [&](std::int64_t first, std::int64_t n) {
    as_array(dx.data() + first, n) =
        (as_array(y.data() + first, n) > T(0)).select(as_array(dy.data() + first, n), T(0));
  });
}

template <class T>
void tanh_forward(Context& /*ctx*/, const Tensor<T>& x, Tensor<T>& y) {
  activation_detail::for_each_block(static_cast<std::int64_t>(x.numel()), [&](std::int64_t first, std::int64_t n) {
    as_array(y.data() + first, n) = as_array(x.data() + first, n).tanh();
  });
}

// tanh' = 1 - tanh², written in terms of the output.
template <class T>
void tanh_backward(Context& /*ctx*/, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  activation_detail::for_each_block(static_cast<std::int64_t>(y.numel()), [&](std::int64_t first, std::int64_t n) {
    const auto out = as_array(y.data() + first, n);
    as_array(dx.data() + first, n) = as_array(dy.data() + first, n) * (T(1) - out.square());
  });
}

// Each row of x [N, K] becomes exp(x - max) / sum(exp(x - max)): subtracting the row maximum keeps exp from
// overflowing and changes nothing mathematically.
template <class T>
void softmax_forward(Context& /*ctx*/, const Tensor<T>& x, Tensor<T>& y) {
  const std::int64_t rows = x.shape()[0], cols = x.shape()[1];
  if (rows == 0 || cols == 0) return;
  const auto in = as_matrix(x, rows, cols).array();
  auto out = as_matrix(y, rows, cols).array();
  out = (in.colwise() - in.rowwise().maxCoeff()).exp();
  // The row sums are materialized before dividing, so that no sum is read after its row has changed.
  const Array<T> sums = out.rowwise().sum();
  out.colwise() /= sums;
}

// dx = y ⊙ (dy - Σ_k dy_k y_k), row by row (the softmax Jacobian diag(y) - y yᵀ applied to dy).
template <class T>
void softmax_backward(Context& /*ctx*/, const Tensor<T>& y, const Tensor<T>& dy, Tensor<T>& dx) {
  const std::int64_t rows = y.shape()[0], cols = y.shape()[1];
  if (rows == 0 || cols == 0) return;
  const auto out = as_matrix(y, rows, cols).array();
  const auto grad_out = as_matrix(dy, rows, cols).array();
  as_matrix(dx, rows, cols).array() = out * (grad_out.colwise() - (grad_out * out).rowwise().sum());
}

}  // namespace mien::cpu
