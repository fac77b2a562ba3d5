#pragma once
// Data sets built in memory for the split, audit, augmentation and loader tests: every image distinct unless
// a test plants a copy, hashes computed as the loaders compute them.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mien/data/dataset.hpp"

namespace mien::testing {

// `per_class[c]` images of class c, side x side, all from origin "train"; sample i's pixels derive from i.
inline Dataset synthetic_dataset(const std::vector<std::size_t>& per_class, int side = 8) {
  Dataset ds;
  ds.height = ds.width = side;
  ds.origin_names = {"train"};
  for (std::size_t c = 0; c < per_class.size(); ++c) {
    for (std::size_t k = 0; k < per_class[c]; ++k) {
      const std::size_t i = ds.labels.size();
      for (int p = 0; p < side * side; ++p)
        ds.pixels.push_back(static_cast<std::uint8_t>((i * 131 + static_cast<std::size_t>(p) * (i % 7 + 1)) % 256));
      ds.pixels[i * side * side] = static_cast<std::uint8_t>(i);  // distinct for up to 256 * 256 samples
      ds.pixels[i * side * side + 1] = static_cast<std::uint8_t>(i >> 8);
      ds.labels.push_back(static_cast<std::int32_t>(c));
      ds.sources.push_back("synthetic/" + std::to_string(i));
      ds.content_hashes.push_back(pixel_hash(ds.image(i), side, side));
      ds.origins.push_back(0);
    }
  }
  ds.report.loaded = ds.labels.size();
  return ds;
}

// Makes sample `copy` pixel-identical to sample `original` (and gives it the given label).
inline void plant_duplicate(Dataset& ds, std::size_t original, std::size_t copy, std::int32_t label) {
  std::copy(ds.image(original), ds.image(original) + ds.image_pixels(),
            ds.pixels.begin() + static_cast<std::ptrdiff_t>(copy * ds.image_pixels()));
  ds.content_hashes[copy] = ds.content_hashes[original];
  ds.labels[copy] = label;
}

// Whether sample i of ds holds exactly these pixels (a bool, so a failure does not print 2304 values).
inline bool holds(const Dataset& ds, std::size_t i, const std::vector<std::uint8_t>& pixels) {
  return pixels.size() == ds.image_pixels() && std::equal(pixels.begin(), pixels.end(), ds.image(i));
}

}  // namespace mien::testing
