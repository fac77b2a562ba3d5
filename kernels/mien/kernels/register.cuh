#pragma once
// Registration of the CUDA ops with ops:: (ops/dispatch.hpp). Each op family's header ends with
//
//   MIEN_REGISTER_CUDA_OPS(family, op_a, op_b, ...)
//
// which defines one inline variable whose initialiser stores &cuda::op<float> and &cuda::op<double> in the pointers
// ops::op uses for device tensors, when the program starts. Inline, so a program has one such variable per family
// however many translation units compile the header; and the pointer types must equal those of &cpu::op<T>, so a
// backend whose parameters differ from the CPU's (and so from ops::'s) does not compile.
#include "mien/ops/dispatch.hpp"

#define MIEN_REGISTER_CUDA_OP_TYPE(op, T) \
  ::mien::ops::register_cuda_op<&::mien::cpu::op<T>>(#op, &::mien::cuda::op<T>)
#define MIEN_REGISTER_CUDA_OP(op) (MIEN_REGISTER_CUDA_OP_TYPE(op, float) && MIEN_REGISTER_CUDA_OP_TYPE(op, double))

#define MIEN_REGISTER_EXPAND(x) x
#define MIEN_REGISTER_1(a) MIEN_REGISTER_CUDA_OP(a)
#define MIEN_REGISTER_2(a, ...) MIEN_REGISTER_CUDA_OP(a) && MIEN_REGISTER_EXPAND(MIEN_REGISTER_1(__VA_ARGS__))
#define MIEN_REGISTER_3(a, ...) MIEN_REGISTER_CUDA_OP(a) && MIEN_REGISTER_EXPAND(MIEN_REGISTER_2(__VA_ARGS__))
#define MIEN_REGISTER_4(a, ...) MIEN_REGISTER_CUDA_OP(a) && MIEN_REGISTER_EXPAND(MIEN_REGISTER_3(__VA_ARGS__))
#define MIEN_REGISTER_5(a, ...) MIEN_REGISTER_CUDA_OP(a) && MIEN_REGISTER_EXPAND(MIEN_REGISTER_4(__VA_ARGS__))
#define MIEN_REGISTER_6(a, ...) MIEN_REGISTER_CUDA_OP(a) && MIEN_REGISTER_EXPAND(MIEN_REGISTER_5(__VA_ARGS__))
#define MIEN_REGISTER_PICK(_1, _2, _3, _4, _5, _6, name, ...) name
#define MIEN_REGISTER_CUDA_OPS(family, ...)                                                                       \
  namespace mien::cuda::registration {                                                                           \
  inline const bool family = MIEN_REGISTER_EXPAND(MIEN_REGISTER_PICK(__VA_ARGS__, MIEN_REGISTER_6, MIEN_REGISTER_5, \
                                                                     MIEN_REGISTER_4, MIEN_REGISTER_3,           \
                                                                     MIEN_REGISTER_2, MIEN_REGISTER_1)(__VA_ARGS__)); \
  }
