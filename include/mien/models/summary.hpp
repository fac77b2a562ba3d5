#pragma once
// The model summary table: each layer, its output shape, parameters and multiply-accumulates per image.
#include <algorithm>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include "mien/models/model.hpp"

namespace mien {

template <class T>
std::string summary_table(Model<T>& model) {
  const std::vector<SummaryRow> rows = model.summary(1);
  int name_width = 24;  // wider where a nested name ("parallel_4.branch1.conv2d_1") needs it
  for (const auto& row : rows) name_width = std::max(name_width, static_cast<int>(row.name.size()) + 2);
  std::ostringstream out;
  out << std::left << std::setw(name_width) << "layer" << std::setw(20) << "type" << std::setw(22) << "output (per image)"
      << std::right << std::setw(12) << "params" << std::setw(16) << "MACs" << "\n";
  std::int64_t params = 0, macs = 0;
  for (const auto& row : rows) {
    out << std::left << std::setw(name_width) << row.name << std::setw(20) << row.type << std::setw(22) << row.output.str()
        << std::right << std::setw(12) << row.params << std::setw(16) << row.macs << "\n";
    params += row.params;
    macs += row.macs;
  }
  out << "total: " << params << " parameters (" << std::fixed << std::setprecision(2) << params / 1e6 << " M), "
      << std::setprecision(3) << macs / 1e9 << " GMAC per image\n";
  return out.str();
}

}  // namespace mien
