// libFuzzer target: fer2013.csv parsing (mien::load_fer2013_csv), in both bad-row policies. The loader reads from a
// path, so each input is written to a temporary file first. Any input must load or throw mien::IoError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "mien/data/dataset.hpp"

namespace {

const std::string& scratch_file() {
  static const std::string path = [] {
    char name[] = "/tmp/mien-fuzz-csv-XXXXXX";
    const int fd = ::mkstemp(name);
    if (fd < 0) std::abort();
    ::close(fd);
    return std::string(name);
  }();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  {
    std::ofstream out(scratch_file(), std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  for (mien::OnBadInput policy : {mien::OnBadInput::fail, mien::OnBadInput::skip}) {
    mien::LoadOptions options;
    options.image_size = 12;
    options.num_threads = 1;
    options.on_bad_image = policy;
    try {
      const mien::Fer2013Csv csv = mien::load_fer2013_csv(scratch_file(), options);
      for (const mien::Dataset* part : {&csv.training, &csv.public_test, &csv.private_test})
        if (part->pixels.size() != part->size() * part->image_pixels() || part->sources.size() != part->size())
          std::abort();  // every loaded row must come with its pixels and its source
    } catch (const mien::IoError&) {
    }
  }
  return 0;
}
