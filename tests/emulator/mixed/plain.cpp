// The plain C++ half of mien_emulated_mixed_tu (see main.cpp): compiled by g++ with MIEN_WITH_CUDA=1 and the
// emulator's include directory (so that tensors have device members), but without MIEN_CUDA_EMULATION, so it
// compiles no kernel. Linked first, so that the linker would keep this file's copy of any inline function the
// two files define differently.
#include "mixed.hpp"

#include "mien/core/config.hpp"
#include "mien/layers/conv2d.hpp"

static_assert(MIEN_WITH_CUDA == 1 && MIEN_CUDA_KERNELS == 0, "the plain half must compile no kernels");

mien::Tensor<float> conv_forward_plain(mien::Context& ctx, const mien::Tensor<float>& x) {
  return mixed::conv_forward(ctx, x, mien::Device::cuda);
}
