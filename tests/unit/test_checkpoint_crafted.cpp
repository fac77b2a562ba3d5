// Checkpoints with a valid checksum but a crafted tensor table (what a fuzzer that fixes up the CRC produces, and
// what a buggy writer could produce): every extent, count and offset that would overflow or point outside the
// data must be refused with an IoError naming the file and the tensor, never read.
#include <catch2/catch.hpp>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>

#include "mien/io/checkpoint.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {

// A version-1 checkpoint with the given tensor table and `floats` data values (1.0, 2.0, ...), correct CRC.
std::string crafted_checkpoint(const std::string& tensors_json, int floats) {
  const std::string header = R"({"meta":{},"tensors":)" + tensors_json + "}";
  std::string bytes(checkpoint_magic, sizeof(checkpoint_magic));
  detail::put<std::uint32_t>(bytes, checkpoint_version);
  detail::put<std::uint64_t>(bytes, header.size());
  bytes += header;
  for (int i = 0; i < floats; ++i) {
    const float v = static_cast<float>(i + 1);
    std::uint32_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    detail::put<std::uint32_t>(bytes, bits);
  }
  detail::put<std::uint32_t>(bytes, detail::crc32_update(0, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
  return bytes;
}

std::string write(const testing::TempDir& dir, const std::string& bytes) {
  const std::string path = (dir.path() / "crafted.ckpt").string();
  std::ofstream(path, std::ios::binary).write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  return path;
}

}  // namespace

TEST_CASE("A well-formed crafted checkpoint reads back", "[io][checkpoint]") {
  testing::TempDir dir("mien-crafted");
  const Checkpoint ckpt =
      read_checkpoint(write(dir, crafted_checkpoint(R"([{"name":"w","shape":[2],"offset":1}])", 3)));
  const Tensor<float>* w = ckpt.find("w");
  REQUIRE(w != nullptr);
  CHECK((*w)[0] == 2.0f);
  CHECK((*w)[1] == 3.0f);
}

TEST_CASE("Crafted tensor tables that overflow or point outside the data are refused", "[io][checkpoint]") {
  testing::TempDir dir("mien-crafted");
  struct Case {
    const char* what;
    const char* table;
    const char* message;
  };
  const Case cases[] = {
      // offset + count wraps around 2^64 to a small number: the old check passed, and the read went before the data
      {"offset that wraps", R"([{"name":"w","shape":[1],"offset":18446744073709551615}])", "'w' lies past the end"},
      {"offset and count that wrap", R"([{"name":"w","shape":[9223372036854775807],"offset":9223372036854775813}])",
       "'w' lies past the end"},
      // the product of the extents overflows int64 (undefined behaviour in Shape::numel before the check)
      {"extents whose product overflows", R"([{"name":"w","shape":[4611686018427387904,4],"offset":0}])",
       "'w' lies past the end"},
      {"negative extent", R"([{"name":"w","shape":[-1],"offset":0}])", "'w' has a negative extent"},
      {"rank above four", R"([{"name":"w","shape":[1,1,1,1,1],"offset":0}])", "'w' has rank 5"},
      {"one float too many", R"([{"name":"w","shape":[2,2],"offset":0}])", "'w' lies past the end"},
  };
  for (const Case& c : cases) {
    INFO(c.what);
    const std::string path = write(dir, crafted_checkpoint(c.table, 3));
    try {
      read_checkpoint(path);
      FAIL("read_checkpoint accepted a crafted table: " << c.what);
    } catch (const IoError& e) {
      const std::string what = e.what();
      INFO(what);
      CHECK(what.find(path) != std::string::npos);
      CHECK(what.find(c.message) != std::string::npos);
    }
  }
}

TEST_CASE("A checkpoint that names two tensors alike is refused", "[io][checkpoint]") {
  // Before this check, find() returned the first and the second was never read: a model with two parameters of
  // that name (two 3x3 streams) got the first one's values in both.
  testing::TempDir dir("mien-crafted");
  const std::string path = write(
      dir, crafted_checkpoint(R"([{"name":"w","shape":[2],"offset":0},{"name":"w","shape":[2],"offset":2}])", 4));
  CHECK_THROWS_WITH(read_checkpoint(path), Catch::Contains("malformed header: the tensor name 'w' occurs twice"));
  CHECK_THROWS_AS(read_checkpoint(path), IoError);
}
