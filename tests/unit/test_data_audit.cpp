// The duplicate audit on a data set with planted duplicates: within parts, across parts, conflicting labels,
// and the leak-free split it produces.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "../support/synthetic_dataset.hpp"
#include "mien/data/duplicate_audit.hpp"

using namespace mien;
using mien::testing::plant_duplicate;

namespace {

std::vector<std::size_t> range(std::size_t begin, std::size_t end) {
  std::vector<std::size_t> v;
  for (std::size_t i = begin; i < end; ++i) v.push_back(i);
  return v;
}

// 60 distinct images, train 0..39, val 40..49, test 50..59, and seven planted duplicate groups.
Dataset planted() {
  Dataset ds = mien::testing::synthetic_dataset({10, 10, 10, 10, 10, 10});
  plant_duplicate(ds, 0, 1, ds.labels[0]);     // within train
  plant_duplicate(ds, 2, 50, ds.labels[2]);    // train / test
  plant_duplicate(ds, 3, 40, ds.labels[3]);    // train / val
  plant_duplicate(ds, 4, 51, 5);               // train / test, conflicting labels (0 and 5)
  plant_duplicate(ds, 41, 52, ds.labels[41]);  // val / test
  for (std::size_t copy : {6, 42, 53}) plant_duplicate(ds, 5, copy, ds.labels[5]);  // all three parts
  plant_duplicate(ds, 54, 55, ds.labels[54]);                                       // within test
  return ds;
}

const Split kSplit{range(0, 40), range(40, 50), range(50, 60)};

}  // namespace

TEST_CASE("The audit counts planted duplicates within and across parts", "[data][audit]") {
  const Dataset ds = planted();
  const DuplicateAudit a = audit_duplicates(ds, kSplit);
  CHECK(a.images == 60);
  CHECK(a.groups == 7);
  CHECK(a.images_in_groups == 16);
  CHECK(a.within_train == 2);
  CHECK(a.within_val == 0);
  CHECK(a.within_test == 1);
  CHECK(a.across_train_val == 2);
  CHECK(a.across_train_test == 3);
  CHECK(a.across_val_test == 2);
  CHECK(a.val_in_train == 2);
  CHECK(a.test_in_train == 3);
  CHECK(a.test_in_val == 2);
  CHECK(a.conflicting_groups == 1);
  CHECK(a.conflicting_images == 2);
  REQUIRE(a.duplicate_groups.size() == 7);
  CHECK(a.duplicate_groups[0].members == std::vector<std::size_t>{0, 1});
  CHECK(a.duplicate_groups[3].members == std::vector<std::size_t>{4, 51});
  CHECK(a.duplicate_groups[3].conflicting_labels);
  CHECK(a.duplicate_groups[4].members == std::vector<std::size_t>{5, 6, 42, 53});
  const std::string text = a.text();
  CHECK(text.find("7 groups of pixel-identical images (16 images, 9 redundant copies)") != std::string::npos);
  CHECK(text.find("3 test images also in train") != std::string::npos);

  // Without a split every image counts as train.
  const DuplicateAudit whole = audit_duplicates(ds);
  CHECK(whole.groups == 7);
  CHECK(whole.within_train == 7);
  CHECK(whole.across_train_test == 0);
}

TEST_CASE("Equal hashes of different images are not duplicates", "[data][audit]") {
  Dataset ds = mien::testing::synthetic_dataset({4, 4});
  ds.content_hashes[1] = ds.content_hashes[0];  // a forced collision: the bytes differ
  const DuplicateAudit a = audit_duplicates(ds);
  CHECK(a.groups == 0);
  plant_duplicate(ds, 2, 3, ds.labels[2]);
  CHECK(audit_duplicates(ds).groups == 1);
}

TEST_CASE("Dropping cross-split duplicates empties the leaks from val and test only", "[data][audit]") {
  const Dataset ds = planted();
  const Split clean = drop_cross_split_duplicates(ds, kSplit);
  CHECK(clean.train == kSplit.train);
  CHECK(clean.val.size() == 8);   // 40 and 42 are in train
  CHECK(clean.test.size() == 6);  // 50, 51, 53 are in train, 52 in val; 54 and 55 stay
  CHECK(std::find(clean.test.begin(), clean.test.end(), 54) != clean.test.end());
  const DuplicateAudit after = audit_duplicates(ds, clean);
  CHECK(after.across_train_val == 0);
  CHECK(after.across_train_test == 0);
  CHECK(after.across_val_test == 0);
  CHECK(after.within_test == 1);

  const Split overlapping{{0, 1}, {1}, {}};
  CHECK_THROWS_AS(audit_duplicates(ds, overlapping), InvalidArgument);
}
