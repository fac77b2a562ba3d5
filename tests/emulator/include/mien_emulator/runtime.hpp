#pragma once
// mien's CUDA emulator, part 1: the CUDA runtime API calls mien makes, served from host memory, so that the
// CUDA backend's host code and kernels run, and are tested, on machines without a GPU (tests/emulator).
//
// Device memory is host memory between two guard pages, so that a kernel that reads or writes past either end of
// a buffer faults at once (the fault handler names the kernel thread). A buffer ends exactly at the guard after
// it (to 16 bytes, for vector access); with MIEN_EMULATOR_GUARD=front it starts exactly at the guard before it
// instead, so that running the tests in both modes checks both ends. Memory is filled with 0xff bytes (NaN as
// floats) when allocated, as real device memory is never zeroed: results that depend on memory nobody wrote come
// out NaN. Copies check that the pointers are on the sides their direction names. Streams run everything
// synchronously. The "device" has emulated_total_memory bytes, so out-of-memory paths run too.
#include <sys/mman.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#define __host__
#define __device__
#define __global__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __align__(n) __attribute__((aligned(n)))
// Shared memory: one block runs at a time, so a function-local static is what every thread of the block sees.
#define __shared__ static

struct uint3 {
  unsigned int x, y, z;
};
struct dim3 {
  unsigned int x, y, z;
  constexpr dim3(unsigned int vx = 1, unsigned int vy = 1, unsigned int vz = 1) : x(vx), y(vy), z(vz) {}
};

enum cudaError_t {
  cudaSuccess = 0,
  cudaErrorInvalidValue = 1,
  cudaErrorMemoryAllocation = 2,
  cudaErrorInvalidConfiguration = 9,
  cudaErrorInvalidDevice = 101,
};
enum cudaMemcpyKind {
  cudaMemcpyHostToHost = 0,
  cudaMemcpyHostToDevice = 1,
  cudaMemcpyDeviceToHost = 2,
  cudaMemcpyDeviceToDevice = 3,
  cudaMemcpyDefault = 4
};
enum cudaDeviceAttr { cudaDevAttrMultiProcessorCount = 16 };

struct CUstream_st {
  int unused;
};
using cudaStream_t = CUstream_st*;

struct cudaDeviceProp {
  char name[256];
  std::size_t totalGlobalMem;
  int major, minor;
  int multiProcessorCount;
  int maxThreadsPerBlock;
};

namespace mien_emulator {

// Small, so that grid-stride kernels run few blocks; tests that size grids from it still see several.
constexpr int multiprocessors = 4;
constexpr std::size_t emulated_total_memory = std::size_t{8} << 30;

inline cudaError_t& last_error() {
  thread_local cudaError_t error = cudaSuccess;
  return error;
}
inline cudaError_t fail(cudaError_t e) {
  last_error() = e;
  return e;
}

// Every live allocation: user pointer -> (user bytes, mapping base, mapping bytes).
struct Allocation {
  std::size_t bytes;
  void* base;
  std::size_t mapped;
};
struct Allocations {
  std::mutex mutex;
  std::map<std::uintptr_t, Allocation> live;
  std::size_t in_use = 0;
};
inline Allocations& allocations() {
  static Allocations a;
  return a;
}

// MIEN_EMULATOR_GUARD=front: buffers start at their guard page rather than end at it.
inline bool guard_front() {
  static const bool front = [] {
    const char* v = std::getenv("MIEN_EMULATOR_GUARD");
    return v && std::strcmp(v, "front") == 0;
  }();
  return front;
}

inline std::size_t page_size() {
  static const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
  return page;
}

// True when [p, p + bytes) lies inside one live allocation.
inline bool is_device_range(const void* p, std::size_t bytes) {
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mutex);
  const auto u = reinterpret_cast<std::uintptr_t>(p);
  auto it = a.live.upper_bound(u);
  if (it == a.live.begin()) return false;
  --it;
  return u >= it->first && u + bytes <= it->first + it->second.bytes;
}

inline cudaError_t check_copy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  const bool dst_dev = is_device_range(dst, bytes), src_dev = is_device_range(src, bytes);
  bool ok = true;
  switch (kind) {
    case cudaMemcpyHostToHost:
      ok = !dst_dev && !src_dev;
      break;
    case cudaMemcpyHostToDevice:
      ok = dst_dev && !src_dev;
      break;
    case cudaMemcpyDeviceToHost:
      ok = !dst_dev && src_dev;
      break;
    case cudaMemcpyDeviceToDevice:
      ok = dst_dev && src_dev;
      break;
    case cudaMemcpyDefault:
      break;
  }
  return ok ? cudaSuccess : fail(cudaErrorInvalidValue);
}

}  // namespace mien_emulator

inline cudaError_t cudaGetLastError() {
  const cudaError_t e = mien_emulator::last_error();
  mien_emulator::last_error() = cudaSuccess;
  return e;
}
inline cudaError_t cudaPeekAtLastError() { return mien_emulator::last_error(); }

namespace mien_emulator {

// A status code the emulator returns, with its enum name and its library's message (the runtime's and cuBLAS's
// name and message functions read one table each, so the two cannot drift apart).
template <class Code>
struct StatusText {
  Code code;
  const char* name;
  const char* message;
};

template <class Code, std::size_t N>
const StatusText<Code>* find_status(const StatusText<Code> (&table)[N], Code code) {
  for (const StatusText<Code>& row : table)
    if (row.code == code) return &row;
  return nullptr;
}

inline constexpr StatusText<cudaError_t> cuda_errors[] = {
    {cudaSuccess, "cudaSuccess", "no error"},
    {cudaErrorInvalidValue, "cudaErrorInvalidValue", "invalid argument"},
    {cudaErrorMemoryAllocation, "cudaErrorMemoryAllocation", "out of memory"},
    {cudaErrorInvalidConfiguration, "cudaErrorInvalidConfiguration", "invalid configuration argument"},
    {cudaErrorInvalidDevice, "cudaErrorInvalidDevice", "invalid device ordinal"},
};

}  // namespace mien_emulator

inline const char* cudaGetErrorName(cudaError_t e) {
  const auto* row = mien_emulator::find_status(mien_emulator::cuda_errors, e);
  return row ? row->name : "cudaErrorUnknown";
}
inline const char* cudaGetErrorString(cudaError_t e) {
  const auto* row = mien_emulator::find_status(mien_emulator::cuda_errors, e);
  return row ? row->message : "unknown error";
}

inline cudaError_t cudaGetDeviceCount(int* count) {
  *count = 1;
  return cudaSuccess;
}
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}
inline cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : mien_emulator::fail(cudaErrorInvalidDevice);
}
inline cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (device != 0) return mien_emulator::fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::strncpy(prop->name, "mien CPU emulator", sizeof(prop->name) - 1);
  prop->totalGlobalMem = mien_emulator::emulated_total_memory;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = mien_emulator::multiprocessors;
  prop->maxThreadsPerBlock = 1024;
  return cudaSuccess;
}
inline cudaError_t cudaDeviceGetAttribute(int* value, cudaDeviceAttr attr, int device) {
  if (device != 0) return mien_emulator::fail(cudaErrorInvalidDevice);
  if (attr != cudaDevAttrMultiProcessorCount) return mien_emulator::fail(cudaErrorInvalidValue);
  *value = mien_emulator::multiprocessors;
  return cudaSuccess;
}

inline cudaError_t cudaMalloc(void** ptr, std::size_t bytes) {
  using namespace mien_emulator;
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mutex);
  if (bytes > emulated_total_memory - a.in_use) return fail(cudaErrorMemoryAllocation);
  const std::size_t page = page_size(), padded = (bytes + 15) & ~std::size_t{15};
  const std::size_t mapped = (padded + page - 1) / page * page + 2 * page;
  void* base = mmap(nullptr, mapped, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED) return fail(cudaErrorMemoryAllocation);
  char* const first = static_cast<char*>(base) + page;  // after the front guard
  char* const back_guard = static_cast<char*>(base) + mapped - page;
  mprotect(base, page, PROT_NONE);
  mprotect(back_guard, page, PROT_NONE);
  char* const user = guard_front() ? first : back_guard - padded;
  std::memset(user, 0xff, bytes);
  a.live[reinterpret_cast<std::uintptr_t>(user)] = Allocation{bytes, base, mapped};
  a.in_use += bytes;
  *ptr = user;
  return cudaSuccess;
}

inline cudaError_t cudaFree(void* ptr) {
  using namespace mien_emulator;
  if (!ptr) return cudaSuccess;
  Allocations& a = allocations();
  std::lock_guard<std::mutex> lock(a.mutex);
  const auto it = a.live.find(reinterpret_cast<std::uintptr_t>(ptr));
  if (it == a.live.end()) return fail(cudaErrorInvalidValue);
  munmap(it->second.base, it->second.mapped);
  a.in_use -= it->second.bytes;
  a.live.erase(it);
  return cudaSuccess;
}

inline cudaError_t cudaMemGetInfo(std::size_t* free_bytes, std::size_t* total_bytes) {
  using namespace mien_emulator;
  std::lock_guard<std::mutex> lock(allocations().mutex);
  *total_bytes = emulated_total_memory;
  *free_bytes = emulated_total_memory - allocations().in_use;
  return cudaSuccess;
}

inline cudaError_t cudaMemcpy(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind) {
  if (const cudaError_t e = mien_emulator::check_copy(dst, src, bytes, kind); e != cudaSuccess) return e;
  if (bytes) std::memmove(dst, src, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemcpyAsync(void* dst, const void* src, std::size_t bytes, cudaMemcpyKind kind,
                                   cudaStream_t = nullptr) {
  return cudaMemcpy(dst, src, bytes, kind);
}
inline cudaError_t cudaMemset(void* dst, int value, std::size_t bytes) {
  if (bytes == 0) return cudaSuccess;
  if (!mien_emulator::is_device_range(dst, bytes)) return mien_emulator::fail(cudaErrorInvalidValue);
  std::memset(dst, value, bytes);
  return cudaSuccess;
}
inline cudaError_t cudaMemsetAsync(void* dst, int value, std::size_t bytes, cudaStream_t = nullptr) {
  return cudaMemset(dst, value, bytes);
}

inline cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  *stream = new CUstream_st{0};
  return cudaSuccess;
}
inline cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  delete stream;
  return cudaSuccess;
}
inline cudaError_t cudaStreamSynchronize(cudaStream_t) { return cudaSuccess; }
inline cudaError_t cudaDeviceSynchronize() { return cudaSuccess; }

// Events: everything has finished when recorded (streams are synchronous), so an event is a host time stamp.
struct CUevent_st {
  std::chrono::steady_clock::time_point when{};
  bool recorded = false;
};
using cudaEvent_t = CUevent_st*;
inline cudaError_t cudaEventCreate(cudaEvent_t* event) {
  *event = new CUevent_st{};
  return cudaSuccess;
}
inline cudaError_t cudaEventDestroy(cudaEvent_t event) {
  delete event;
  return cudaSuccess;
}
inline cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t = nullptr) {
  if (!event) return mien_emulator::fail(cudaErrorInvalidValue);
  event->when = std::chrono::steady_clock::now();
  event->recorded = true;
  return cudaSuccess;
}
inline cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return event ? cudaSuccess : mien_emulator::fail(cudaErrorInvalidValue);
}
inline cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t stop) {
  if (!start || !stop || !start->recorded || !stop->recorded) return mien_emulator::fail(cudaErrorInvalidValue);
  *ms = std::chrono::duration<float, std::milli>(stop->when - start->when).count();
  return cudaSuccess;
}
