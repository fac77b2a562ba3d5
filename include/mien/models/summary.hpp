#pragma once
// The model summary table: each layer, its output shape, parameters and multiply-accumulates per image.
#include <iomanip>
#include <sstream>
#include <string>

#include "mien/models/model.hpp"

namespace mien {

template <class T>
std::string summary_table(Model<T>& model) {
  std::ostringstream out;
  out << std::left << std::setw(24) << "layer" << std::setw(20) << "type" << std::setw(22) << "output (per image)"
      << std::right << std::setw(12) << "params" << std::setw(16) << "MACs" << "\n";
  std::int64_t params = 0, macs = 0;
  for (const auto& row : model.summary(1)) {
    out << std::left << std::setw(24) << row.name << std::setw(20) << row.type << std::setw(22) << row.output.str()
        << std::right << std::setw(12) << row.params << std::setw(16) << row.macs << "\n";
    params += row.params;
    macs += row.macs;
  }
  out << "total: " << params << " parameters (" << std::fixed << std::setprecision(2) << params / 1e6 << " M), "
      << std::setprecision(3) << macs / 1e9 << " GMAC per image\n";
  return out.str();
}

}  // namespace mien
