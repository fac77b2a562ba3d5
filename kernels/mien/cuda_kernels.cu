// Every op's CUDA kernels in one translation unit, for programs whose own files a C++ compiler builds: compile
// this file with nvcc and link its object in (CMake: the mien_cuda_kernels object library). Its static
// initialisers register each kernel with ops:: (mien/ops/dispatch.hpp), so device tensors in the g++-compiled
// code run on the GPU, and the rest of the program keeps the host compiler's speed and CPU flags.
#include "mien/ops/activation.hpp"
#include "mien/ops/adam.hpp"
#include "mien/ops/batchnorm.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/conv2d.hpp"
#include "mien/ops/dense.hpp"
#include "mien/ops/dropout.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/pooling.hpp"
#include "mien/ops/sgd.hpp"

static_assert(MIEN_CUDA_KERNELS == 1, "mien/cuda_kernels.cu must be compiled by nvcc (or the CUDA emulator)");
