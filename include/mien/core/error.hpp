#pragma once
// Exceptions that say which operation failed and why. Every check in mien goes through these, so a user
// sees "mien: conv2d_forward: input has 3 channels, weights expect 1" rather than a crash.
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace mien {

// Base of every error mien throws.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error("mien: " + what) {}
};

// The caller passed something that cannot work (shape mismatch, bad argument, bad file).
class InvalidArgument : public Error {
 public:
  using Error::Error;
};

// A file could not be read or written, or its contents are not what mien wrote.
class IoError : public Error {
 public:
  using Error::Error;
};

// A CUDA, cuBLAS or cuDNN call failed, or the device is missing.
class DeviceError : public Error {
 public:
  using Error::Error;
};

// The device ran out of memory; what() names the request and suggests a smaller batch.
class OutOfMemory : public DeviceError {
 public:
  using DeviceError::DeviceError;
};

namespace detail {
template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}
}  // namespace detail

// Throws InvalidArgument("<op>: <message parts...>") unless cond holds.
template <class... Parts>
void check_arg(bool cond, const char* op, Parts&&... parts) {
  if (!cond) throw InvalidArgument(detail::concat(op, ": ", std::forward<Parts>(parts)...));
}

}  // namespace mien
