#pragma once
// CUDA backend of ops/loss.hpp: softmax cross-entropy with class weights and label smoothing.
//
// Forward: one warp per row computes the stable log-softmax (log p = x - max - log Σ exp(x - max), the sums in
// double as on the CPU), writes the probabilities and the row's weighted loss; a single block then adds the
// rows in order (deterministic) and the total is read back. Labels outside [0, K) are recorded on the device
// (the first offending row) and reported after the kernels, with the CPU's message.
#include <cuda_runtime.h>

#include <cstdint>
#include <string>

#include "mien/cpu/loss.hpp"
#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/device_math.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"
#include "mien/kernels/reduce.cuh"

namespace mien::cuda {

namespace loss_detail {

constexpr int rows_per_block = 8;  // one warp per row

template <class T>
__global__ void cross_entropy_rows_kernel(const T* __restrict__ logits, const std::int32_t* __restrict__ labels,
                                          const T* __restrict__ class_weights, double on_label, double everywhere,
                                          int rows, int classes, T* __restrict__ probs, double* __restrict__ row_loss,
                                          int* __restrict__ first_bad_row) {
  const int row = static_cast<int>(blockIdx.x) * rows_per_block + static_cast<int>(threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (row >= rows) return;
  const std::int32_t label = labels[row];
  if (label < 0 || label >= classes) {
    if (lane == 0) {
      atomicMin(first_bad_row, row);
      row_loss[row] = 0.0;
    }
    return;
  }
  const T* x = logits + static_cast<std::int64_t>(row) * classes;
  T largest = x[0];
  for (int k = lane; k < classes; k += 32) largest = x[k] > largest ? x[k] : largest;
  largest = warp_allreduce_max(largest);
  double sum_exp = 0, sum_shifted = 0;
  for (int k = lane; k < classes; k += 32) {
    const T shifted = x[k] - largest;
    sum_exp += static_cast<double>(dev_exp(shifted));
    sum_shifted += static_cast<double>(shifted);
  }
  sum_exp = warp_allreduce_sum(sum_exp);
  sum_shifted = warp_allreduce_sum(sum_shifted);
  const double log_sum = log(sum_exp);
  T* p = probs + static_cast<std::int64_t>(row) * classes;
  for (int k = lane; k < classes; k += 32) p[k] = static_cast<T>(exp(static_cast<double>(x[k] - largest) - log_sum));
  if (lane == 0) {
    const double log_p_label = static_cast<double>(x[label] - largest) - log_sum;
    const double sum_log_p = sum_shifted - static_cast<double>(classes) * log_sum;
    const double weight = class_weights ? static_cast<double>(class_weights[label]) : 1.0;
    row_loss[row] = -weight * (on_label * log_p_label + everywhere * sum_log_p);
  }
}

constexpr int sum_threads = 256;

// *total = Σ row_loss / rows, by one block in a fixed order. (A template, so that the header can define it in
// every translation unit.)
template <class Acc>
__global__ void mean_of_rows_kernel(const Acc* __restrict__ row_loss, int rows, Acc* __restrict__ total) {
  Acc acc[1] = {Acc(0)};
  for (int i = static_cast<int>(threadIdx.x); i < rows; i += static_cast<int>(blockDim.x)) acc[0] += row_loss[i];
  block_sum<1>(acc);
  if (threadIdx.x == 0) *total = acc[0] / rows;
}

// dlogits = w[label] (p - q) / N, q = on_label onehot(label) + everywhere.
template <class T>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ probs, const std::int32_t* __restrict__ labels,
                                              const T* __restrict__ class_weights, T on_label, T everywhere, int rows,
                                              FastDivmod classes, T* __restrict__ dlogits,
                                              int* __restrict__ first_bad_row) {
  const int count = rows * classes.divisor();
  for (int e = static_cast<int>(blockIdx.x * blockDim.x + threadIdx.x); e < count;
       e += static_cast<int>(gridDim.x * blockDim.x)) {
    int row, k;
    classes.divmod(e, row, k);
    const std::int32_t label = labels[row];
    if (label < 0 || label >= classes.divisor()) {
      atomicMin(first_bad_row, row);
      continue;
    }
    const T scale = (class_weights ? class_weights[label] : T(1)) / static_cast<T>(rows);
    T d = (probs[e] - everywhere) * scale;
    if (k == label) d -= on_label * scale;
    dlogits[e] = d;
  }
}

// Device scratch of the loss: the bad-row marker, the total, and one loss per row.
struct Scratch {
  int* first_bad_row;
  double* total;
  double* row_loss;
};

inline Scratch scratch(Context& ctx, int rows, const char* op) {
  char* base = static_cast<char*>(device_state(ctx).workspace(16 + (static_cast<std::size_t>(rows) + 1) * sizeof(double), op));
  return Scratch{reinterpret_cast<int*>(base), reinterpret_cast<double*>(base + 8), reinterpret_cast<double*>(base + 16)};
}

// Marks "no bad row yet" (every byte 0x7f: a value above any row index), on the stream.
inline void reset_bad_row(Context& ctx, int* first_bad_row, const char* op) {
  check(cudaMemsetAsync(first_bad_row, 0x7f, sizeof(int), stream_of(ctx)), op, "resetting the label check");
}

// Throws the CPU backend's message if a row had a label outside [0, classes).
inline void report_bad_label(int bad_row, int rows, const Tensor<std::int32_t>& labels, int classes, const char* op) {
  if (bad_row >= rows) return;
  std::int32_t label = 0;
  check(cudaMemcpy(&label, labels.data() + bad_row, sizeof(label), cudaMemcpyDeviceToHost), op, "reading a label");
  throw InvalidArgument(::mien::detail::concat(op, ": label ", label, " of sample ", bad_row, " is outside [0, ",
                                               classes, ")"));
}

}  // namespace loss_detail

template <class T>
T softmax_cross_entropy_forward(Context& ctx, const Tensor<T>& logits, const Tensor<std::int32_t>& labels,
                                const Tensor<T>& class_weights, T smoothing, Tensor<T>& probs) {
  using namespace loss_detail;
  const char* op = "softmax_cross_entropy_forward";
  const int rows = static_cast<int>(logits.shape()[0]), classes = static_cast<int>(logits.shape()[1]);
  if (rows == 0) return T(0);
  const std::string shapes = describe_shapes({{"logits", logits.shape()}});
  require_int32_indexing(op, static_cast<std::int64_t>(logits.numel()), shapes);
  check_arg(class_weights.empty() || class_weights.device() == Device::cuda, op,
            "class weights must be on the same device as the logits");
  const cudaStream_t stream = stream_of(ctx);
  const Scratch s = scratch(ctx, rows, op);
  reset_bad_row(ctx, s.first_bad_row, op);
  const double on_label = 1.0 - static_cast<double>(smoothing);
  const double everywhere = static_cast<double>(smoothing) / static_cast<double>(classes);
  launch_kernel(cross_entropy_rows_kernel<T>, ceil_div(rows, rows_per_block), 32 * rows_per_block, stream,
                logits.data(), labels.data(), class_weights.empty() ? nullptr : class_weights.data(), on_label,
                everywhere, rows, classes, probs.data(), s.row_loss, s.first_bad_row);
  check_kernel(ctx, op, shapes);
  launch_kernel(mean_of_rows_kernel<double>, 1, sum_threads, stream, s.row_loss, rows, s.total);
  check_kernel(ctx, op, shapes);
  struct {
    int bad_row;
    int unused;
    double total;
  } host{};
  static_assert(sizeof(host) == 16, "mirrors the scratch layout");
  check(cudaMemcpyAsync(&host, s.first_bad_row, sizeof(host), cudaMemcpyDeviceToHost, stream), op, shapes);
  check(cudaStreamSynchronize(stream), op, shapes);
  report_bad_label(host.bad_row, rows, labels, classes, op);
  return static_cast<T>(host.total);
}

template <class T>
void softmax_cross_entropy_backward(Context& ctx, const Tensor<T>& probs, const Tensor<std::int32_t>& labels,
                                    const Tensor<T>& class_weights, T smoothing, Tensor<T>& dlogits) {
  using namespace loss_detail;
  const char* op = "softmax_cross_entropy_backward";
  const int rows = static_cast<int>(probs.shape()[0]), classes = static_cast<int>(probs.shape()[1]);
  if (rows == 0 || classes == 0) return;
  const std::string shapes = describe_shapes({{"probs", probs.shape()}});
  require_int32_indexing(op, static_cast<std::int64_t>(probs.numel()), shapes);
  check_arg(class_weights.empty() || class_weights.device() == Device::cuda, op,
            "class weights must be on the same device as the probabilities");
  const cudaStream_t stream = stream_of(ctx);
  const Scratch s = scratch(ctx, 0, op);
  reset_bad_row(ctx, s.first_bad_row, op);
  const int count = rows * classes;
  launch_kernel(cross_entropy_backward_kernel<T>, grid_blocks(ctx, count), default_threads, stream, probs.data(),
                labels.data(), class_weights.empty() ? nullptr : class_weights.data(), T(1) - smoothing,
                smoothing / static_cast<T>(classes), rows, FastDivmod(classes), dlogits.data(), s.first_bad_row);
  check_kernel(ctx, op, shapes);
  int bad_row = 0;
  check(cudaMemcpyAsync(&bad_row, s.first_bad_row, sizeof(bad_row), cudaMemcpyDeviceToHost, stream), op, shapes);
  check(cudaStreamSynchronize(stream), op, shapes);
  report_bad_label(bad_row, rows, labels, classes, op);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(loss, softmax_cross_entropy_forward, softmax_cross_entropy_backward)
