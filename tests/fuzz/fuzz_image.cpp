// libFuzzer target: image decoding (stb_image through mien::decode_image) and the resize that follows it in every
// loader. Any input must either decode to a consistent image or throw mien::IoError; nothing else is allowed.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "mien/data/image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  try {
    const mien::GrayImage image = mien::decode_image(data, size, "fuzz input");
    if (image.width <= 0 || image.height <= 0 ||
        image.pixels.size() != static_cast<std::size_t>(image.width) * image.height)
      std::abort();  // a decode that "succeeds" with an inconsistent image is a bug
    mien::resize_gray(image, 16, 16);
  } catch (const mien::IoError&) {
  }
  return 0;
}
