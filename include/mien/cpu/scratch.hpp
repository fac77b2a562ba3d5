#pragma once
// Scratch memory that outlives a call: one buffer per thread and purpose, grown when a call needs more and never
// shrunk, so that a training step does not map, fault in and zero the same megabytes again on every call.
// Fresh allocations of that size cost more than the work done in them: the F(4×4, 3×3) passes
// (cpu/conv2d_winograd_4x4.hpp) ran a 48×48 training step 12% slower than F(2×2, 3×3) with per-call buffers, and
// 7% faster with these (glibc returns large freed blocks to the system; docs/benchmarks.md).
//
// The contents are left from the previous call: callers overwrite what they read, or clear it themselves. Each
// OpenMP thread has its own buffers (the pool's threads live as long as the process), and a buffer must not be
// used by two calls at once on one thread, hence one Purpose type per use.
#include <cstddef>
#include <vector>

namespace mien::cpu {

template <class Purpose, class T>
T* thread_scratch(std::size_t count) {
  thread_local std::vector<T> buffer;
  if (buffer.size() < count) {
    buffer.clear();
    buffer.shrink_to_fit();
    buffer.resize(count);
  }
  return buffer.data();
}

}  // namespace mien::cpu
