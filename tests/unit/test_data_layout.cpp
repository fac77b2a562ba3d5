// The layouts data sets unpack into (data/layout.hpp), each built here from small generated images: found, loaded
// with the right classes and counts, and split into the right parts.
#include <catch2/catch.hpp>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "../support/image_files.hpp"
#include "../support/temp_dir.hpp"
#include "mien/data/layout.hpp"

using namespace mien;
namespace fs = std::filesystem;

namespace {

// Writes `count` 12x12 images into `folder`.
void images(const fs::path& folder, int count) {
  for (int i = 0; i < count; ++i) {
    std::vector<std::uint8_t> px(144);
    for (std::size_t k = 0; k < px.size(); ++k) px[k] = static_cast<std::uint8_t>((k * 7 + i * 31) % 256);
    mien::testing::write_png8(folder / ("img" + std::to_string(i) + ".png"), px, 12, 12, 1);
  }
}

// Images per class name in a loaded data set.
std::map<std::string, int> counts(const Dataset& ds) {
  std::map<std::string, int> out;
  for (std::int32_t label : ds.labels) ++out[ds.class_names[static_cast<std::size_t>(label)]];
  return out;
}

LoadOptions small() {
  LoadOptions o;
  o.image_size = 12;
  return o;
}

}  // namespace

TEST_CASE("FER2013's Kaggle folders: train/ and test/", "[data][layout]") {
  mien::testing::TempDir dir("mien-layout");
  const fs::path root = dir.path() / "fer2013";
  images(root / "train" / "angry", 3);
  images(root / "train" / "happy", 2);
  images(root / "test" / "angry", 1);
  images(root / "test" / "happy", 1);
  // The archive's own folder above it is descended into.
  const DatasetLayout layout = find_dataset_layout(dir.path());
  CHECK(layout.root == root);
  CHECK_FALSE(layout.flat);
  CHECK(layout.train == "train");
  CHECK(layout.test == "test");
  CHECK(layout.validation.empty());
  const Dataset ds = load_dataset_parts(layout, small());
  CHECK(ds.size() == 7);
  const OfficialSplitOptions parts = official_parts(layout);
  CHECK(parts.train_origin == "train");
  CHECK(parts.test_origin == "test");
  CHECK(parts.val_origin.empty());  // carved from train
  const Split split = official_split(ds, parts);
  CHECK(split.test.size() == 2);
  CHECK(split.train.size() + split.val.size() == 5);
}

TEST_CASE("The paper's FERD1: images/train and images/validation, with its class spellings", "[data][layout]") {
  mien::testing::TempDir dir("mien-layout");
  for (const fs::path& base : {dir.path() / "a" / "images", dir.path() / "b" / "images" / "images"}) {
    images(base / "train" / "disgusted", 2);
    images(base / "train" / "fearful", 3);
    images(base / "train" / "surprised", 1);
    images(base / "validation" / "disgusted", 1);
    images(base / "validation" / "fearful", 2);
  }
  for (const char* which : {"a", "b"}) {
    INFO(which);
    const DatasetLayout layout = find_dataset_layout(dir.path() / which);
    CHECK(layout.train == "train");
    CHECK(layout.validation == "validation");
    CHECK(layout.test.empty());
    CHECK(test_part(layout) == "validation");
    const Dataset ds = load_dataset_parts(layout, small());
    CHECK(counts(ds) == std::map<std::string, int>{{"disgust", 3}, {"fear", 5}, {"surprise", 1}});
    const OfficialSplitOptions parts = official_parts(layout);
    CHECK(parts.test_origin == "validation");  // its held-out part
    CHECK(parts.val_origin.empty());
    CHECK(official_split(ds, parts).test.size() == 3);
  }
}

TEST_CASE("Three parts: train/, val/ and test/", "[data][layout]") {
  mien::testing::TempDir dir("mien-layout");
  images(dir.path() / "Train" / "Sad", 2);
  images(dir.path() / "val" / "Sad", 1);
  images(dir.path() / "Test" / "Sad", 1);
  const DatasetLayout layout = find_dataset_layout(dir.path());
  CHECK(layout.train == "Train");
  CHECK(layout.validation == "val");
  CHECK(layout.test == "Test");
  const OfficialSplitOptions parts = official_parts(layout);
  CHECK(parts.val_origin == "val");
  const Split split = official_split(load_dataset_parts(layout, small()), parts);
  CHECK(split.train.size() == 2);
  CHECK(split.val.size() == 1);
  CHECK(split.test.size() == 1);
}

TEST_CASE("A plain labelled folder, with a class outside the seven left out and counted", "[data][layout]") {
  mien::testing::TempDir dir("mien-layout");
  const fs::path root = dir.path() / "ckplus";
  images(root / "anger", 2);
  images(root / "happy", 3);
  images(root / "contempt", 4);
  const DatasetLayout layout = find_dataset_layout(root);
  CHECK(layout.flat);
  CHECK(layout.root == root);
  LoadOptions options = small();
  CHECK_THROWS_WITH(load_dataset_parts(layout, options), Catch::Contains("'contempt' names no emotion class"));
  options.on_unknown_class = OnBadInput::skip;
  const Dataset ds = load_dataset_parts(layout, options);
  CHECK(counts(ds) == std::map<std::string, int>{{"angry", 2}, {"happy", 3}});
  REQUIRE(ds.report.skipped_folders.size() == 1);
  CHECK_THAT(ds.report.skipped_folders[0], Catch::Contains("contempt") && Catch::Contains("(4 files left out)"));
  CHECK_THROWS_WITH(official_parts(layout), Catch::Contains("use --split paper"));
  CHECK(paper_split(ds, PaperSplitOptions{0.7, 0.15, 1}).train.size() >= 3);
}

TEST_CASE("A folder that is no data set says what was expected", "[data][layout]") {
  mien::testing::TempDir dir("mien-layout");
  fs::create_directories(dir.path() / "photos" / "holiday");
  fs::create_directories(dir.path() / "photos" / "work");
  CHECK_THROWS_WITH(find_dataset_layout(dir.path()), Catch::Contains("holds no data set mien knows"));
  CHECK_THROWS_WITH(find_dataset_layout(dir.path() / "missing"), Catch::Contains("does not exist"));
  images(dir.path() / "only_test" / "test" / "happy", 1);
  CHECK_THROWS_WITH(official_parts(find_dataset_layout(dir.path() / "only_test")),
                    Catch::Contains("needs a train/ part"));
}
