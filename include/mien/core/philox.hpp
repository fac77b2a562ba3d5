#pragma once
// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011): a counter-based
// generator. Each (key, counter) pair gives four independent 32-bit words with no state to carry, so the
// CPU loop and a CUDA thread that ask for element i draw the same number: dropout masks and augmentations
// match across backends and across resumed runs.
#include <cstdint>

#include "mien/core/config.hpp"

namespace mien {

struct PhiloxWords {
  std::uint32_t v[4];
};

namespace detail {
MIEN_HD std::uint32_t mulhilo32(std::uint32_t a, std::uint32_t b, std::uint32_t* hi) {
  const std::uint64_t p = static_cast<std::uint64_t>(a) * b;
  *hi = static_cast<std::uint32_t>(p >> 32);
  return static_cast<std::uint32_t>(p);
}
}  // namespace detail

// Ten rounds of Philox 4x32 on counter (c0..c3) with key (k0, k1).
MIEN_HD PhiloxWords philox4x32_10(std::uint32_t c0, std::uint32_t c1, std::uint32_t c2, std::uint32_t c3,
                                  std::uint32_t k0, std::uint32_t k1) {
  constexpr std::uint32_t kMul0 = 0xD2511F53u, kMul1 = 0xCD9E8D57u;
  constexpr std::uint32_t kWeyl0 = 0x9E3779B9u, kWeyl1 = 0xBB67AE85u;
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, hi1;
    const std::uint32_t lo0 = detail::mulhilo32(kMul0, c0, &hi0);
    const std::uint32_t lo1 = detail::mulhilo32(kMul1, c2, &hi1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += kWeyl0;
    k1 += kWeyl1;
  }
  return PhiloxWords{{c0, c1, c2, c3}};
}

// A uniform float in [0, 1) from the top 24 bits of a word (exactly representable, never 1).
MIEN_HD float uniform_from_bits(std::uint32_t bits) { return static_cast<float>(bits >> 8) * (1.0f / 16777216.0f); }

// The stream of one random consumer (a dropout layer, an augmenter): a 64-bit seed, a 32-bit stream id that
// tells consumers apart, and a 64-bit step (the training step). Element i of the stream is word i % 4 of
// philox(counter = (i / 4 low, i / 4 high, step low, step high), key = (seed ^ stream, seed >> 32)).
struct RandomStream {
  std::uint64_t seed = 0;
  std::uint32_t stream = 0;
  std::uint64_t step = 0;

  MIEN_HD float uniform(std::uint64_t index) const {
    const std::uint64_t block = index >> 2;
    const PhiloxWords w = philox4x32_10(static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                                        static_cast<std::uint32_t>(step), static_cast<std::uint32_t>(step >> 32),
                                        static_cast<std::uint32_t>(seed) ^ stream,
                                        static_cast<std::uint32_t>(seed >> 32));
    return uniform_from_bits(w.v[index & 3]);
  }
};

}  // namespace mien
