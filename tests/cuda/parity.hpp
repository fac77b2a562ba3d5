#pragma once
// Helpers of the GPU parity tests: seeded random tensors, and the comparison of a result (on any device) with a
// reference, element by element, relative to the element but floored at the reference's RMS (so that entries
// that happen to be near zero are judged on the scale of the tensor, not their own).
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <sstream>
#include <string>

#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"

namespace mien::testing {

// True where these tests run on the CPU through the CUDA emulator (tests/emulator), whose cuDNN is a direct
// convolution loop: a check of mien's cuDNN wrapper, not a yardstick.
#if defined(MIEN_CUDA_EMULATION)
constexpr bool emulated = true;
#else
constexpr bool emulated = false;
#endif

// Uniform in [lo, hi), from a Philox stream: the same values on every machine.
inline Tensor<float> uniform_tensor(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor<float> t(shape);
  const RandomStream stream{seed, 0x7e57u, 0};
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = lo + (hi - lo) * stream.uniform(i);
  return t;
}

template <class To, class From>
Tensor<To> convert(const Tensor<From>& t) {
  const Tensor<From> host = t.to(Device::cpu);
  Tensor<To> out(host.shape());
  for (std::size_t i = 0; i < host.numel(); ++i) out[i] = static_cast<To>(host[i]);
  return out;
}

struct Mismatch {
  double error = 0;  // max |got - want| / max(|want|, rms(want))
  std::size_t index = 0;
  double got = 0, want = 0;

  std::string str() const {
    std::ostringstream s;
    s << "max relative error " << error << " at element " << index << " (got " << got << ", want " << want << ")";
    return s.str();
  }
};

template <class G, class W>
Mismatch compare(const Tensor<G>& got_any, const Tensor<W>& want_any) {
  const Tensor<G> got = got_any.to(Device::cpu);
  const Tensor<W> want = want_any.to(Device::cpu);
  REQUIRE(got.shape() == want.shape());
  double squares = 0;
  for (std::size_t i = 0; i < want.numel(); ++i) squares += static_cast<double>(want[i]) * static_cast<double>(want[i]);
  const double rms = want.numel() ? std::sqrt(squares / static_cast<double>(want.numel())) : 0.0;
  const double floor = rms > 0 ? rms : 1e-30;
  Mismatch m;
  for (std::size_t i = 0; i < want.numel(); ++i) {
    const double g = static_cast<double>(got[i]), w = static_cast<double>(want[i]);
    double e = std::abs(g - w) / std::max(std::abs(w), floor);
    if (!std::isfinite(e)) e = INFINITY;  // NaN or infinity on either side fails
    if (e > m.error) m = Mismatch{e, i, g, w};
  }
  return m;
}

// Relative tolerances of the parity tests. fp32 results are compared with a double-precision CPU reference, so
// the tolerance measures the GPU's rounding alone: sums of up to ~1e3 products (convolutions, dense layers) stay
// near 1e-6 of the tensor's scale; 2e-5 leaves room for reductions over ~1e5 terms in another order.
constexpr double fp32_tolerance = 2e-5;
// Weight gradients reduce over every pixel of the batch (up to half a million terms at 128x128).
constexpr double fp32_reduction_tolerance = 5e-5;
// TF32 rounds each input to a 10-bit mantissa (relative 2^-11 ~ 5e-4): sums of such products carry errors of
// ~4e-4 of the tensor's scale (one standard deviation), ~2e-3 at the worst of a million elements. Index errors,
// which these tests are for, give errors of order 1.
constexpr double tf32_tolerance = 1e-2;

}  // namespace mien::testing

// Compares and reports the worst element on failure.
#define MIEN_REQUIRE_CLOSE(got, want, tolerance)                               \
  do {                                                                         \
    const ::mien::testing::Mismatch mien_m = ::mien::testing::compare(got, want); \
    INFO(#got << " vs " << #want << ": " << mien_m.str());                     \
    REQUIRE(mien_m.error <= (tolerance));                                      \
  } while (0)
