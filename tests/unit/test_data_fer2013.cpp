// FER2013 itself, from the archive in ../shared/data (skipped with a message where it is absent): both folder
// splits load with the published counts; prints the load time and the duplicate audit for docs/results.md.
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include "../support/fer2013.hpp"
#include "mien/data/duplicate_audit.hpp"
#include "mien/data/loader.hpp"

using namespace mien;

namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

TEST_CASE("FER2013 loads with its published counts; load time and duplicate audit", "[data][fer2013]") {
  std::string why;
  auto start = std::chrono::steady_clock::now();
  const auto root = mien::testing::fer2013_root(&why);
  if (!root) {
    WARN("FER2013 test skipped: " << why);
    return;
  }
  const double unpack_s = seconds_since(start);

  start = std::chrono::steady_clock::now();
  const Dataset train = load_image_folder(*root, "train");
  const double train_s = seconds_since(start);
  start = std::chrono::steady_clock::now();
  const Dataset test = load_image_folder(*root, "test");
  const double test_s = seconds_since(start);

  // README of the archive; classes in FER2013's code order (angry disgust fear happy sad surprise neutral).
  CHECK(train.size() == 28709);
  CHECK(test.size() == 3589);
  CHECK(train.class_counts() == std::vector<std::size_t>{3995, 436, 4097, 7215, 4830, 3171, 4965});
  CHECK(test.class_counts() == std::vector<std::size_t>{467, 56, 496, 895, 653, 415, 607});
  CHECK(train.report.skipped_images.empty());
  CHECK(train.height == 48);

  Dataset all = train;
  append(all, test);
  OfficialSplitOptions folders;
  folders.val_fraction = 0.0;
  const DuplicateAudit official = audit_duplicates(all, official_split(all, folders));
  folders.val_fraction = 0.1;
  const Split with_val = official_split(all, folders);
  const DuplicateAudit official_val = audit_duplicates(all, with_val);
  const DuplicateAudit paper = audit_duplicates(all, paper_split(all));
  CHECK(official.groups > 0);              // FER2013 is known to hold duplicates
  CHECK(official.groups == paper.groups);  // the same images, however they are split
  const Split clean = drop_cross_split_duplicates(all, with_val);
  CHECK(audit_duplicates(all, clean).test_in_train == 0);

  // One augmented training epoch through the loader, to see what the data pipeline costs per epoch.
  LoaderOptions options;
  options.batch_size = 64;
  options.augment = true;
  const PixelStats stats = pixel_stats(all, with_val.train);
  options.mean = stats.mean;
  options.stddev = stats.stddev;
  BatchLoader loader(all, with_val.train, options);
  Batch batch;
  std::size_t seen = 0;
  start = std::chrono::steady_clock::now();
  while (loader.next(batch)) seen += batch.size();
  const double epoch_s = seconds_since(start);
  CHECK(seen == with_val.train.size());

  std::cout << "FER2013 from " << root->string() << " (unpacked or found in " << unpack_s << " s)\n"
            << "  load: train " << train.size() << " images in " << train_s << " s, test " << test.size()
            << " images in " << test_s << " s\n"
            << "  train pixel mean " << stats.mean << ", stddev " << stats.stddev << " (of pixel / 255)\n"
            << "  augmented epoch of " << seen << " images, batch 64: " << epoch_s << " s\n"
            << "official split (folders train/test):\n"
            << official.text() << "\n"
            << "official split, 10% of train as val (seed 0):\n"
            << official_val.text() << "\n"
            << "  after drop_cross_split_duplicates: train " << clean.train.size() << ", val " << clean.val.size()
            << ", test " << clean.test.size() << "\n"
            << "paper split 70/15/15 (seed 0):\n"
            << paper.text() << std::endl;
}
