// The emulator's own guarantees, which the emulated GPU tests rely on: barriers and shuffles behave as on a GPU,
// a missing barrier is visible, device buffers fault just past either end, new device memory reads as NaN, and
// copies in the wrong direction are refused.
#include <mma.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <vector>

#include "mien/kernels/launch.cuh"

namespace {

constexpr int block = 64;

// out[b * block + t] = the value thread t + 1 of block b stored in shared memory, read after a barrier.
__global__ void rotate_with_barrier(int* out) {
  __shared__ int values[block];
  const int t = static_cast<int>(threadIdx.x);
  values[t] = static_cast<int>(blockIdx.x) * 1000 + t;
  __syncthreads();
  out[blockIdx.x * block + t] = values[(t + 1) % block];
}

// The same without the barrier: in one of the two thread orders, thread t reads before thread t + 1 wrote.
__global__ void rotate_without_barrier(int* out) {
  __shared__ int values[block];
  const int t = static_cast<int>(threadIdx.x);
  values[t] = static_cast<int>(blockIdx.x) * 1000 + t;
  out[blockIdx.x * block + t] = values[(t + 1) % block];
}

__global__ void shuffles(int* xor_out, int* down_out) {
  const int t = static_cast<int>(threadIdx.x);
  xor_out[t] = __shfl_xor_sync(0xffffffffu, t * 10, 5);
  down_out[t] = __shfl_down_sync(0xffffffffu, t * 10, 3);
}

std::vector<int> run_rotation(void (*kernel)(int*)) {
  int* dev = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&dev), 2 * block * sizeof(int)) == cudaSuccess);
  mien::cuda::launch_kernel(kernel, 2, block, nullptr, dev);
  std::vector<int> host(2 * block);
  REQUIRE(cudaMemcpy(host.data(), dev, host.size() * sizeof(int), cudaMemcpyDeviceToHost) == cudaSuccess);
  cudaFree(dev);
  return host;
}

// Runs f in a child process; true when the child died of a memory fault. The child drops every handler (Catch2's,
// AddressSanitizer's, the emulator's), so the fault kills it quietly.
template <class F>
bool faults(F&& f) {
  const pid_t pid = fork();
  if (pid == 0) {
    std::signal(SIGSEGV, SIG_DFL);
    std::signal(SIGBUS, SIG_DFL);
    f();
    std::_Exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFSIGNALED(status) && (WTERMSIG(status) == SIGSEGV || WTERMSIG(status) == SIGBUS);
}

}  // namespace

TEST_CASE("The emulator's barriers order shared memory, and a missing one shows", "[emulator]") {
  const std::vector<int> ok = run_rotation(rotate_with_barrier);
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < block; ++t) CHECK(ok[b * block + t] == b * 1000 + (t + 1) % block);
  const std::vector<int> racy = run_rotation(rotate_without_barrier);
  int stale = 0;
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < block; ++t) stale += racy[b * block + t] != b * 1000 + (t + 1) % block;
  CHECK(stale > 0);
}

TEST_CASE("The emulator's shuffles exchange values between lanes", "[emulator]") {
  int *x = nullptr, *d = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&x), 64 * sizeof(int)) == cudaSuccess);
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&d), 64 * sizeof(int)) == cudaSuccess);
  mien::cuda::launch_kernel(shuffles, 1, 64, nullptr, x, d);
  std::vector<int> xs(64), ds(64);
  cudaMemcpy(xs.data(), x, 64 * sizeof(int), cudaMemcpyDeviceToHost);
  cudaMemcpy(ds.data(), d, 64 * sizeof(int), cudaMemcpyDeviceToHost);
  for (int t = 0; t < 64; ++t) {
    const int lane = t % 32, base = t - lane;
    CHECK(xs[t] == (base + (lane ^ 5)) * 10);
    CHECK(ds[t] == (lane + 3 < 32 ? t + 3 : t) * 10);  // lanes past the warp's end keep their own value
  }
  cudaFree(x);
  cudaFree(d);
}

TEST_CASE("Emulated device memory starts as NaN and faults just outside its buffer", "[emulator]") {
  float* p = nullptr;
  const int n = 100;  // 400 bytes: a multiple of 16, so the buffer ends exactly at the guard page
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&p), n * sizeof(float)) == cudaSuccess);
  std::vector<float> host(n);
  REQUIRE(cudaMemcpy(host.data(), p, n * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  for (float v : host) CHECK(std::isnan(v));
  // One element past the end (buffers end at the guard), or one before the start with MIEN_EMULATOR_GUARD=front.
  volatile float* outside = mien_emulator::guard_front() ? p - 1 : p + n;
  CHECK(faults([&] { (void)*outside; }));
  CHECK_FALSE(faults([&] {
    (void)p[n - 1];
    (void)p[0];
  }));
  cudaFree(p);
}

TEST_CASE("Emulated copies refuse pointers on the wrong side", "[emulator]") {
  float* dev = nullptr;
  REQUIRE(cudaMalloc(reinterpret_cast<void**>(&dev), 16 * sizeof(float)) == cudaSuccess);
  std::vector<float> a(32, 1.0f), b(16);
  CHECK(cudaMemcpy(dev, a.data(), 16 * sizeof(float), cudaMemcpyHostToDevice) == cudaSuccess);
  CHECK(cudaMemcpy(b.data(), dev, 16 * sizeof(float), cudaMemcpyDeviceToHost) == cudaSuccess);
  CHECK(b[15] == 1.0f);
  CHECK(cudaMemcpy(b.data(), a.data(), 16 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaMemcpy(dev, a.data(), 17 * sizeof(float), cudaMemcpyHostToDevice) == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaErrorInvalidValue);
  CHECK(cudaGetLastError() == cudaSuccess);
  cudaFree(dev);
}

TEST_CASE("The emulator rounds to TF32 to nearest, ties away from zero", "[emulator]") {
  using nvcuda::wmma::__float_to_tf32;
  CHECK(__float_to_tf32(1.0f + 0x1p-11f) == 1.0f + 0x1p-10f);  // a tie: away from zero
  CHECK(__float_to_tf32(1.0f + 0x1p-12f) == 1.0f);
  CHECK(__float_to_tf32(-(1.0f + 0x1p-11f)) == -(1.0f + 0x1p-10f));
  CHECK(std::isinf(__float_to_tf32(INFINITY)));
}
