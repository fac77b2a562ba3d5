#pragma once
// The checkpoint file format (all integers little-endian):
//
//   "MIENCKPT"            8-byte magic
//   u32 version           format version: 1 (float32 data) or 2 (float16 data)
//   u64 header_bytes      length of the JSON header
//   header                JSON: {"meta": {...}, "tensors": [{"name", "shape", "offset"}...]}, and in version 2
//                         "dtype": "float16"
//   data                  the values of every tensor, back to back, at the listed offsets (in values)
//   u32 crc32             CRC-32 (IEEE) of every byte before it
//
// meta is free-form JSON owned by the caller (the trainer stores the architecture config, class names, epoch,
// optimizer state counters, metrics). Writes are atomic: a temporary file in the same folder, fsync, rename —
// a crash or a full disk leaves the previous checkpoint intact. Reads check magic, version, sizes and the CRC
// before anything is used, so a truncated or corrupt file is reported, never half-loaded.
// float16 storage (IEEE half, rounded to nearest even) halves a deployed model; it is written only when asked for,
// so files of float32 data stay version 1 and load in every mien that reads checkpoints. Reading widens the
// values back to float32.
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"
#include "mien/layers/layer.hpp"

namespace mien {

constexpr char checkpoint_magic[8] = {'M', 'I', 'E', 'N', 'C', 'K', 'P', 'T'};
constexpr std::uint32_t checkpoint_version = 1;          // float32 data
constexpr std::uint32_t checkpoint_version_float16 = 2;  // float16 data

enum class StoredAs { float32, float16 };

namespace detail {

inline std::uint32_t crc32_update(std::uint32_t crc, const unsigned char* data, std::size_t n) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  crc = ~crc;
  for (std::size_t i = 0; i < n; ++i) crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

template <class U>
void put(std::string& out, U value) {
  unsigned char bytes[sizeof(U)];
  for (std::size_t i = 0; i < sizeof(U); ++i) bytes[i] = static_cast<unsigned char>(value >> (8 * i));
  out.append(reinterpret_cast<const char*>(bytes), sizeof(U));
}

template <class U>
U get(const std::string& in, std::size_t at) {
  U value = 0;
  for (std::size_t i = 0; i < sizeof(U); ++i) value |= static_cast<U>(static_cast<unsigned char>(in[at + i])) << (8 * i);
  return value;
}

// float -> IEEE half, rounded to nearest even. The caller keeps values within half's range (|v| < 65520).
inline std::uint16_t float_to_half(float f) {
  std::uint32_t x;
  std::memcpy(&x, &f, sizeof x);
  const std::uint16_t sign = static_cast<std::uint16_t>((x >> 16) & 0x8000u);
  const std::uint32_t magnitude = x & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;                 // NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;                // infinity, and what rounds to it
  if (magnitude < 0x38800000u)                                        // below 2^-14: a subnormal half (or 0)
    return sign | static_cast<std::uint16_t>(std::nearbyint(std::fabs(f) * 0x1p24f));
  std::uint32_t h = (magnitude - 0x38000000u) >> 13;                  // exponent rebiased 127 -> 15, 10 bits kept
  const std::uint32_t dropped = magnitude & 0x1fffu;
  if (dropped > 0x1000u || (dropped == 0x1000u && (h & 1u))) ++h;    // a carry moves into the exponent correctly
  return sign | static_cast<std::uint16_t>(h);
}

inline float half_to_float(std::uint16_t h) {
  const std::uint32_t sign = static_cast<std::uint32_t>(h & 0x8000u) << 16;
  const std::uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0) {
    const float v = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -v : v;
  }
  const std::uint32_t bits = sign | (exponent == 31 ? 0x7f800000u | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13));
  float f;
  std::memcpy(&f, &bits, sizeof f);
  return f;
}

// Writes bytes to path atomically: path.tmp, fsync, rename, fsync of the folder.
inline void write_file_atomically(const std::string& path, const std::string& bytes) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) throw IoError("cannot create '" + tmp + "': " + std::strerror(errno));
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const std::string why = std::strerror(errno);
      ::close(fd);
      std::remove(tmp.c_str());
      throw IoError("cannot write '" + tmp + "': " + why + " (the previous checkpoint, if any, is untouched)");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw IoError("cannot flush '" + tmp + "': " + why + " (the previous checkpoint, if any, is untouched)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const std::string why = std::strerror(errno);
    std::remove(tmp.c_str());
    throw IoError("cannot rename '" + tmp + "' to '" + path + "': " + why);
  }
  const std::string::size_type slash = path.find_last_of('/');
  const std::string dir = slash == std::string::npos ? "." : path.substr(0, slash == 0 ? 1 : slash);
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
}

}  // namespace detail

// A named float tensor to store; the pointer must stay valid during save_checkpoint.
struct NamedTensor {
  std::string name;
  const Tensor<float>* tensor;
};

// Writes meta and the tensors (on any device; device tensors are copied to the host first). float16 storage refuses
// a tensor holding a finite value beyond half's range, naming it, before anything is written.
inline void save_checkpoint(const std::string& path, const nlohmann::json& meta, const std::vector<NamedTensor>& tensors,
                            StoredAs storage = StoredAs::float32) {
  std::vector<std::string> names;
  for (const NamedTensor& t : tensors) names.push_back(t.name);
  check_unique_names("save_checkpoint '" + path + "'", names);
  const bool half = storage == StoredAs::float16;
  std::vector<std::vector<float>> values;
  for (const NamedTensor& t : tensors) {
    values.push_back(t.tensor->to_vector());
    if (!half) continue;
    for (float v : values.back())
      check_arg(!std::isfinite(v) || std::fabs(v) < 65520.0f, "save_checkpoint", "'", path, "': tensor '", t.name,
                "' holds ", v, ", beyond float16's range; store it as float32");
  }
  nlohmann::json index = nlohmann::json::array();
  std::uint64_t offset = 0;
  for (const NamedTensor& t : tensors) {
    std::vector<std::int64_t> shape;
    for (int d = 0; d < t.tensor->shape().rank(); ++d) shape.push_back(t.tensor->shape()[d]);
    index.push_back({{"name", t.name}, {"shape", shape}, {"offset", offset}});
    offset += t.tensor->numel();
  }
  nlohmann::json head{{"meta", meta}, {"tensors", index}};
  if (half) head["dtype"] = "float16";
  const std::string header = head.dump();

  std::string bytes(checkpoint_magic, sizeof(checkpoint_magic));
  detail::put<std::uint32_t>(bytes, half ? checkpoint_version_float16 : checkpoint_version);
  detail::put<std::uint64_t>(bytes, header.size());
  bytes += header;
  bytes.reserve(bytes.size() + offset * (half ? 2 : sizeof(float)) + 4);
  for (const std::vector<float>& tensor : values)
    for (float v : tensor) {
      if (half) {
        detail::put<std::uint16_t>(bytes, detail::float_to_half(v));
      } else {
        std::uint32_t bits;
        std::memcpy(&bits, &v, sizeof bits);
        detail::put<std::uint32_t>(bytes, bits);
      }
    }
  detail::put<std::uint32_t>(bytes, detail::crc32_update(0, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
  detail::write_file_atomically(path, bytes);
}

// A checkpoint read into host memory, fully validated.
struct Checkpoint {
  nlohmann::json meta;
  std::vector<std::pair<std::string, Tensor<float>>> tensors;

  const Tensor<float>* find(const std::string& name) const {
    for (const auto& t : tensors)
      if (t.first == name) return &t.second;
    return nullptr;
  }
};

inline Checkpoint read_checkpoint(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot open checkpoint '" + path + "': " + std::strerror(errno));
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  auto fail = [&](const std::string& why) -> IoError { return IoError("checkpoint '" + path + "': " + why); };

  constexpr std::size_t fixed = sizeof(checkpoint_magic) + 4 + 8;
  if (bytes.size() < fixed + 4 || std::memcmp(bytes.data(), checkpoint_magic, sizeof(checkpoint_magic)) != 0)
    throw fail("not a mien checkpoint (bad magic or too short: " + std::to_string(bytes.size()) + " bytes)");
  const std::uint32_t version = detail::get<std::uint32_t>(bytes, 8);
  if (version != checkpoint_version && version != checkpoint_version_float16)
    throw fail("format version " + std::to_string(version) + ", this mien reads versions " +
               std::to_string(checkpoint_version) + " and " + std::to_string(checkpoint_version_float16));
  const std::uint32_t stored_crc = detail::get<std::uint32_t>(bytes, bytes.size() - 4);
  const std::uint32_t crc = detail::crc32_update(0, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size() - 4);
  if (crc != stored_crc) throw fail("checksum mismatch: the file is truncated or corrupt");
  const std::uint64_t header_bytes = detail::get<std::uint64_t>(bytes, 12);
  if (header_bytes > bytes.size() - fixed - 4) throw fail("header length exceeds the file");

  nlohmann::json header;
  try {
    header = nlohmann::json::parse(bytes.substr(fixed, header_bytes));
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("unreadable header: ") + e.what());
  }
  const bool half = version == checkpoint_version_float16;
  if (half && !(header.is_object() && header.contains("dtype") && header["dtype"] == "float16"))
    throw fail("format version 2 without \"dtype\": \"float16\" in its header");
  const std::size_t value_bytes = half ? 2 : sizeof(float);
  const std::size_t data_begin = fixed + header_bytes;
  const std::size_t data_floats = (bytes.size() - 4 - data_begin) / value_bytes;

  Checkpoint ckpt;
  try {
    ckpt.meta = header.at("meta");
    for (const auto& entry : header.at("tensors")) {
      const std::string name = entry.at("name").get<std::string>();
      const std::vector<std::int64_t> dims = entry.at("shape").get<std::vector<std::int64_t>>();
      const std::uint64_t offset = entry.at("offset").get<std::uint64_t>();
      // Extents, count and offset are checked against the data in an order in which nothing can overflow: a
      // crafted header must not wrap a sum or product around and point a tensor outside the file.
      if (dims.size() > static_cast<std::size_t>(Shape::max_rank))
        throw fail("tensor '" + name + "' has rank " + std::to_string(dims.size()) + ", at most " +
                   std::to_string(Shape::max_rank) + " is supported");
      std::uint64_t count = dims.empty() ? 0 : 1;
      for (std::int64_t d : dims) {
        if (d < 0) throw fail("tensor '" + name + "' has a negative extent " + std::to_string(d));
        if (d > 0 && count > data_floats / static_cast<std::uint64_t>(d))
          throw fail("tensor '" + name + "' lies past the end of the data");
        count *= static_cast<std::uint64_t>(d);
      }
      if (offset > data_floats || count > data_floats - offset)
        throw fail("tensor '" + name + "' lies past the end of the data");
      const Shape shape = Shape::from_range(dims.begin(), dims.end());
      Tensor<float> t(shape);
      for (std::size_t i = 0; i < t.numel(); ++i) {
        const std::size_t at = data_begin + (offset + i) * value_bytes;
        if (half) {
          t[i] = detail::half_to_float(detail::get<std::uint16_t>(bytes, at));
        } else {
          const std::uint32_t bits = detail::get<std::uint32_t>(bytes, at);
          std::memcpy(&t[i], &bits, sizeof(float));
        }
      }
      ckpt.tensors.emplace_back(name, std::move(t));
    }
  } catch (const nlohmann::json::exception& e) {
    throw fail(std::string("malformed header: ") + e.what());
  }
  std::vector<std::string> names;
  for (const auto& t : ckpt.tensors) names.push_back(t.first);
  const std::string twice = repeated_name(names);
  if (!twice.empty()) throw fail("malformed header: the tensor name '" + twice + "' occurs twice");
  return ckpt;
}

// Copies the checkpoint's tensors into the given parameters and buffers by name. Every one of them must be
// present with the same shape, and the checkpoint may hold no others under `prefix`: any difference means
// another architecture, and is reported with the first few names that differ.
template <class T>
void load_named(const Checkpoint& ckpt, const std::string& prefix, const std::vector<std::pair<std::string, Tensor<T>*>>& targets,
                const std::string& source) {
  std::vector<std::string> names;
  for (const auto& target : targets) names.push_back(target.first);
  check_unique_names("loading " + source + " into a model", names);
  std::vector<std::string> problems;
  for (const auto& [name, tensor] : targets) {
    const Tensor<float>* stored = ckpt.find(prefix + name);
    if (!stored) {
      problems.push_back("missing '" + prefix + name + "'");
      continue;
    }
    if (stored->shape() != tensor->shape()) {
      problems.push_back("'" + prefix + name + "' is " + stored->shape().str() + ", the model has " + tensor->shape().str());
      continue;
    }
    Tensor<T> host(stored->shape());
    for (std::size_t i = 0; i < host.numel(); ++i) host[i] = static_cast<T>((*stored)[i]);
    *tensor = host.to(tensor->device());
  }
  std::size_t in_file = 0;
  for (const auto& t : ckpt.tensors) in_file += t.first.rfind(prefix, 0) == 0;
  if (in_file > targets.size() && problems.empty()) problems.push_back("the file holds tensors the model does not have");
  if (!problems.empty()) {
    std::string msg = source + " does not match this model's architecture: ";
    for (std::size_t i = 0; i < problems.size() && i < 5; ++i) msg += (i ? "; " : "") + problems[i];
    if (problems.size() > 5) msg += "; and " + std::to_string(problems.size() - 5) + " more";
    throw InvalidArgument(msg);
  }
}

// The parameters and buffers of a module as (name, tensor) pairs, for save_checkpoint and load_named.
template <class T>
std::vector<std::pair<std::string, Tensor<T>*>> state_tensors(Module<T>& module) {
  std::vector<std::pair<std::string, Tensor<T>*>> out;
  for (auto& p : module.params()) out.emplace_back(p.name, p.value);
  for (auto& b : module.buffers()) out.emplace_back(b.name, b.value);
  return out;
}

}  // namespace mien
