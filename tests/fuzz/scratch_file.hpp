#pragma once
// One temporary file per fuzzing process, for targets whose reader takes a path: each input is written there.
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <string>

namespace mien::fuzz {

// The path of this process's scratch file, created on first use from a mkstemp template such as
// "/tmp/mien-fuzz-csv-XXXXXX".
inline const std::string& scratch_file(const char* pattern) {
  static const std::string path = [pattern] {
    std::string name = pattern;
    const int fd = ::mkstemp(name.data());
    if (fd < 0) std::abort();
    ::close(fd);
    return name;
  }();
  return path;
}

inline void write_scratch(const std::string& path, const void* data, std::size_t size) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(static_cast<const char*>(data), static_cast<std::streamsize>(size));
}

}  // namespace mien::fuzz
