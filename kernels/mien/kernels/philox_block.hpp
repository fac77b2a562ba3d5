#pragma once
// Four consecutive uniforms of a RandomStream from one Philox evaluation. RandomStream::uniform(i) runs the
// whole generator for element i and keeps one of its four words; a kernel that handles elements 4q .. 4q+3
// together gets all four from one call. tests/unit/test_cuda_indexing.cpp checks that this equals uniform(4q + j).
#include <cstdint>

#include "mien/core/config.hpp"
#include "mien/core/philox.hpp"

namespace mien::cuda {

MIEN_HD void uniform_block(const RandomStream& s, std::uint64_t block, float (&out)[4]) {
  const PhiloxWords w = philox4x32_10(static_cast<std::uint32_t>(block), static_cast<std::uint32_t>(block >> 32),
                                      static_cast<std::uint32_t>(s.step), static_cast<std::uint32_t>(s.step >> 32),
                                      static_cast<std::uint32_t>(s.seed) ^ s.stream,
                                      static_cast<std::uint32_t>(s.seed >> 32));
  for (int j = 0; j < 4; ++j) out[j] = uniform_from_bits(w.v[j]);
}

}  // namespace mien::cuda
