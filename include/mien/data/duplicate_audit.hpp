#pragma once
// Duplicate audit: finds pixel-identical images within and across the parts of a split, and duplicates whose
// labels disagree. FER2013 has both (some test images also sit in train, which inflates test accuracy).
//
// Exactness: images are grouped by the hash of their original decoded pixels (Dataset::content_hashes, which
// covers the original size too), and every group is then confirmed by comparing the stored images byte for
// byte, so a hash collision can never merge different images. (Stored images are the originals resized by a
// deterministic function: identical originals give identical stored images.)
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/dataset.hpp"
#include "mien/data/split.hpp"

namespace mien {

// A set of two or more pixel-identical images.
struct DuplicateGroup {
  std::vector<std::size_t> members;  // dataset indices, ascending
  bool conflicting_labels = false;   // the members do not all carry the same label
};

// Counts are over the images of the split audited. "groups" are sets of >= 2 pixel-identical images; a group
// counts "within" a part when >= 2 of its members are in that part, and "across" two parts when it has members
// in both. The *_in_* fields count images: e.g. test_in_train is the number of test images that have a
// pixel-identical image in train.
struct DuplicateAudit {
  std::size_t images = 0;
  std::size_t groups = 0;
  std::size_t images_in_groups = 0;
  std::size_t within_train = 0, within_val = 0, within_test = 0;
  std::size_t across_train_val = 0, across_train_test = 0, across_val_test = 0;
  std::size_t val_in_train = 0, test_in_train = 0, test_in_val = 0;
  std::size_t conflicting_groups = 0, conflicting_images = 0;
  std::vector<DuplicateGroup> duplicate_groups;

  std::string text() const {
    auto n = [](std::size_t v) { return std::to_string(v); };
    return "duplicate audit of " + n(images) + " images: " + n(groups) + " groups of pixel-identical images (" +
           n(images_in_groups) + " images, " + n(images_in_groups - groups) + " redundant copies)\n" +
           "  within train: " + n(within_train) + " groups, within val: " + n(within_val) +
           ", within test: " + n(within_test) + "\n" + "  across train/val: " + n(across_train_val) + " groups (" +
           n(val_in_train) + " val images also in train)\n" + "  across train/test: " + n(across_train_test) +
           " groups (" + n(test_in_train) + " test images also in train)\n" +
           "  across val/test: " + n(across_val_test) + " groups (" + n(test_in_val) + " test images also in val)\n" +
           "  conflicting labels: " + n(conflicting_groups) + " groups (" + n(conflicting_images) + " images)";
  }
};

namespace detail {

enum Part : std::int8_t { part_none = -1, part_train = 0, part_val = 1, part_test = 2 };

inline std::vector<std::int8_t> part_of_each(const Dataset& ds, const Split& split) {
  std::vector<std::int8_t> part(ds.size(), part_none);
  const std::vector<std::size_t>* lists[3] = {&split.train, &split.val, &split.test};
  for (std::int8_t p = 0; p < 3; ++p) {
    for (std::size_t i : *lists[p]) {
      check_arg(i < ds.size(), "audit_duplicates", "index ", i, " is outside the data set of ", ds.size());
      check_arg(part[i] == part_none, "audit_duplicates", "sample ", i, " (", ds.sources[i],
                ") is in more than one part of the split");
      part[i] = p;
    }
  }
  return part;
}

// Sets of >= 2 pixel-identical images among those with part >= 0: same content hash, confirmed byte by byte.
inline std::vector<std::vector<std::size_t>> identical_image_sets(const Dataset& ds,
                                                                  const std::vector<std::int8_t>& part) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < ds.size(); ++i)
    if (part[i] != part_none) order.push_back(i);
  std::sort(order.begin(), order.end(), [&ds](std::size_t a, std::size_t b) {
    return ds.content_hashes[a] != ds.content_hashes[b] ? ds.content_hashes[a] < ds.content_hashes[b] : a < b;
  });
  std::vector<std::vector<std::size_t>> sets;
  for (std::size_t begin = 0; begin < order.size();) {
    std::size_t end = begin + 1;
    while (end < order.size() && ds.content_hashes[order[end]] == ds.content_hashes[order[begin]]) ++end;
    // Within one hash, split by the stored bytes (a run is almost always a single set).
    std::vector<std::vector<std::size_t>> same_hash;
    for (std::size_t k = begin; k < end; ++k) {
      const std::size_t i = order[k];
      auto match = std::find_if(same_hash.begin(), same_hash.end(), [&](const std::vector<std::size_t>& set) {
        return std::memcmp(ds.image(set[0]), ds.image(i), ds.image_pixels()) == 0;
      });
      if (match == same_hash.end())
        same_hash.push_back({i});
      else
        match->push_back(i);
    }
    for (auto& set : same_hash)
      if (set.size() >= 2) sets.push_back(std::move(set));
    begin = end;
  }
  std::sort(sets.begin(), sets.end());
  return sets;
}

}  // namespace detail

inline DuplicateAudit audit_duplicates(const Dataset& ds, const Split& split) {
  check_arg(ds.content_hashes.size() == ds.size(), "audit_duplicates", "the data set has ", ds.content_hashes.size(),
            " content hashes for ", ds.size(), " samples");
  const std::vector<std::int8_t> part = detail::part_of_each(ds, split);
  DuplicateAudit audit;
  audit.images = split.train.size() + split.val.size() + split.test.size();
  for (std::vector<std::size_t>& members : detail::identical_image_sets(ds, part)) {
    std::size_t in[3] = {0, 0, 0};
    bool conflicting = false;
    for (std::size_t i : members) {
      ++in[part[i]];
      conflicting |= ds.labels[i] != ds.labels[members[0]];
    }
    ++audit.groups;
    audit.images_in_groups += members.size();
    audit.within_train += in[0] >= 2;
    audit.within_val += in[1] >= 2;
    audit.within_test += in[2] >= 2;
    audit.across_train_val += in[0] > 0 && in[1] > 0;
    audit.across_train_test += in[0] > 0 && in[2] > 0;
    audit.across_val_test += in[1] > 0 && in[2] > 0;
    audit.val_in_train += in[0] > 0 ? in[1] : 0;
    audit.test_in_train += in[0] > 0 ? in[2] : 0;
    audit.test_in_val += in[1] > 0 ? in[2] : 0;
    audit.conflicting_groups += conflicting;
    audit.conflicting_images += conflicting ? members.size() : 0;
    audit.duplicate_groups.push_back(DuplicateGroup{std::move(members), conflicting});
  }
  return audit;
}

// All of the data set as one part (train), e.g. to audit a folder before splitting it.
inline DuplicateAudit audit_duplicates(const Dataset& ds) {
  Split all;
  all.train.resize(ds.size());
  for (std::size_t i = 0; i < ds.size(); ++i) all.train[i] = i;
  return audit_duplicates(ds, all);
}

// The split without its leaks: every val image that also occurs in train, and every test image that also
// occurs in train or val, is removed. Removal is from the evaluation side on purpose: train keeps every image
// (the model learns from the same data as without the audit), while validation and test then score only
// images the model has never seen. Duplicates within one part are kept.
inline Split drop_cross_split_duplicates(const Dataset& ds, const Split& split) {
  const std::vector<std::int8_t> part = detail::part_of_each(ds, split);
  std::vector<bool> drop(ds.size(), false);
  for (const std::vector<std::size_t>& members : detail::identical_image_sets(ds, part)) {
    bool in_train = false, in_val = false;
    for (std::size_t i : members) {
      in_train |= part[i] == detail::part_train;
      in_val |= part[i] == detail::part_val;
    }
    for (std::size_t i : members)
      drop[i] = (part[i] == detail::part_val && in_train) || (part[i] == detail::part_test && (in_train || in_val));
  }
  auto keep = [&drop](const std::vector<std::size_t>& list) {
    std::vector<std::size_t> out;
    for (std::size_t i : list)
      if (!drop[i]) out.push_back(i);
    return out;
  };
  return Split{split.train, keep(split.val), keep(split.test)};
}

}  // namespace mien
