#pragma once
// Integer helpers that the kernels share and that plain C++ tests check (tests/unit/test_cuda_indexing.cpp):
// division by a run-time constant without a hardware divide, and the split of a range into aligned chunks.
#include <cstdint>

#include "mien/core/config.hpp"

// `#pragma unroll` for host-callable code: the device compiler honours it, host compilers would warn about it.
#if defined(__CUDA_ARCH__)
#define MIEN_UNROLL _Pragma("unroll")
#else
#define MIEN_UNROLL
#endif

namespace mien::cuda {

MIEN_HD int ceil_div(int a, int b) { return (a + b - 1) / b; }
MIEN_HD std::int64_t ceil_div(std::int64_t a, std::int64_t b) { return (a + b - 1) / b; }

// High 32 bits of a 32 x 32-bit product (one instruction on the GPU).
MIEN_HD std::uint32_t mul_hi(std::uint32_t a, std::uint32_t b) {
#if defined(__CUDA_ARCH__)
  return __umulhi(a, b);
#else
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(a) * b) >> 32);
#endif
}

// Quotient and remainder by a fixed divisor d >= 1 for dividends in [0, 2^31), by a multiply and a shift
// (Granlund & Montgomery 1994, theorem 4.2). With l = ceil(log2 d) and m = floor(2^(32+l) / d) + 1, which
// satisfies 2^(32+l) <= m d <= 2^(32+l) + 2^l, floor(n / d) = floor(m n / 2^(32+l)) for every 32-bit n. Writing
// m = 2^32 + magic, that is (n + mul_hi(magic, n)) >> l, and the sum cannot overflow 32 bits while n < 2^31.
// Kernels need this where a flat index is split into (image, row, column): a hardware divide costs ~20
// instructions, this costs three.
class FastDivmod {
 public:
  FastDivmod() = default;
  // A divisor below 1 is taken as 1: it only arises from empty tensors, where nothing is ever divided.
  explicit FastDivmod(std::int32_t divisor) : divisor_(divisor > 0 ? divisor : 1) {
    while ((std::int64_t{1} << shift_) < divisor_) ++shift_;
    const std::uint64_t span = (std::uint64_t{1} << shift_) - static_cast<std::uint64_t>(divisor_);
    magic_ = static_cast<std::uint32_t>((span << 32) / static_cast<std::uint64_t>(divisor_) + 1);
  }
  MIEN_HD std::int32_t divisor() const { return divisor_; }
  MIEN_HD std::int32_t div(std::int32_t n) const {
    const std::uint32_t u = static_cast<std::uint32_t>(n);
    return static_cast<std::int32_t>((u + mul_hi(magic_, u)) >> shift_);
  }
  // n = quotient * divisor + remainder.
  MIEN_HD void divmod(std::int32_t n, std::int32_t& quotient, std::int32_t& remainder) const {
    quotient = div(n);
    remainder = n - quotient * divisor_;
  }

 private:
  std::int32_t divisor_ = 1;
  std::uint32_t magic_ = 1;
  std::uint32_t shift_ = 0;
};

struct IndexRange {
  int begin, end;
};

// Part `part` of `parts` consecutive chunks covering [0, total): every chunk but the last has the same length,
// a multiple of `align` (so a split-K chunk holds whole k-tiles); trailing parts may be empty.
MIEN_HD IndexRange split_range(int total, int parts, int part, int align) {
  const int chunk = ceil_div(ceil_div(total, parts), align) * align;
  const int begin = part * chunk < total ? part * chunk : total;
  const int end = begin + chunk < total ? begin + chunk : total;
  return IndexRange{begin, end};
}

}  // namespace mien::cuda
