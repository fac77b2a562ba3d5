#pragma once
#include <string>

#include "mien/core/error.hpp"

namespace mien {

// Where a tensor's storage lives; the ops layer dispatches on it.
enum class Device { cpu, cuda };

inline const char* to_string(Device d) { return d == Device::cpu ? "cpu" : "cuda"; }

inline Device parse_device(const std::string& name) {
  if (name == "cpu") return Device::cpu;
  if (name == "cuda" || name == "gpu") return Device::cuda;
  throw InvalidArgument("unknown device '" + name + "' (expected cpu or cuda)");
}

}  // namespace mien
