#pragma once
// Seeded integer draws and shuffles for the data pipeline, on the project's one generator (Philox, keyed like
// RandomStream), so splits, epoch orders and augmentations depend only on (seed, what, which) and never on
// thread count, call order or the platform's std:: distributions (which differ between standard libraries).
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "mien/core/philox.hpp"

namespace mien {

// Stream ids of the data pipeline's random consumers. They sit far above the ids a Context hands out to
// layers (which count up from 1), so data randomness never coincides with a dropout mask.
namespace data_streams {
inline constexpr std::uint32_t split = 0xDA7A0001u;    // step = class label
inline constexpr std::uint32_t shuffle = 0xDA7A0002u;  // step = epoch
inline constexpr std::uint32_t augment = 0xDA7A0003u;  // step = epoch, index = sample
inline constexpr std::uint32_t augment_extra = 0xDA7A0004u;  // step = epoch, index = sample: shift and erasing
inline constexpr std::uint32_t erase_noise = 0xDA7A0005u;    // seed = the sample's noise key, index = pixel
}  // namespace data_streams

// Word `index` of the stream as 32 raw bits: the same word RandomStream::uniform(index) turns into a float.
inline std::uint32_t random_bits(const RandomStream& s, std::uint64_t index) {
  const std::uint64_t block = index >> 2;
  const PhiloxWords w =
      philox4x32_10(static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                    static_cast<std::uint32_t>(s.step), static_cast<std::uint32_t>(s.step >> 32),
                    static_cast<std::uint32_t>(s.seed) ^ s.stream, static_cast<std::uint32_t>(s.seed >> 32));
  return w.v[index & 3];
}

// An integer in [0, bound) by multiply-shift (bias below bound / 2^32: under 1e-5 for any data set size here).
inline std::uint32_t random_below(const RandomStream& s, std::uint64_t index, std::uint32_t bound) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(random_bits(s, index)) * bound) >> 32);
}

// Fisher-Yates shuffle; position i draws word i of the stream.
template <class T>
void seeded_shuffle(std::vector<T>& items, const RandomStream& s) {
  for (std::size_t i = items.size(); i > 1; --i) {
    const std::size_t j = random_below(s, i - 1, static_cast<std::uint32_t>(i));
    std::swap(items[i - 1], items[j]);
  }
}

}  // namespace mien
