// Reading fer2013.csv: good rows go to their Usage's data set; each kind of malformed row fails naming its
// line, or is skipped and reported.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "../support/image_files.hpp"
#include "../support/synthetic_dataset.hpp"
#include "../support/temp_dir.hpp"
#include "mien/data/dataset.hpp"

using namespace mien;
using mien::testing::TempDir;

namespace {

std::vector<std::uint8_t> face(int seed) {
  std::vector<std::uint8_t> px(48 * 48);
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>((i * (seed + 3) + seed) % 256);
  return px;
}

std::string pixel_text(const std::vector<std::uint8_t>& px) {
  std::string s;
  for (std::size_t i = 0; i < px.size(); ++i) s += (i ? " " : "") + std::to_string(px[i]);
  return s;
}

// Good rows on lines 2, 3, 5 and 12; each other line is malformed in its own way.
std::string mixed_csv() {
  const std::string good0 = pixel_text(face(0)), good1 = pixel_text(face(1)), good2 = pixel_text(face(2));
  std::string short_row = good0.substr(0, good0.rfind(' '));  // 2303 values
  std::string csv = "emotion,pixels,Usage\n";
  csv += "0," + good0 + ",Training\n";                                    // 2
  csv += "3," + good1 + ",PublicTest\n";                                  // 3
  csv += "1," + short_row + ",Training\n";                                // 4
  csv += "6," + good2 + ",PrivateTest\n";                                 // 5
  csv += "2,12 x3 " + good0.substr(good0.find(' ') + 1) + ",Training\n";  // 6
  csv += "\n";                                                            // 7: blank, passed over
  csv += "2,300 " + good0.substr(good0.find(' ') + 1) + ",Training\n";    // 8
  csv += "7," + good0 + ",Training\n";                                    // 9
  csv += "2," + good0 + "\n";                                             // 10
  csv += "2," + good0 + ",Validation\n";                                  // 11
  csv += "5," + good1 + ",Training\r\n";                                  // 12 (Windows line end)
  csv += "a," + good0 + ",Training\n";                                    // 13
  return csv;
}

}  // namespace

TEST_CASE("fer2013.csv rows load into one data set per Usage", "[data][csv]") {
  TempDir dir;
  const auto path = dir.path() / "fer2013.csv";
  mien::testing::write_text(path, "emotion,pixels,Usage\n0," + pixel_text(face(0)) + ",Training\n4," +
                                      pixel_text(face(1)) + ",PrivateTest\n3," + pixel_text(face(2)) + ",Training\n");
  const Fer2013Csv csv = load_fer2013_csv(path);
  REQUIRE(csv.training.size() == 2);
  REQUIRE(csv.public_test.size() == 0);
  REQUIRE(csv.private_test.size() == 1);
  CHECK(csv.report.loaded == 3);
  CHECK(csv.training.labels == std::vector<std::int32_t>{0, 3});
  CHECK(csv.private_test.labels == std::vector<std::int32_t>{4});
  CHECK(testing::holds(csv.training, 1, face(2)));
  CHECK(csv.training.sources[1] == path.string() + ":4");
  CHECK(csv.training.origin_names == std::vector<std::string>{"Training"});
  CHECK(csv.private_test.origin_names == std::vector<std::string>{"PrivateTest"});
  CHECK(csv.training.content_hashes[0] == pixel_hash(face(0).data(), 48, 48));
  const Dataset all = csv.pooled();
  CHECK(all.size() == 3);
  CHECK(all.origin_names == std::vector<std::string>{"Training", "PublicTest", "PrivateTest"});
  CHECK(all.indices_of_origin("PrivateTest") == std::vector<std::size_t>{2});

  // Other input sizes resize; the hash stays that of the 48x48 original.
  LoadOptions big;
  big.image_size = 64;
  const Fer2013Csv large = load_fer2013_csv(path, big);
  CHECK(large.training.width == 64);
  CHECK(large.training.pixels.size() == 2 * 64 * 64);
  CHECK(large.training.content_hashes == csv.training.content_hashes);
}

TEST_CASE("Malformed fer2013.csv rows fail naming the line, or are skipped and reported", "[data][csv]") {
  TempDir dir;
  const auto path = dir.path() / "fer2013.csv";
  mien::testing::write_text(path, mixed_csv());

  try {
    load_fer2013_csv(path);
    FAIL("a malformed row was accepted");
  } catch (const IoError& e) {
    const std::string what = e.what();
    CHECK(what.find("fer2013.csv:4: 2303 pixel values, expected 2304") != std::string::npos);
    CHECK(what.find("and 6 more") != std::string::npos);
  }

  LoadOptions skip;
  skip.on_bad_image = OnBadInput::skip;
  const Fer2013Csv csv = load_fer2013_csv(path, skip);
  CHECK(csv.training.size() == 2);
  CHECK(csv.public_test.size() == 1);
  CHECK(csv.private_test.size() == 1);
  CHECK(csv.training.labels == std::vector<std::int32_t>{0, 5});
  CHECK(csv.training.sources[1] == path.string() + ":12");
  CHECK(testing::holds(csv.training, 1, face(1)));  // the \r of a Windows line end is not part of Usage
  CHECK(csv.report.loaded == 4);
  const std::vector<std::string>& skipped = csv.report.skipped_images;
  REQUIRE(skipped.size() == 7);
  auto line_says = [&](std::size_t k, const std::string& line, const std::string& why) {
    INFO(skipped[k]);
    CHECK(skipped[k].find(".csv:" + line + ": ") != std::string::npos);
    CHECK(skipped[k].find(why) != std::string::npos);
  };
  line_says(0, "4", "2303 pixel values");
  line_says(1, "6", "non-numeric pixel value 'x3' at position 2");
  line_says(2, "8", "pixel value '300' outside 0..255 at position 1");
  line_says(3, "9", "emotion '7' is not a class code");
  line_says(4, "10", "missing Usage");
  line_says(5, "11", "unknown Usage 'Validation'");
  line_says(6, "13", "emotion 'a' is not a class code");
}

TEST_CASE("fer2013.csv headers are found by name; files without one are refused", "[data][csv]") {
  TempDir dir;
  // Kaggle's icml_face_data.csv: other column order, blanks after the commas.
  const auto reordered = dir.path() / "icml_face_data.csv";
  mien::testing::write_text(reordered, "emotion, Usage, pixels\n2, PublicTest, " + pixel_text(face(3)) + "\n");
  const Fer2013Csv a = load_fer2013_csv(reordered);
  REQUIRE(a.public_test.size() == 1);
  CHECK(a.public_test.labels[0] == 2);
  CHECK(testing::holds(a.public_test, 0, face(3)));

  // Kaggle's train.csv has no Usage column: all of it is training data.
  const auto train_only = dir.path() / "train.csv";
  mien::testing::write_text(train_only,
                            "\xEF\xBB\xBF"
                            "emotion,pixels\n1," +
                                pixel_text(face(4)) + "\n");
  const Fer2013Csv b = load_fer2013_csv(train_only);
  CHECK(b.training.size() == 1);

  const auto no_header = dir.path() / "bare.csv";
  mien::testing::write_text(no_header, "0," + pixel_text(face(0)) + ",Training\n");
  CHECK_THROWS_AS(load_fer2013_csv(no_header), IoError);
  const auto empty = dir.path() / "empty.csv";
  mien::testing::write_text(empty, "");
  CHECK_THROWS_AS(load_fer2013_csv(empty), IoError);
  CHECK_THROWS_AS(load_fer2013_csv(dir.path() / "missing.csv"), IoError);
}
