// mien_emulated_mixed_tu: one program of two translation units, plain.cpp (g++, no kernels) and this file
// (compiled against the CUDA emulator with MIEN_CUDA_EMULATION, so it compiles the kernels), both running the same
// Conv2D<float> forward on a device tensor. Both must give the CPU's result.
//
// Before the kernels registered themselves (ops/dispatch.hpp), ops::conv2d_forward<float> (and so
// Conv2D<float>::forward, which inlines it) had two different bodies in this program: in plain.cpp it threw
// "the tensors are on the GPU, but this translation unit was not compiled with nvcc", here it called
// cuda::conv2d_forward. The linker keeps one copy of an inline function: with plain.cpp linked first, GNU ld kept
// the throwing one, so the call below from this file failed too; in the other order both calls would have run the
// kernel. Which file's code ran depended on the link order (an ODR violation). Now both bodies are the same, both
// calls run the kernel registered by this file, and the plain file's GPU op works.
#include <cmath>
#include <cstdio>
#include <exception>

#include "mien/core/config.hpp"
#include "mien/core/cuda_check.hpp"
#include "mien/ops/conv2d.hpp"
#include "mixed.hpp"

static_assert(MIEN_CUDA_KERNELS == 1, "this half compiles the kernels");

namespace {

double max_difference(const mien::Tensor<float>& a, const mien::Tensor<float>& b) {
  if (a.shape() != b.shape()) return INFINITY;
  double worst = 0;
  for (std::size_t i = 0; i < a.numel(); ++i) worst = std::fmax(worst, std::fabs(double(a[i]) - double(b[i])));
  return worst;
}

}  // namespace

int main() {
  if (!mien::cuda::device_available()) {
    std::printf("no CUDA device\n");
    return 1;
  }
  try {
    mien::Tensor<float> x(mien::Shape{2, 3, 9, 7});
    const mien::RandomStream stream{7, 1, 0};
    for (std::size_t i = 0; i < x.numel(); ++i) x[i] = 2 * stream.uniform(i) - 1;
    mien::Context cpu_ctx(5), plain_ctx(5), emulated_ctx(5);  // same seed: the same weights
    const mien::Tensor<float> want = mixed::conv_forward(cpu_ctx, x, mien::Device::cpu);
    const mien::Tensor<float> plain = conv_forward_plain(plain_ctx, x);
    const mien::Tensor<float> emulated = mixed::conv_forward(emulated_ctx, x, mien::Device::cuda);
    const double d_plain = max_difference(plain, want), d_emulated = max_difference(emulated, want);
    std::printf("Conv2D<float> forward on the GPU: plain C++ translation unit max |diff| %g, emulated one %g\n",
                d_plain, d_emulated);
    const bool ok = d_plain < 1e-5 && d_emulated < 1e-5 && !mien::ops::registered_cuda_ops().empty();
    std::printf("%s\n", ok ? "mixed translation units agree with the CPU" : "FAILED");
    return ok ? 0 : 1;
  } catch (const std::exception& e) {
    std::printf("FAILED: %s\n", e.what());
    return 1;
  }
}
