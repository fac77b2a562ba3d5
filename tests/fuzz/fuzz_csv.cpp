// libFuzzer target: fer2013.csv parsing (mien::load_fer2013_csv), in both bad-row policies. The loader reads from a
// path, so each input is written to a temporary file first. Any input must load or throw mien::IoError.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

#include "mien/data/dataset.hpp"
#include "scratch_file.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string& path = mien::fuzz::scratch_file("/tmp/mien-fuzz-csv-XXXXXX");
  mien::fuzz::write_scratch(path, data, size);
  for (mien::OnBadInput policy : {mien::OnBadInput::fail, mien::OnBadInput::skip}) {
    mien::LoadOptions options;
    options.image_size = 12;
    options.num_threads = 1;
    options.on_bad_image = policy;
    try {
      const mien::Fer2013Csv csv = mien::load_fer2013_csv(path, options);
      for (const mien::Dataset* part : {&csv.training, &csv.public_test, &csv.private_test})
        if (part->pixels.size() != part->size() * part->image_pixels() || part->sources.size() != part->size())
          std::abort();  // every loaded row must come with its pixels and its source
    } catch (const mien::IoError&) {
    }
  }
  return 0;
}
