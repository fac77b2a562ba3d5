#pragma once
// CPU backend of ops/loss.hpp: softmax cross-entropy with optional class weights and label smoothing.
// Log-probabilities come from a stable log-softmax (log p = x - max - log sum exp(x - max)), so huge logits
// neither overflow nor turn the loss into log(0).
#include <cmath>
#include <cstdint>
#include <numeric>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"
#include "mien/cpu/eigen.hpp"
#include "mien/cpu/parallel.hpp"

namespace mien::cpu {

namespace detail {
// Checked serially before any parallel loop, since an exception must not leave an OpenMP region.
inline void check_labels(const char* op, const Tensor<std::int32_t>& labels, std::int64_t classes) {
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(labels.numel()); ++i)
    check_arg(labels[i] >= 0 && labels[i] < classes, op, "label ", labels[i], " of sample ", i, " is outside [0, ",
              classes, ")");
}
}  // namespace detail

template <class T>
T softmax_cross_entropy_forward(Context&, const Tensor<T>& logits, const Tensor<std::int32_t>& labels,
                                const Tensor<T>& class_weights, T smoothing, Tensor<T>& probs) {
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  detail::check_labels("softmax_cross_entropy_forward", labels, classes);
  if (rows == 0) return T(0);
  const auto x = as_matrix(logits, rows, classes);
  auto p = as_matrix(probs, rows, classes);
  const double on_label = 1.0 - static_cast<double>(smoothing);
  const double everywhere = static_cast<double>(smoothing) / static_cast<double>(classes);
  // Per-thread partial sums, added in thread order so the loss does not depend on scheduling.
  std::vector<double> partial(static_cast<std::size_t>(chunk_threads(rows, classes)), 0.0);
  parallel_chunks(rows, classes, [&](int thread, std::int64_t first, std::int64_t last) {
    double total = 0;
    for (std::int64_t i = first; i < last; ++i) {
      const T max = x.row(i).maxCoeff();
      const double log_sum = std::log((x.row(i).array() - max).exp().template cast<double>().sum());
      // log p_k = x_k - max - log_sum; the sample's loss is -(on_label log p_label + everywhere sum_k log p_k).
      const double log_p_label = static_cast<double>(x(i, labels[i]) - max) - log_sum;
      const double sum_log_p =
          (x.row(i).array() - max).template cast<double>().sum() - static_cast<double>(classes) * log_sum;
      const double weight = class_weights.empty() ? 1.0 : static_cast<double>(class_weights[labels[i]]);
      total += -weight * (on_label * log_p_label + everywhere * sum_log_p);
      p.row(i) = ((x.row(i).array() - max).template cast<double>() - log_sum).exp().template cast<T>().matrix();
    }
    partial[static_cast<std::size_t>(thread)] = total;
  });
  return static_cast<T>(std::accumulate(partial.begin(), partial.end(), 0.0) / static_cast<double>(rows));
}

template <class T>
void softmax_cross_entropy_backward(Context&, const Tensor<T>& probs, const Tensor<std::int32_t>& labels,
                                    const Tensor<T>& class_weights, T smoothing, Tensor<T>& dlogits) {
  const std::int64_t rows = probs.shape()[0], classes = probs.shape()[1];
  detail::check_labels("softmax_cross_entropy_backward", labels, classes);
  const auto p = as_matrix(probs, rows, classes);
  auto d = as_matrix(dlogits, rows, classes);
  const T everywhere = smoothing / static_cast<T>(classes);
  const T on_label = T(1) - smoothing;
  parallel_chunks(rows, classes, [&](int, std::int64_t first, std::int64_t last) {
    for (std::int64_t i = first; i < last; ++i) {
      // dL/dlogits_i = w[label_i] (p_i - q_i) / N with q_i = on_label onehot(label_i) + everywhere.
      const T scale = (class_weights.empty() ? T(1) : class_weights[labels[i]]) / static_cast<T>(rows);
      d.row(i) = ((p.row(i).array() - everywhere) * scale).matrix();
      d(i, labels[i]) -= on_label * scale;
    }
  });
}

}  // namespace mien::cpu
