#pragma once
// CUDA backend of ops/concat.hpp. Per image, y holds a's channels then b's, each one contiguous run, so an
// element of y maps to its source with one division by the per-image length (no per-channel arithmetic).
#include <cstdint>
#include <string>

#include "mien/cpu/concat.hpp"
#include "mien/core/context.hpp"
#include "mien/core/tensor.hpp"
#include "mien/kernels/register.cuh"
#include "mien/kernels/index_math.hpp"
#include "mien/kernels/launch.cuh"

namespace mien::cuda {

namespace concat_detail {

// Where element e of y [N, Ca + Cb, H, W] comes from; `a` says which input.
struct RunIndex {
  int run_a, run_b;
  FastDivmod run_y;  // run_a + run_b

  __device__ int source(int e, bool& from_a) const {
    int image, pos;
    run_y.divmod(e, image, pos);
    from_a = pos < run_a;
    return from_a ? image * run_a + pos : image * run_b + (pos - run_a);
  }
};

template <class T>
struct Forward {
  const T* a;
  const T* b;
  T* y;
  RunIndex index;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    bool from_a;
    const int src = index.source(e, from_a);
    store_vec<V>(y + e, load_vec<V>((from_a ? a : b) + src));
  }
};

template <class T>
struct Backward {
  const T* dy;
  T* da;
  T* db;
  RunIndex index;
  template <int V>
  __device__ void apply(std::int64_t pack) const {
    const int e = static_cast<int>(pack * V);
    bool to_a;
    const int dst = index.source(e, to_a);
    store_vec<V>((to_a ? da : db) + dst, load_vec<V>(dy + e));
  }
};

// Vectors of V never straddle the a/b boundary when both runs are multiples of V.
template <class T>
bool runs_vectorize(const RunIndex& index) {
  return index.run_a % vector_width<T> == 0 && index.run_b % vector_width<T> == 0;
}

}  // namespace concat_detail

template <class T>
void concat_channels_forward(Context& ctx, const Tensor<T>& a, const Tensor<T>& b, Tensor<T>& y) {
  const std::string shapes = describe_shapes({{"a", a.shape()}, {"b", b.shape()}});
  require_int32_indexing("concat_channels_forward", static_cast<std::int64_t>(y.numel()), shapes);
  const int run_a = static_cast<int>(a.shape().per_sample()), run_b = static_cast<int>(b.shape().per_sample());
  if (run_a + run_b == 0) return;
  const concat_detail::RunIndex index{run_a, run_b, FastDivmod(run_a + run_b)};
  launch_map<T>(ctx, concat_detail::Forward<T>{a.data(), b.data(), y.data(), index}, static_cast<std::int64_t>(y.numel()),
                concat_detail::runs_vectorize<T>(index) && vector_aligned(a.data(), b.data(), y.data()),
                "concat_channels_forward", shapes);
}

template <class T>
void concat_channels_backward(Context& ctx, const Tensor<T>& dy, std::int64_t /*channels_a: da's*/, Tensor<T>& da,
                              Tensor<T>& db) {
  const std::string shapes = describe_shapes({{"dy", dy.shape()}, {"da", da.shape()}});
  require_int32_indexing("concat_channels_backward", static_cast<std::int64_t>(dy.numel()), shapes);
  const int run_a = static_cast<int>(da.shape().per_sample()), run_b = static_cast<int>(db.shape().per_sample());
  if (run_a + run_b == 0) return;
  const concat_detail::RunIndex index{run_a, run_b, FastDivmod(run_a + run_b)};
  launch_map<T>(ctx, concat_detail::Backward<T>{dy.data(), da.data(), db.data(), index},
                static_cast<std::int64_t>(dy.numel()),
                concat_detail::runs_vectorize<T>(index) && vector_aligned(dy.data(), da.data(), db.data()),
                "concat_channels_backward", shapes);
}

}  // namespace mien::cuda

// Run by the ops:: functions of this family for device tensors (register.cuh).
MIEN_REGISTER_CUDA_OPS(concat, concat_channels_forward, concat_channels_backward)
