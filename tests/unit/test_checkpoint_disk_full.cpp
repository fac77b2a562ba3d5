// A disk that fills up while a checkpoint is written: the save fails with an IoError that says so, the previous
// checkpoint stays byte for byte intact and readable, and no temporary file is left behind. The test fills the
// "disk" with a file-size limit (RLIMIT_FSIZE): a write past it fails the way a write to a full file system does
// (EFBIG instead of ENOSPC, through the same code path), without needing a small file system to be mounted.
// SIGXFSZ, which the kernel sends with that failure, is ignored meanwhile, as it would otherwise end the process.
#include <catch2/catch.hpp>

#include <sys/resource.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "mien/io/checkpoint.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

Tensor<float> counting(std::int64_t n) {
  Tensor<float> t(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) t[static_cast<std::size_t>(i)] = static_cast<float>(i % 1000);
  return t;
}

}  // namespace

TEST_CASE("A checkpoint write that runs out of space leaves the previous checkpoint intact", "[io][checkpoint]") {
  testing::TempDir dir("mien-disk-full");
  const std::string path = (dir.path() / "last.ckpt").string();
  const Tensor<float> small = counting(1000), large = counting(std::int64_t{1} << 20);  // 4 kB and 4 MB
  save_checkpoint(path, {{"epoch", 1}}, {{"w", &small}});
  const std::string before = file_bytes(path);

  rlimit old{};
  REQUIRE(getrlimit(RLIMIT_FSIZE, &old) == 0);
  const rlim_t limit = 1 << 20;  // files of at most 1 MiB: the 4 MB checkpoint does not fit
  if (old.rlim_max != RLIM_INFINITY && old.rlim_max < limit) {
    WARN("skipped: the file-size hard limit is already below 1 MiB");
    return;
  }
  rlimit limited = old;
  limited.rlim_cur = limit;
  const auto previous_handler = std::signal(SIGXFSZ, SIG_IGN);
  REQUIRE(setrlimit(RLIMIT_FSIZE, &limited) == 0);
  std::string message;
  try {
    save_checkpoint(path, {{"epoch", 2}}, {{"w", &large}});
  } catch (const IoError& e) {
    message = e.what();
  }
  setrlimit(RLIMIT_FSIZE, &old);
  std::signal(SIGXFSZ, previous_handler);

  INFO(message);
  CHECK(message.find("cannot write") != std::string::npos);
  CHECK(message.find("previous checkpoint, if any, is untouched") != std::string::npos);
  CHECK(file_bytes(path) == before);
  const Checkpoint kept = read_checkpoint(path);
  CHECK(kept.meta["epoch"] == 1);
  REQUIRE(kept.find("w") != nullptr);
  CHECK(kept.find("w")->numel() == 1000);
  CHECK_FALSE(std::filesystem::exists(path + ".tmp"));
}
