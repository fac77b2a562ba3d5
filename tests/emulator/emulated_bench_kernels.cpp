// The kernel benchmark, compiled as C++ against the CUDA emulator (see CMakeLists.txt here).
#include "../../benchmarks/kernels/bench_kernels.cu"
