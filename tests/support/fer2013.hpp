#pragma once
// The real FER2013 archive for the tests that need it: fer2013_root() returns the extracted folder (holding
// train/ and test/), or nothing (with the reason) where the archive is absent, as on a user's machine.
//
// The archive is MIEN_DATA_ARCHIVE (the environment variable, else the compile definition CMake passes).
// It is unpacked once, with the system's tar, into <temp>/mien-fer2013-<size>-<mtime>/ and kept there for
// later runs (delete that folder to reclaim the ~130 MB). Concurrent test processes are safe: each unpacks
// into a private staging folder and renames it into place; the first rename wins. MIEN_FER2013_ROOT, if set,
// names an already unpacked folder and skips all this.
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <system_error>

namespace mien::testing {

inline std::string shell_quote(const std::string& s) {
  std::string quoted = "'";
  for (char c : s) quoted += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return quoted + "'";
}

inline std::optional<std::filesystem::path> fer2013_root(std::string* why_not = nullptr) {
  namespace fs = std::filesystem;
  auto absent = [why_not](const std::string& reason) -> std::optional<fs::path> {
    if (why_not) *why_not = reason;
    return std::nullopt;
  };
  std::error_code ec;
  if (const char* root = std::getenv("MIEN_FER2013_ROOT")) {
    if (fs::is_directory(fs::path(root) / "train", ec)) return fs::path(root);
    return absent(std::string("MIEN_FER2013_ROOT='") + root + "' holds no train/ folder");
  }
  std::string archive;
  if (const char* env = std::getenv("MIEN_DATA_ARCHIVE")) archive = env;
#ifdef MIEN_DATA_ARCHIVE
  if (archive.empty()) archive = MIEN_DATA_ARCHIVE;
#endif
  if (archive.empty()) return absent("no archive configured (set MIEN_DATA_ARCHIVE)");
  if (!fs::is_regular_file(archive, ec)) return absent("the FER2013 archive '" + archive + "' is absent");

  const auto size = fs::file_size(archive, ec);
  const auto mtime = static_cast<unsigned long long>(fs::last_write_time(archive, ec).time_since_epoch().count());
  const fs::path cache = fs::temp_directory_path() /
                         ("mien-fer2013-" + std::to_string(size) + "-" + std::to_string(mtime % 1000000007ull));
  const fs::path root = cache / "fer2013";
  const fs::path marker = cache / "complete";
  if (fs::exists(marker, ec)) return root;

  const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
  const fs::path staging = cache.string() + ".staging-" + std::to_string(static_cast<long long>(stamp));
  fs::create_directories(staging, ec);
  const std::string command = "tar -xzf " + shell_quote(archive) + " -C " + shell_quote(staging.string());
  if (ec || std::system(command.c_str()) != 0 || !fs::is_directory(staging / "fer2013" / "train", ec)) {
    fs::remove_all(staging, ec);
    return absent("cannot unpack '" + archive + "' with tar");
  }
  { std::ofstream(staging / "complete") << "unpacked\n"; }
  fs::rename(staging, cache, ec);
  if (ec) fs::remove_all(staging, ec);  // another process got there first
  if (fs::exists(marker, ec)) return root;
  return absent("cannot move the unpacked archive into '" + cache.string() + "'");
}

}  // namespace mien::testing
