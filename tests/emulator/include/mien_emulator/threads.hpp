#pragma once
// mien's CUDA emulator, part 2: kernel launches. A launch runs its blocks one after another on the calling
// thread; within a block every CUDA thread is a fiber (fiber.hpp) with its own stack, switched only where CUDA
// threads synchronize: __syncthreads waits for every live thread of the block, __syncwarp and the shuffles for
// every live lane of the warp. Between those points the fibers run one at a time, in thread order for even
// blocks and in reverse order for odd ones, so that a read of shared memory that lacks its barrier sees stale
// values in one of the two orders. A barrier that can never be released (threads of one warp waiting at
// __syncwarp while the rest of the block waits at __syncthreads with them missing) aborts with a message, as
// do launch configurations CUDA rejects (those set cudaErrorInvalidConfiguration instead, as CUDA does).
#include <signal.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <memory>
#include <type_traits>
#include <vector>

#include "mien_emulator/fiber.hpp"
#include "mien_emulator/runtime.hpp"

inline thread_local uint3 threadIdx{0, 0, 0};
inline thread_local uint3 blockIdx{0, 0, 0};
inline thread_local dim3 blockDim{1, 1, 1};
inline thread_local dim3 gridDim{1, 1, 1};
constexpr int warpSize = 32;

namespace mien_emulator {

enum class FiberState { runnable, at_block_barrier, at_warp_barrier, done };

constexpr std::size_t fiber_stack_bytes = std::size_t{128} << 10;

class BlockRunner {
 public:
  // Runs `body` once per thread of one block (threadIdx, blockIdx, blockDim and gridDim set by the caller,
  // except threadIdx, which is set here per fiber).
  void run(const std::function<void()>& body, int threads, bool reverse) {
    body_ = &body;
    threads_ = threads;
    while (static_cast<int>(fibers_.size()) < threads) fibers_.push_back(std::make_unique<Fiber>());
    exchange_.assign(static_cast<std::size_t>(threads), Slot{});
    for (int t = 0; t < threads; ++t) {
      Fiber& f = *fibers_[t];
      f.state = FiberState::runnable;
      f.context.prepare(f.stack.get(), fiber_stack_bytes, &BlockRunner::entry);
    }
    for (;;) {
      for (int i = 0; i < threads; ++i) {
        const int t = reverse ? threads - 1 - i : i;
        Fiber& f = *fibers_[t];
        if (f.state != FiberState::runnable) continue;
        current_ = t;
        set_thread_index(t);
        ExecutionContext::jump(scheduler_, f.context);
      }
      if (!release_barriers()) break;
    }
  }

  // Called from a fiber: waits until the barrier of the given kind releases it.
  void wait(FiberState barrier) {
    Fiber& f = *fibers_[current_];
    f.state = barrier;
    ExecutionContext::jump(f.context, scheduler_);
  }

  int current() const { return current_; }
  int threads() const { return threads_; }

  // Shuffle storage: each thread's published value (warps are runs of 32 threads in linear thread order).
  struct Slot {
    alignas(16) unsigned char bytes[16];
  };
  Slot& slot(int t) { return exchange_[static_cast<std::size_t>(t)]; }

 private:
  struct Fiber {
    ExecutionContext context;
    std::unique_ptr<char[]> stack{new char[fiber_stack_bytes]};
    FiberState state = FiberState::done;
  };

  static void entry();

  void set_thread_index(int t) const {
    threadIdx.x = static_cast<unsigned>(t) % blockDim.x;
    threadIdx.y = static_cast<unsigned>(t) / blockDim.x % blockDim.y;
    threadIdx.z = static_cast<unsigned>(t) / (blockDim.x * blockDim.y);
  }

  // After a pass in which no fiber could run on: releases whole warps waiting at a warp barrier, or else the
  // block waiting at __syncthreads. Returns false when every fiber is done.
  bool release_barriers() {
    bool any_live = false, released = false;
    for (int w = 0; w * 32 < threads_; ++w) {
      const int end = (w + 1) * 32 < threads_ ? (w + 1) * 32 : threads_;
      bool all_at_warp = true, any_at_warp = false;
      for (int t = w * 32; t < end; ++t) {
        const FiberState s = fibers_[t]->state;
        if (s == FiberState::done) continue;
        any_live = true;
        any_at_warp |= s == FiberState::at_warp_barrier;
        all_at_warp &= s == FiberState::at_warp_barrier;
      }
      if (any_at_warp && all_at_warp) {
        for (int t = w * 32; t < end; ++t)
          if (fibers_[t]->state == FiberState::at_warp_barrier) fibers_[t]->state = FiberState::runnable;
        released = true;
      }
    }
    if (!any_live) return false;
    if (released) return true;
    for (int t = 0; t < threads_; ++t) {
      const FiberState s = fibers_[t]->state;
      if (s != FiberState::done && s != FiberState::at_block_barrier) deadlock();
    }
    for (int t = 0; t < threads_; ++t)
      if (fibers_[t]->state == FiberState::at_block_barrier) fibers_[t]->state = FiberState::runnable;
    return true;
  }

  [[noreturn]] void deadlock() const {
    std::fprintf(stderr,
                 "mien CUDA emulator: block (%u, %u, %u) cannot continue: some threads wait at __syncthreads while "
                 "others wait at a warp-level barrier whose warp is not all there\n",
                 blockIdx.x, blockIdx.y, blockIdx.z);
    std::abort();
  }

  const std::function<void()>* body_ = nullptr;
  int threads_ = 0, current_ = 0;
  std::vector<std::unique_ptr<Fiber>> fibers_;
  std::vector<Slot> exchange_;
  ExecutionContext scheduler_;
};

inline BlockRunner*& active_runner() {
  thread_local BlockRunner* runner = nullptr;
  return runner;
}

inline void BlockRunner::entry() {
  BlockRunner& r = *active_runner();
  ExecutionContext::started(r.scheduler_);
  try {
    (*r.body_)();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mien CUDA emulator: a kernel thread threw: %s\n", e.what());
    std::abort();
  }
  Fiber& f = *r.fibers_[r.current_];
  f.state = FiberState::done;
  ExecutionContext::leave(f.context, r.scheduler_);  // never resumed: the next block prepares the fiber anew
}

// A kernel thread's fault (most often a read or write into the guard page after a device buffer) is reported
// with the thread and block that made it before the process dies.
inline void report_fault(int sig, siginfo_t* info, void*) {
  char msg[256];
  const int n = std::snprintf(msg, sizeof msg,
                              "mien CUDA emulator: %s at address %p in kernel thread (%u, %u, %u) of block (%u, %u, "
                              "%u): an out-of-bounds device access\n",
                              sig == SIGSEGV ? "SIGSEGV" : "SIGBUS", info->si_addr, threadIdx.x, threadIdx.y,
                              threadIdx.z, blockIdx.x, blockIdx.y, blockIdx.z);
  if (n > 0) (void)!write(2, msg, static_cast<std::size_t>(n));
  signal(sig, SIG_DFL);
  raise(sig);
}

inline void install_fault_report() {
  static const bool installed = [] {
    // The handler runs on its own stack: the faulting fiber's may be the problem.
    static std::vector<char> alt(1 << 16);
    stack_t ss{};
    ss.ss_sp = alt.data();
    ss.ss_size = alt.size();
    sigaltstack(&ss, nullptr);
    struct sigaction sa {};
    sa.sa_sigaction = report_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
    sigaction(SIGSEGV, &sa, nullptr);
    sigaction(SIGBUS, &sa, nullptr);
    return true;
  }();
  (void)installed;
}

// Runs a grid. The configuration checks are CUDA's: at most 1024 threads per block, block extents within
// (1024, 1024, 64), grid y and z within 65535.
inline void launch(dim3 grid, dim3 block, const std::function<void()>& body) {
  const std::uint64_t threads = std::uint64_t{block.x} * block.y * block.z;
  if (threads == 0 || threads > 1024 || block.x > 1024 || block.y > 1024 || block.z > 64 || grid.x == 0 ||
      grid.y == 0 || grid.z == 0 || grid.y > 65535 || grid.z > 65535) {
    fail(cudaErrorInvalidConfiguration);
    return;
  }
  install_fault_report();
  thread_local BlockRunner runner;
  BlockRunner* const outer = active_runner();
  if (outer) {
    std::fprintf(stderr,
                 "mien CUDA emulator: a kernel launched another kernel (dynamic parallelism is not emulated)\n");
    std::abort();
  }
  active_runner() = &runner;
  gridDim = grid;
  blockDim = block;
  std::uint64_t linear = 0;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x, ++linear) {
        blockIdx = uint3{x, y, z};
        runner.run(body, static_cast<int>(threads), linear % 2 == 1);
      }
  active_runner() = nullptr;
  threadIdx = uint3{0, 0, 0};
  blockIdx = uint3{0, 0, 0};
}

// A GPU faults on a vector access that is not aligned to its size; x86 would not, so the emulator checks.
inline void require_aligned(const void* p, std::size_t alignment) {
  if (reinterpret_cast<std::uintptr_t>(p) % alignment == 0) return;
  std::fprintf(stderr,
               "mien CUDA emulator: misaligned %zu-byte vector access at %p in kernel thread (%u, %u, %u) of block "
               "(%u, %u, %u)\n",
               alignment, p, threadIdx.x, threadIdx.y, threadIdx.z, blockIdx.x, blockIdx.y, blockIdx.z);
  std::abort();
}

inline BlockRunner& runner_in_kernel(const char* what) {
  BlockRunner* r = active_runner();
  if (!r) {
    std::fprintf(stderr, "mien CUDA emulator: %s called outside a kernel\n", what);
    std::abort();
  }
  return *r;
}

inline void require_full_mask(unsigned mask, const char* what) {
  if (mask != 0xffffffffu) {
    std::fprintf(stderr, "mien CUDA emulator: %s with a partial lane mask (%#x) is not emulated\n", what, mask);
    std::abort();
  }
}

// Lane `src` of the calling thread's warp's value of v (every live lane of the warp must call it).
template <class T>
T shuffle_from(unsigned mask, T v, int src, const char* what) {
  static_assert(std::is_trivially_copyable_v<T> && sizeof(T) <= 16, "shuffled values are 16 bytes at most");
  require_full_mask(mask, what);
  BlockRunner& r = runner_in_kernel(what);
  const int me = r.current(), warp_base = me / 32 * 32;
  std::memcpy(r.slot(me).bytes, &v, sizeof(T));
  r.wait(FiberState::at_warp_barrier);  // every lane has published
  const int source = warp_base + src;
  T out = v;
  if (source < r.threads()) std::memcpy(&out, r.slot(source).bytes, sizeof(T));
  r.wait(FiberState::at_warp_barrier);  // every lane has read before any publishes again
  return out;
}

}  // namespace mien_emulator

inline void __syncthreads() {
  mien_emulator::runner_in_kernel("__syncthreads").wait(mien_emulator::FiberState::at_block_barrier);
}

inline void __syncwarp(unsigned mask = 0xffffffffu) {
  mien_emulator::require_full_mask(mask, "__syncwarp");
  mien_emulator::runner_in_kernel("__syncwarp").wait(mien_emulator::FiberState::at_warp_barrier);
}

template <class T>
T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
  const int lane = mien_emulator::runner_in_kernel("__shfl_xor_sync").current() % 32;
  const int src = ((lane ^ lane_mask) & (width - 1)) | (lane & ~(width - 1));
  return mien_emulator::shuffle_from(mask, v, src, "__shfl_xor_sync");
}

template <class T>
T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
  const int lane = mien_emulator::runner_in_kernel("__shfl_down_sync").current() % 32;
  const int within = lane % width;
  const int src = within + static_cast<int>(delta) < width ? lane + static_cast<int>(delta) : lane;
  return mien_emulator::shuffle_from(mask, v, src, "__shfl_down_sync");
}

// Fibers of one block never run at the same time, so read-modify-write is atomic here.
template <class T>
T atomicAdd(T* address, T value) {
  const T old = *address;
  *address = old + value;
  return old;
}
template <class T>
T atomicMin(T* address, T value) {
  const T old = *address;
  if (value < old) *address = value;
  return old;
}

// Device math that CUDA declares in the global namespace and <cmath> keeps in std.
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
using std::isfinite;
using std::isinf;
using std::isnan;
