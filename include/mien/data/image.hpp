#pragma once
// Image files in and out: decode any format stb_image reads (JPEG, PNG, BMP, GIF, TGA, PSD, PNM, ...), with
// 1-4 channels and 8 or 16 bits, to 8-bit grayscale; resize to the model's input size; write PNG pictures.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/data/stb.hpp"

namespace mien {

// An 8-bit grayscale image, row-major.
struct GrayImage {
  int width = 0;
  int height = 0;
  std::vector<std::uint8_t> pixels;

  std::uint8_t at(int x, int y) const { return pixels[static_cast<std::size_t>(y) * width + x]; }
};

namespace detail {

// ITU-R BT.601 luma, Y = 0.299 R + 0.587 G + 0.114 B, in integers and rounded, from samples of `max_value`
// (255 or 65535) to 8 bits. Alpha is dropped, as most image tools do when making grayscale: a face's pixels
// mean the same whatever their opacity.
template <class Sample>
void to_gray8(const Sample* src, std::size_t count, int channels, std::uint32_t max_value, std::uint8_t* dst) {
  const std::uint64_t denominator = 1000ull * max_value;
  for (std::size_t i = 0; i < count; ++i) {
    const Sample* p = src + i * channels;
    const std::uint64_t luma1000 = channels >= 3 ? 299ull * p[0] + 587ull * p[1] + 114ull * p[2] : 1000ull * p[0];
    dst[i] = static_cast<std::uint8_t>((luma1000 * 255 + denominator / 2) / denominator);
  }
}

// The number of codes declared by the first JPEG Huffman table (DHT segment) that declares more than 256, or 0.
// stb_image 2.27 (Debian 12's libstb) does not check this bound and writes past its code tables, with bytes
// from the file (found by tests/fuzz/fuzz_image.cpp); later stb versions reject such files. The walk follows
// the marker structure as stb reads it: segments skipped by their length, junk between segments skipped up to
// the next 0xFF (stb resynchronises the same way), and the entropy-coded data after each SOS skipped up to a
// 0xFF that is not followed by 0x00 or a restart marker. So every table that stb would build is checked, and
// bytes inside other segments are never taken for tables.
inline std::size_t oversized_jpeg_huffman_table(const std::uint8_t* bytes, std::size_t size) {
  // stb takes the file for a JPEG when it starts with SOI, fill bytes (0xFF 0xFF ... 0xD8) included.
  std::size_t pos = 0;
  while (pos < size && bytes[pos] == 0xFF) ++pos;
  if (pos == 0 || pos >= size || bytes[pos] != 0xD8) return 0;
  ++pos;
  while (pos + 1 < size) {
    if (bytes[pos] != 0xFF) {
      ++pos;
      continue;
    }
    while (pos + 1 < size && bytes[pos + 1] == 0xFF) ++pos;  // fill bytes
    if (pos + 1 >= size) return 0;
    const std::uint8_t marker = bytes[pos + 1];
    pos += 2;
    if (marker == 0xD9) return 0;                                   // end of image
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) continue;  // markers without a length
    if (pos + 2 > size) return 0;
    const std::size_t length = static_cast<std::size_t>(bytes[pos]) << 8 | bytes[pos + 1];
    if (length < 2) return 0;
    if (marker == 0xC4) {
      // stb reads a truncated segment as if zeros followed, so the tables are summed the same way.
      auto byte_at = [&](std::size_t i) -> std::size_t { return i < size ? bytes[i] : 0; };
      for (std::size_t table = pos + 2; table < std::min(pos + length, size);) {
        std::size_t codes = 0;
        for (std::size_t i = 1; i <= 16; ++i) codes += byte_at(table + i);
        if (codes > 256) return codes;
        table += 17 + codes;
      }
    }
    if (pos + length > size) return 0;
    pos += length;
    if (marker == 0xDA) {  // entropy-coded data up to the next marker
      while (pos + 1 < size &&
             !(bytes[pos] == 0xFF && bytes[pos + 1] != 0x00 && !(bytes[pos + 1] >= 0xD0 && bytes[pos + 1] <= 0xD7)))
        ++pos;
    }
  }
  return 0;
}

}  // namespace detail

// The largest image decode_image accepts (in pixels): above any camera's photo, far above any face crop.
inline constexpr std::int64_t max_image_pixels = 50'000'000;

// Decodes an image held in memory; `name` (a path, usually) is what errors mention.
inline GrayImage decode_image(const std::uint8_t* bytes, std::size_t size, const std::string& name) {
  if (size == 0) throw IoError("cannot decode image '" + name + "': the file is empty");
  if (size > static_cast<std::size_t>(INT32_MAX))
    throw IoError("cannot decode image '" + name + "': larger than 2 GiB");
  if (const std::size_t codes = detail::oversized_jpeg_huffman_table(bytes, size))
    throw IoError("cannot decode image '" + name + "' (" + std::to_string(size) + " bytes): Corrupt JPEG (a Huffman table declares " +
                  std::to_string(codes) + " codes, at most 256 are possible)");
  const int len = static_cast<int>(size);
  // A tiny file may claim a huge image (a 21-byte TGA header claiming 31282×2101 was found by fuzz_image.cpp), and
  // stb would decode all of it: refuse sizes no face image has before spending seconds and gigabytes on them.
  int claimed_width = 0, claimed_height = 0, claimed_channels = 0;
  if (stbi_info_from_memory(bytes, len, &claimed_width, &claimed_height, &claimed_channels) &&
      static_cast<std::int64_t>(claimed_width) * claimed_height > max_image_pixels)
    throw IoError("cannot decode image '" + name + "' (" + std::to_string(size) + " bytes): it claims " +
                  std::to_string(claimed_width) + "x" + std::to_string(claimed_height) + " pixels, more than the " +
                  std::to_string(max_image_pixels / 1000000) + " million mien decodes");
  int width = 0, height = 0, channels = 0;
  GrayImage image;
  auto fail = [&name, size]() -> IoError {
    const char* reason = stbi_failure_reason();
    return IoError("cannot decode image '" + name + "' (" + std::to_string(size) +
                   " bytes): " + (reason ? reason : "unknown error") + " (stb_image)");
  };
  if (stbi_is_16_bit_from_memory(bytes, len)) {
    stbi_us* samples = stbi_load_16_from_memory(bytes, len, &width, &height, &channels, 0);
    if (!samples) throw fail();
    image.pixels.resize(static_cast<std::size_t>(width) * height);
    detail::to_gray8(samples, image.pixels.size(), channels, 65535u, image.pixels.data());
    stbi_image_free(samples);
  } else {
    stbi_uc* samples = stbi_load_from_memory(bytes, len, &width, &height, &channels, 0);
    if (!samples) throw fail();
    image.pixels.resize(static_cast<std::size_t>(width) * height);
    detail::to_gray8(samples, image.pixels.size(), channels, 255u, image.pixels.data());
    stbi_image_free(samples);
  }
  // stb_image 2.27 "decodes" a PNM header without extents ("P6") to a 0x0 image (found by fuzz_image.cpp).
  if (width <= 0 || height <= 0)
    throw IoError("cannot decode image '" + name + "' (" + std::to_string(size) + " bytes): it has no pixels (" +
                  std::to_string(width) + "x" + std::to_string(height) + ")");
  image.width = width;
  image.height = height;
  return image;
}

// The whole file as bytes; IoError naming the file when it cannot be read.
inline std::vector<std::uint8_t> read_file_bytes(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) throw IoError("cannot open '" + path.string() + "'");
  const std::streamoff size = in.tellg();
  if (size < 0) throw IoError("cannot read '" + path.string() + "'");
  std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
  in.seekg(0);
  if (size > 0 && !in.read(reinterpret_cast<char*>(bytes.data()), size))
    throw IoError("cannot read '" + path.string() + "'");
  return bytes;
}

// Reads and decodes an image file to 8-bit grayscale.
inline GrayImage read_image(const std::filesystem::path& path) {
  const std::vector<std::uint8_t> bytes = read_file_bytes(path);
  return decode_image(bytes.data(), bytes.size(), path.string());
}

namespace detail {

// Source taps of a 1-D resampling from `src` to `dst` samples: for each output sample, `taps` (index, weight)
// pairs at stride `taps`. Shrinking averages the source pixels under the output pixel's footprint, weighted
// by overlap (area resampling: no aliasing, and an exact mean for integer factors); enlarging interpolates
// linearly between pixel centres, holding the edge values; equal sizes copy.
struct ResampleTaps {
  int taps = 1;
  std::vector<int> index;
  std::vector<float> weight;
};

inline ResampleTaps resample_taps(int src, int dst) {
  ResampleTaps t;
  if (dst < src) {
    const double scale = static_cast<double>(src) / dst;
    t.taps = static_cast<int>(std::ceil(scale)) + 1;
    t.index.assign(static_cast<std::size_t>(dst) * t.taps, 0);
    t.weight.assign(t.index.size(), 0.0f);
    for (int o = 0; o < dst; ++o) {
      const double lo = o * scale, hi = (o + 1) * scale;
      int k = 0;
      for (int i = static_cast<int>(std::floor(lo)); i < hi && i < src; ++i) {
        const double overlap = std::min<double>(i + 1, hi) - std::max<double>(i, lo);
        if (overlap <= 0) continue;
        t.index[static_cast<std::size_t>(o) * t.taps + k] = i;
        t.weight[static_cast<std::size_t>(o) * t.taps + k] = static_cast<float>(overlap / scale);
        ++k;
      }
    }
  } else if (dst > src) {
    t.taps = 2;
    t.index.resize(static_cast<std::size_t>(dst) * 2);
    t.weight.resize(t.index.size());
    for (int o = 0; o < dst; ++o) {
      const double centre = std::clamp((o + 0.5) * src / dst - 0.5, 0.0, static_cast<double>(src - 1));
      const int i0 = static_cast<int>(centre);
      const double frac = centre - i0;
      t.index[2 * o] = i0;
      t.index[2 * o + 1] = std::min(i0 + 1, src - 1);
      t.weight[2 * o] = static_cast<float>(1.0 - frac);
      t.weight[2 * o + 1] = static_cast<float>(frac);
    }
  } else {
    t.index.resize(static_cast<std::size_t>(dst));
    t.weight.assign(t.index.size(), 1.0f);
    for (int o = 0; o < dst; ++o) t.index[o] = o;
  }
  return t;
}

inline std::uint8_t round_to_u8(float v) { return static_cast<std::uint8_t>(std::clamp(v, 0.0f, 255.0f) + 0.5f); }

}  // namespace detail

// Resizes an 8-bit grayscale image (area averaging when shrinking, bilinear when enlarging, per axis) into
// dst, which holds dst_width * dst_height pixels. Equal sizes copy the pixels unchanged.
inline void resize_gray(const std::uint8_t* src, int src_width, int src_height, std::uint8_t* dst, int dst_width,
                        int dst_height) {
  check_arg(src_width > 0 && src_height > 0 && dst_width > 0 && dst_height > 0, "resize_gray", "sizes ", src_width, "x",
            src_height, " -> ", dst_width, "x", dst_height, " must be positive");
  if (src_width == dst_width && src_height == dst_height) {
    std::copy(src, src + static_cast<std::size_t>(src_width) * src_height, dst);
    return;
  }
  const detail::ResampleTaps across = detail::resample_taps(src_width, dst_width);
  const detail::ResampleTaps down = detail::resample_taps(src_height, dst_height);
  // Horizontal pass into floats (no rounding between the passes), then the vertical pass.
  std::vector<float> rows(static_cast<std::size_t>(src_height) * dst_width);
  for (int y = 0; y < src_height; ++y) {
    const std::uint8_t* line = src + static_cast<std::size_t>(y) * src_width;
    for (int x = 0; x < dst_width; ++x) {
      float sum = 0.0f;
      for (int k = 0; k < across.taps; ++k)
        sum += across.weight[x * across.taps + k] * line[across.index[x * across.taps + k]];
      rows[static_cast<std::size_t>(y) * dst_width + x] = sum;
    }
  }
  for (int y = 0; y < dst_height; ++y) {
    for (int x = 0; x < dst_width; ++x) {
      float sum = 0.0f;
      for (int k = 0; k < down.taps; ++k)
        sum += down.weight[y * down.taps + k] *
               rows[static_cast<std::size_t>(down.index[y * down.taps + k]) * dst_width + x];
      dst[static_cast<std::size_t>(y) * dst_width + x] = detail::round_to_u8(sum);
    }
  }
}

inline GrayImage resize_gray(const GrayImage& image, int width, int height) {
  GrayImage out;
  out.width = width;
  out.height = height;
  out.pixels.resize(static_cast<std::size_t>(width) * height);
  resize_gray(image.pixels.data(), image.width, image.height, out.pixels.data(), width, height);
  return out;
}

// Writes 8-bit pixels (1 gray, 2 gray+alpha, 3 RGB or 4 RGBA channels, row-major, interleaved) as a PNG.
inline void write_png(const std::filesystem::path& path, const std::uint8_t* pixels, int width, int height,
                      int channels) {
  check_arg(width > 0 && height > 0, "write_png", "image size ", width, "x", height, " must be positive");
  check_arg(channels >= 1 && channels <= 4, "write_png", "channels must be 1..4, got ", channels);
  std::vector<std::uint8_t> encoded;
  auto append = [](void* context, void* data, int size) {
    auto* out = static_cast<std::vector<std::uint8_t>*>(context);
    out->insert(out->end(), static_cast<std::uint8_t*>(data), static_cast<std::uint8_t*>(data) + size);
  };
  if (!stbi_write_png_to_func(append, &encoded, width, height, channels, pixels, width * channels))
    throw IoError("write_png: cannot encode '" + path.string() + "'");
  std::ofstream out(path, std::ios::binary);
  out.write(reinterpret_cast<const char*>(encoded.data()), static_cast<std::streamsize>(encoded.size()));
  if (!out) throw IoError("write_png: cannot write '" + path.string() + "'");
}

inline void write_png(const std::filesystem::path& path, const GrayImage& image) {
  check_arg(image.pixels.size() == static_cast<std::size_t>(image.width) * image.height, "write_png", "image holds ",
            image.pixels.size(), " pixels, expected ", image.width, "x", image.height);
  write_png(path, image.pixels.data(), image.width, image.height, 1);
}

}  // namespace mien
