#pragma once
// Train/validation/test splits as index lists over one Dataset. Two protocols:
//   official: the data set's own parts (FER2013's folders: "train" and "test"; its CSV: "Training",
//             "PublicTest", "PrivateTest"); validation is either one of those parts or carved from train,
//             stratified and seeded (10% by default).
//   paper:    every sample pooled, then split 70/15/15 per class, seeded (the protocol of Mahdi et al.).
// Stratification is exact to within one sample per class and part: each class's samples are shuffled with
// their own Philox stream and cut at round(fraction * count).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/dataset.hpp"
#include "mien/data/random.hpp"

namespace mien {

struct Split {
  std::vector<std::size_t> train, val, test;  // each sorted ascending
};

struct OfficialSplitOptions {
  std::string train_origin = "train";  // FER2013's CSV: "Training"
  std::string test_origin = "test";    // FER2013's CSV: "PrivateTest" (with val_origin "PublicTest")
  std::string val_origin;              // empty: carve validation out of train
  double val_fraction = 0.1;           // the part of each class of train carved out for validation
  std::uint64_t seed = 0;
};

struct PaperSplitOptions {
  double train_fraction = 0.70;
  double val_fraction = 0.15;  // test takes the rest
  std::uint64_t seed = 0;
};

// Samples per class among `indices`.
inline std::vector<std::size_t> class_counts(const Dataset& ds, const std::vector<std::size_t>& indices) {
  std::vector<std::size_t> counts(ds.class_names.size(), 0);
  for (std::size_t i : indices) ++counts[static_cast<std::size_t>(ds.labels[i])];
  return counts;
}

namespace detail {

// Splits `indices` into cut_points.size() + 1 parts, class by class: part k of a class of n samples gets the
// shuffled samples from round(cut_points[k-1] * n) to round(cut_points[k] * n). Cut points are cumulative
// fractions in [0, 1], ascending.
inline std::vector<std::vector<std::size_t>> stratified_parts(const Dataset& ds,
                                                              const std::vector<std::size_t>& indices,
                                                              const std::vector<double>& cut_points,
                                                              std::uint64_t seed) {
  std::vector<std::vector<std::size_t>> by_class(ds.class_names.size());
  for (std::size_t i : indices) by_class[static_cast<std::size_t>(ds.labels[i])].push_back(i);
  std::vector<std::vector<std::size_t>> parts(cut_points.size() + 1);
  for (std::size_t c = 0; c < by_class.size(); ++c) {
    std::vector<std::size_t>& members = by_class[c];
    seeded_shuffle(members, RandomStream{seed, data_streams::split, c});
    const double n = static_cast<double>(members.size());
    std::size_t begin = 0;
    for (std::size_t k = 0; k <= cut_points.size(); ++k) {
      const std::size_t end =
          k < cut_points.size() ? static_cast<std::size_t>(std::llround(cut_points[k] * n)) : members.size();
      parts[k].insert(parts[k].end(), members.begin() + static_cast<std::ptrdiff_t>(begin),
                      members.begin() + static_cast<std::ptrdiff_t>(end));
      begin = end;
    }
  }
  for (auto& part : parts) std::sort(part.begin(), part.end());
  return parts;
}

inline std::vector<std::size_t> origin_indices_or_throw(const Dataset& ds, const std::string& origin,
                                                        const char* role) {
  std::vector<std::size_t> out = ds.indices_of_origin(origin);
  if (out.empty()) {
    std::string known;
    for (const std::string& name : ds.origin_names) known += (known.empty() ? "" : ", ") + name;
    throw InvalidArgument(detail::concat("official_split: no samples from '", origin, "' for the ", role,
                                         " set (this data set has: ", known.empty() ? "none" : known, ")"));
  }
  return out;
}

}  // namespace detail

inline Split official_split(const Dataset& ds, const OfficialSplitOptions& options = {}) {
  check_arg(options.val_fraction >= 0.0 && options.val_fraction < 1.0, "official_split",
            "val_fraction must be in [0, 1), got ", options.val_fraction);
  Split split;
  const std::vector<std::size_t> train = detail::origin_indices_or_throw(ds, options.train_origin, "training");
  split.test = detail::origin_indices_or_throw(ds, options.test_origin, "test");
  if (!options.val_origin.empty()) {
    split.train = train;
    split.val = detail::origin_indices_or_throw(ds, options.val_origin, "validation");
  } else {
    auto parts = detail::stratified_parts(ds, train, {1.0 - options.val_fraction}, options.seed);
    split.train = std::move(parts[0]);
    split.val = std::move(parts[1]);
  }
  return split;
}

inline Split paper_split(const Dataset& ds, const PaperSplitOptions& options = {}) {
  check_arg(options.train_fraction > 0.0 && options.val_fraction >= 0.0 &&
                options.train_fraction + options.val_fraction <= 1.0,
            "paper_split", "fractions must be train > 0, val >= 0, train + val <= 1; got ", options.train_fraction,
            " and ", options.val_fraction);
  std::vector<std::size_t> all(ds.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  auto parts = detail::stratified_parts(
      ds, all, {options.train_fraction, options.train_fraction + options.val_fraction}, options.seed);
  return Split{std::move(parts[0]), std::move(parts[1]), std::move(parts[2])};
}

}  // namespace mien
