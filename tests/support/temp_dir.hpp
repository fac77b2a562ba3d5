#pragma once
// A fresh folder under the system's temporary directory, removed with everything in it when the test ends.
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

namespace mien::testing {

class TempDir {
 public:
  explicit TempDir(const std::string& prefix = "mien-test") {
    namespace fs = std::filesystem;
    // Time and address tell concurrent test processes apart; create_directory refuses a name already taken.
    const auto stamp = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
    const auto self = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(this));
    for (std::uint64_t attempt = 0; attempt < 100; ++attempt) {
      const fs::path candidate =
          fs::temp_directory_path() / (prefix + "-" + std::to_string(stamp ^ self) + "-" + std::to_string(attempt));
      std::error_code ec;
      if (fs::create_directory(candidate, ec)) {
        path_ = candidate;
        return;
      }
    }
    throw std::runtime_error("TempDir: cannot create a temporary folder");
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

}  // namespace mien::testing
