// Inputs found by the fuzzers (scripts/fuzz.sh, tests/fuzz/), kept as regression tests: each must be refused with
// a clear IoError, and nothing nearby that is valid may be refused with it.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mien/data/image.hpp"

using namespace mien;

namespace {

std::vector<std::uint8_t> jpeg_of(int width, int height) {
  std::vector<std::uint8_t> px(static_cast<std::size_t>(width) * height), out;
  for (std::size_t i = 0; i < px.size(); ++i) px[i] = static_cast<std::uint8_t>(i * 29 + 7);
  auto append = [](void* context, void* data, int size) {
    auto* bytes = static_cast<std::vector<std::uint8_t>*>(context);
    bytes->insert(bytes->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  stbi_write_jpg_to_func(append, &out, width, height, 1, px.data(), 90);
  return out;
}

}  // namespace

TEST_CASE("A JPEG Huffman table with more than 256 codes is refused before stb_image sees it", "[data][image][fuzz]") {
  SECTION("fuzz_image's minimised crash: SOI, a truncated DHT whose first two counts sum to 271") {
    // stb_image 2.27 wrote past stbi__huffman::size[257] on this input (UBSan: index 257 out of bounds).
    const std::vector<std::uint8_t> crash = {0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0x03, 0x01, 0x87, 0x88};
    try {
      decode_image(crash.data(), crash.size(), "crash.jpg");
      FAIL("decoded");
    } catch (const IoError& e) {
      const std::string what = e.what();
      CHECK(what.find("crash.jpg") != std::string::npos);
      CHECK(what.find("Huffman table declares 271 codes") != std::string::npos);
    }
  }
  SECTION("the same table after junk between segments, which stb skips up to the next 0xFF") {
    // fuzz_image's second find: a walk that stopped at the junk let this table through to stb.
    const std::vector<std::uint8_t> junk = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00, 0x12, 0x34,
                                            0xFF, 0xC4, 0x01, 0x03, 0x01, 0x87, 0x88};
    CHECK_THROWS_WITH(decode_image(junk.data(), junk.size(), "junk.jpg"), Catch::Contains("declares 271 codes"));
  }
  SECTION("the same table after an SOI preceded by a fill byte, which stb accepts") {
    // fuzz_image's third find (minimised): the walk wanted the file to start exactly with 0xFF 0xD8.
    const std::vector<std::uint8_t> filled = {0xFF, 0xFF, 0xD8, 0xFF, 0xC4, 0x01, 0xA2, 0x00, 0xC1, 0xC1};
    CHECK_THROWS_WITH(decode_image(filled.data(), filled.size(), "filled.jpg"), Catch::Contains("declares 386 codes"));
  }
  SECTION("a complete DHT segment declaring 16 x 255 codes, followed by their values") {
    std::vector<std::uint8_t> bytes = {0xFF, 0xD8, 0xFF, 0xC4};
    const std::size_t length = 2 + 17 + 16 * 255;
    bytes.push_back(static_cast<std::uint8_t>(length >> 8));
    bytes.push_back(static_cast<std::uint8_t>(length));
    bytes.push_back(0x10);  // an AC table
    for (int i = 0; i < 16; ++i) bytes.push_back(255);
    bytes.insert(bytes.end(), 16 * 255, 0xAB);  // the values stb would have copied past its table
    bytes.insert(bytes.end(), {0xFF, 0xD9});
    CHECK_THROWS_WITH(decode_image(bytes.data(), bytes.size(), "big.jpg"),
                      Catch::Contains("Huffman table declares 4080 codes"));
  }
  SECTION("valid JPEGs still decode, also with table-like bytes inside a comment segment") {
    const std::vector<std::uint8_t> plain = jpeg_of(13, 7);
    const GrayImage image = decode_image(plain.data(), plain.size(), "plain.jpg");
    CHECK(image.width == 13);
    CHECK(image.height == 7);
    // A COM segment right after SOI whose payload looks like an oversized DHT: it is data, not a marker.
    std::vector<std::uint8_t> commented = {0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x0C,
                                           0xFF, 0xC4, 0x01, 0x03, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF};
    commented.insert(commented.end(), plain.begin() + 2, plain.end());
    const GrayImage same = decode_image(commented.data(), commented.size(), "commented.jpg");
    CHECK(same.pixels == image.pixels);
  }
}

TEST_CASE("An image header without pixels is refused, not decoded to an empty image", "[data][image][fuzz]") {
  // fuzz_image found that stb_image 2.27 returns a 0x0 image for these, which the resizer then rejected with an
  // unrelated message.
  for (const std::string header : {"P6", "P5\n0 0\n255\n", "P6 0 7 255 "}) {
    INFO(header);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(header.data());
    try {
      decode_image(bytes, header.size(), "empty.ppm");
    } catch (const IoError& e) {
      CHECK(std::string(e.what()).find("empty.ppm") != std::string::npos);
      continue;
    }
    FAIL("decoded to an image");
  }
}

TEST_CASE("A tiny file claiming a huge image is refused before it is decoded", "[data][image][fuzz]") {
  // fuzz_image found a 21-byte TGA claiming 31282x2101 pixels, which stb decoded in full (seconds, ~200 MB).
  // Uncompressed true-colour TGA header: no id, no colour map, type 2, origin 0, width, height, 24 bpp.
  const int width = 31282, height = 2101;
  std::vector<std::uint8_t> tga = {0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                   static_cast<std::uint8_t>(width & 0xFF), static_cast<std::uint8_t>(width >> 8),
                                   static_cast<std::uint8_t>(height & 0xFF), static_cast<std::uint8_t>(height >> 8),
                                   24, 0, 10, 20, 30};
  CHECK_THROWS_WITH(decode_image(tga.data(), tga.size(), "huge.tga"),
                    Catch::Contains("huge.tga") && Catch::Contains("31282x2101"));
  // A plausible size with the same header still decodes (stb pads a truncated body).
  tga[12] = 4;
  tga[13] = 0;
  tga[14] = 2;
  tga[15] = 0;
  const GrayImage small = decode_image(tga.data(), tga.size(), "small.tga");
  CHECK(small.width == 4);
  CHECK(small.height == 2);
}
