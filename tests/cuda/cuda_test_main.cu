// Main of the GPU test binary: runs the Catch2 session where a CUDA device is present, and otherwise reports the
// tests skipped with exit code 77 (which tests/CMakeLists.txt maps to "skipped"), so that CPU-only machines build
// the binary and stay green.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>

#include "mien/core/cuda_check.hpp"

int main(int argc, char* argv[]) {
  if (!mien::cuda::device_available()) {
    std::printf("no CUDA device: GPU tests skipped\n");
    return 77;
  }
  cudaDeviceProp prop{};
  if (cudaGetDeviceProperties(&prop, 0) == cudaSuccess)
    std::printf("GPU tests on %s (compute capability %d.%d, %d multiprocessors)\n", prop.name, prop.major, prop.minor,
                prop.multiProcessorCount);
  return Catch::Session().run(argc, argv);
}
