// Loading image folders <root>/<split>/<class>/<files>: formats, sizes, class spellings, bad files and policies.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "../support/image_files.hpp"
#include "../support/synthetic_dataset.hpp"
#include "../support/temp_dir.hpp"
#include "mien/data/dataset.hpp"

using namespace mien;
using mien::testing::TempDir;

namespace {

std::vector<std::uint8_t> pattern(int w, int h, int seed, int channels = 1) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(w) * h * channels);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * (2 * seed + 1) + seed * 37) % 251);
  return px;
}

// A small tree in Kaggle's layout with every kind of file the loader meets; `with_bad` adds broken files and a
// folder of an unknown class.
void make_tree(const std::filesystem::path& root, bool with_bad) {
  namespace t = mien::testing;
  const auto train = root / "train";
  t::write_png8(train / "angry" / "a_gray.png", pattern(48, 48, 1), 48, 48, 1);
  t::write_jpg(train / "angry" / "b_rgb.jpg", pattern(48, 48, 2, 3), 48, 48, 3);
  t::write_png8(train / "angry" / "c_rgba64.png", pattern(64, 64, 3, 4), 64, 64, 4);
  std::vector<std::uint16_t> deep(96 * 96);
  for (std::size_t i = 0; i < deep.size(); ++i) deep[i] = static_cast<std::uint16_t>(i * 7);
  t::write_png16(train / "angry" / "d_gray16_96.png", deep, 96, 96, 1);
  t::write_text(train / "angry" / ".DS_Store", "hidden files are ignored");
  t::write_jpg(train / "Happiness" / "e_gray30.jpg", pattern(30, 30, 4), 30, 30, 1);
  t::write_png8(train / "Happiness" / "f_same_as_a.png", pattern(48, 48, 1), 48, 48, 1);
  t::write_png8(train / "sad" / "g.png", pattern(48, 48, 5), 48, 48, 1);
  std::filesystem::create_directories(train / ".cache");
  t::write_png8(root / "test" / "6" / "h.png", pattern(48, 48, 6), 48, 48, 1);
  t::write_png8(root / "test" / "Sadness" / "i.png", pattern(48, 48, 7), 48, 48, 1);
  if (with_bad) {
    t::write_bytes(train / "sad" / "zero.png", {});
    t::write_text(train / "sad" / "readme.txt", "not an image");
    std::vector<std::uint8_t> corrupt = {0x89, 'P', 'N', 'G', 1, 2, 3, 4, 5, 6, 7, 8};
    t::write_bytes(train / "sad" / "corrupt.png", corrupt);
    t::write_png8(train / "contempt" / "x.png", pattern(48, 48, 8), 48, 48, 1);
  }
}

std::string message_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("Image folders load every format and size into one block at the input size", "[data][folder]") {
  TempDir dir;
  make_tree(dir.path(), false);
  const Dataset ds = load_image_folder(dir.path(), "train");
  REQUIRE(ds.size() == 7);
  CHECK(ds.height == 48);
  CHECK(ds.width == 48);
  CHECK(ds.pixels.size() == 7 * 48 * 48);
  CHECK(ds.labels == std::vector<std::int32_t>{0, 0, 0, 0, 3, 3, 4});
  CHECK(ds.origin_names == std::vector<std::string>{"train"});
  CHECK(ds.report.loaded == 7);
  CHECK(ds.report.skipped_images.empty());
  // Ordered by class, then by file name.
  CHECK(std::filesystem::path(ds.sources[0]).filename() == "a_gray.png");
  CHECK(std::filesystem::path(ds.sources[3]).filename() == "d_gray16_96.png");
  CHECK(std::filesystem::path(ds.sources[6]).filename() == "g.png");

  // A 48x48 gray PNG is stored as is; larger images are stored as resize_gray of their decoded pixels.
  const std::vector<std::uint8_t> a = pattern(48, 48, 1);
  CHECK(testing::holds(ds, 0, a));
  const GrayImage c = read_image(ds.sources[2]);
  CHECK(c.width == 64);
  const GrayImage c48 = resize_gray(c, 48, 48);
  CHECK(testing::holds(ds, 2, c48.pixels));

  // Content hashes are of the original pixels: equal for the identical files, different otherwise.
  CHECK(ds.content_hashes[0] == ds.content_hashes[5]);
  CHECK(ds.content_hashes[0] == pixel_hash(a.data(), 48, 48));
  CHECK(ds.content_hashes[2] == pixel_hash(c.pixels.data(), 64, 64));
  CHECK(ds.content_hashes[2] != pixel_hash(c48.pixels.data(), 48, 48));
  CHECK(ds.class_counts() == std::vector<std::size_t>{4, 0, 0, 2, 1, 0, 0});
}

TEST_CASE("Folder loading gives the same data for any thread count and other input sizes", "[data][folder]") {
  TempDir dir;
  make_tree(dir.path(), false);
  LoadOptions one, many;
  one.num_threads = 1;
  many.num_threads = 3;
  const Dataset a = load_image_folder(dir.path(), "train", one), b = load_image_folder(dir.path(), "train", many);
  CHECK((a.pixels == b.pixels));
  CHECK(a.labels == b.labels);
  CHECK(a.content_hashes == b.content_hashes);

  LoadOptions big;
  big.image_size = 128;
  const Dataset large = load_image_folder(dir.path(), "train", big);
  CHECK(large.height == 128);
  CHECK(large.pixels.size() == 7 * 128 * 128);
  CHECK(large.content_hashes == a.content_hashes);  // hashes do not depend on the stored size

  const Dataset test = load_image_folder(dir.path(), "test");  // folders named "6" and "Sadness"
  CHECK(test.labels == std::vector<std::int32_t>{4, 6});
}

TEST_CASE("Bad files and unknown class folders fail clearly or are skipped and reported", "[data][folder]") {
  TempDir dir;
  make_tree(dir.path(), true);

  // Default policy: the unknown class folder stops the load, naming it.
  const std::string unknown = message_of([&] { load_image_folder(dir.path(), "train"); });
  CHECK(unknown.find("contempt") != std::string::npos);
  CHECK_THROWS_AS(load_image_folder(dir.path(), "train"), InvalidArgument);

  // Unknown folders skipped, bad images fatal: the first bad file is named and the others counted.
  LoadOptions options;
  options.on_unknown_class = OnBadInput::skip;
  CHECK_THROWS_AS(load_image_folder(dir.path(), "train", options), IoError);
  const std::string bad = message_of([&] { load_image_folder(dir.path(), "train", options); });
  CHECK(bad.find("corrupt.png") != std::string::npos);
  CHECK(bad.find("and 2 more") != std::string::npos);

  // Both skipped: the good images load and the report lists what was left out.
  options.on_bad_image = OnBadInput::skip;
  const Dataset ds = load_image_folder(dir.path(), "train", options);
  CHECK(ds.size() == 7);
  CHECK(ds.report.loaded == 7);
  REQUIRE(ds.report.skipped_images.size() == 3);
  CHECK(ds.report.skipped_images[0].find("corrupt.png") != std::string::npos);
  CHECK(ds.report.skipped_images[1].find("readme.txt") != std::string::npos);
  CHECK(ds.report.skipped_images[2].find("zero.png") != std::string::npos);
  CHECK(ds.report.skipped_images[2].find("empty") != std::string::npos);
  REQUIRE(ds.report.skipped_folders.size() == 1);
  CHECK(ds.report.skipped_folders[0].find("contempt") != std::string::npos);
  CHECK(ds.report.summary().find("3 bad images skipped") != std::string::npos);
  // The compaction kept each sample's pixels, label and source together.
  CHECK(std::filesystem::path(ds.sources[6]).filename() == "g.png");
  CHECK(ds.labels[6] == 4);
  CHECK(testing::holds(ds, 6, pattern(48, 48, 5)));
}

TEST_CASE("Folder layouts that cannot work are refused with the reason", "[data][folder]") {
  TempDir dir;
  make_tree(dir.path(), false);
  CHECK(message_of([&] { load_image_folder(dir.path(), "validation"); }).find("is not a folder") != std::string::npos);
  mien::testing::write_png8(dir.path() / "train" / "anger" / "y.png", pattern(48, 48, 9), 48, 48, 1);
  const std::string twice = message_of([&] { load_image_folder(dir.path(), "train"); });
  CHECK(twice.find("both hold class 'angry'") != std::string::npos);
  std::filesystem::create_directories(dir.path() / "empty" / "happy");
  CHECK_THROWS_AS(load_image_folder(dir.path(), "empty"), IoError);
  LoadOptions zero;
  zero.image_size = 0;
  CHECK_THROWS_AS(load_image_folder(dir.path(), "test", zero), InvalidArgument);
}

TEST_CASE("Appending data sets keeps each sample's origin", "[data][folder]") {
  TempDir dir;
  make_tree(dir.path(), false);
  Dataset all = load_image_folder(dir.path(), "train");
  append(all, load_image_folder(dir.path(), "test"));
  CHECK(all.size() == 9);
  CHECK(all.origin_names == std::vector<std::string>{"train", "test"});
  CHECK(all.indices_of_origin("test") == std::vector<std::size_t>{7, 8});
  CHECK(all.indices_of_origin("train").size() == 7);
  CHECK(all.indices_of_origin("val").empty());
  LoadOptions big;
  big.image_size = 64;
  CHECK_THROWS_AS(append(all, load_image_folder(dir.path(), "test", big)), InvalidArgument);
}
