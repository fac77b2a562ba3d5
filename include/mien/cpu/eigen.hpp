#pragma once
// Views of Tensor<T> storage as Eigen matrices and arrays, shared by every cpu/ op. Tensors are row-major
// (NCHW), so matrices are mapped row-major and an op picks the (rows, cols) split of the storage it needs.
// Maps are declared unaligned: ops also map slices (one image of a batch) whose start is not 64-byte aligned,
// and unaligned vector loads cost nothing measurable on aligned data.
#include <Eigen/Core>
#include <cassert>
#include <cstdint>

#include "mien/core/tensor.hpp"

namespace mien::cpu {

template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
template <class T>
using MatrixMap = Eigen::Map<Matrix<T>>;
template <class T>
using ConstMatrixMap = Eigen::Map<const Matrix<T>>;

template <class T>
using Array = Eigen::Array<T, Eigen::Dynamic, 1>;
template <class T>
using ArrayMap = Eigen::Map<Array<T>>;
template <class T>
using ConstArrayMap = Eigen::Map<const Array<T>>;

// A rows x cols row-major matrix over raw storage (a slice of a tensor, a scratch buffer).
template <class T>
MatrixMap<T> as_matrix(T* data, std::int64_t rows, std::int64_t cols) {
  return MatrixMap<T>(data, rows, cols);
}
template <class T>
ConstMatrixMap<T> as_matrix(const T* data, std::int64_t rows, std::int64_t cols) {
  return ConstMatrixMap<T>(data, rows, cols);
}

// The whole tensor as a rows x cols row-major matrix; rows * cols must equal its element count.
template <class T>
MatrixMap<T> as_matrix(Tensor<T>& t, std::int64_t rows, std::int64_t cols) {
  assert(rows * cols == static_cast<std::int64_t>(t.numel()));
  return MatrixMap<T>(t.data(), rows, cols);
}
template <class T>
ConstMatrixMap<T> as_matrix(const Tensor<T>& t, std::int64_t rows, std::int64_t cols) {
  assert(rows * cols == static_cast<std::int64_t>(t.numel()));
  return ConstMatrixMap<T>(t.data(), rows, cols);
}

// A rows x cols row-major block whose rows start `stride` elements apart: a band of columns of a wider matrix,
// such as some pixel rows of every channel of one image.
template <class T>
using StridedMatrixMap = Eigen::Map<Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;
template <class T>
using ConstStridedMatrixMap = Eigen::Map<const Matrix<T>, Eigen::Unaligned, Eigen::OuterStride<>>;

template <class T>
StridedMatrixMap<T> as_strided_matrix(T* data, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  return StridedMatrixMap<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}
template <class T>
ConstStridedMatrixMap<T> as_strided_matrix(const T* data, std::int64_t rows, std::int64_t cols, std::int64_t stride) {
  return ConstStridedMatrixMap<T>(data, rows, cols, Eigen::OuterStride<>(stride));
}

// A flat array of count elements over raw storage.
template <class T>
ArrayMap<T> as_array(T* data, std::int64_t count) {
  return ArrayMap<T>(data, count);
}
template <class T>
ConstArrayMap<T> as_array(const T* data, std::int64_t count) {
  return ConstArrayMap<T>(data, count);
}

// The whole tensor as a flat array (element-wise ops, reductions).
template <class T>
ArrayMap<T> as_array(Tensor<T>& t) {
  return ArrayMap<T>(t.data(), static_cast<std::int64_t>(t.numel()));
}
template <class T>
ConstArrayMap<T> as_array(const Tensor<T>& t) {
  return ConstArrayMap<T>(t.data(), static_cast<std::int64_t>(t.numel()));
}

}  // namespace mien::cpu
