// The GPU tests in tests/cuda, compiled as C++ against the CUDA emulator (see CMakeLists.txt here).
#include "../cuda/test_cuda_sgd.cu"
