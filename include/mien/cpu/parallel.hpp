#pragma once
// Splitting independent work items (images of a batch, channel planes) over OpenMP threads. Without OpenMP the
// same code runs serially, so a plain g++ build without -fopenmp still works (and stays free of pragma warnings).
#include <algorithm>
#include <cstdint>
#if defined(_OPENMP)
#include <omp.h>
#endif

namespace mien::cpu {

// Below this many touched elements in total, waking a thread team costs more than it saves.
constexpr std::int64_t min_parallel_work = 1 << 15;

// How many threads parallel_chunks will use for `count` items of `work_per_item` elements each: every thread
// when each gets at least one item and the work pays for the team, otherwise one. With one thread the caller's
// code runs outside any active parallel region, so Eigen's own GEMM threading can take over.
inline int chunk_threads(std::int64_t count, std::int64_t work_per_item) {
#if defined(_OPENMP)
  const int max_threads = omp_get_max_threads();
  if (max_threads > 1 && count >= max_threads && count * work_per_item >= min_parallel_work) return max_threads;
#else
  (void)count;
  (void)work_per_item;
#endif
  return 1;
}

// Calls fn(thread, first, last) once per thread with a contiguous, static range [first, last) of [0, count).
// Thread indices are below chunk_threads(count, work_per_item), so callers can keep per-thread partial results
// and reduce them in thread order, which makes the result independent of scheduling.
template <class Fn>
void parallel_chunks(std::int64_t count, std::int64_t work_per_item, Fn&& fn) {
  const int threads = chunk_threads(count, work_per_item);
  if (threads == 1) {
    fn(0, std::int64_t{0}, count);
    return;
  }
#if defined(_OPENMP)
#pragma omp parallel num_threads(threads)
  {
    const std::int64_t team = omp_get_num_threads(), t = omp_get_thread_num();
    fn(static_cast<int>(t), count * t / team, count * (t + 1) / team);
  }
#endif
}

}  // namespace mien::cpu
