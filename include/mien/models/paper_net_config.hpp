#pragma once
// Every knob of the paper network (Mahdi et al., ICAIIT 2025, Table 2 and Section 3), with mien's defaults.
// docs/paper-model.md maps each field to the sentence of the paper it comes from and explains each decision.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"

namespace mien {

struct PaperNetConfig {
  std::int64_t input_size = 128;                   // square grayscale input; the paper resizes to 128×128
  std::int64_t input_channels = 1;
  std::int64_t classes = 7;
  std::vector<int> stream_kernels = {3, 5};        // the parallel multi-scale streams
  std::vector<std::int64_t> stream_channels = {32, 64};  // conv widths inside each stream, a max-pool after each
  std::string attention = "per_channel";           // or "paper_literal" (Dense(1) + softmax: degenerate, see docs)
  int residual_blocks = 2;
  int residual_kernel = 3;
  bool gated_skips = true;                         // skips scaled by the attention scores; false = plain residual
  bool final_pool = true;                          // max-pool before Flatten (keeps the head at ~8.4M weights)
  std::vector<std::int64_t> dense_units = {256, 128};
  double dropout = 0.5;                            // Table 3
  double bn_momentum = 0.99;                       // Keras defaults
  double bn_eps = 1e-3;

  // Channels after concatenating the streams (the attention and residual width).
  std::int64_t merged_channels() const {
    return static_cast<std::int64_t>(stream_kernels.size()) * stream_channels.back();
  }
  // Spatial size after the streams' pools and the final pool.
  std::int64_t feature_size() const {
    std::int64_t s = input_size;
    for (std::size_t i = 0; i < stream_channels.size(); ++i) s /= 2;
    return final_pool ? s / 2 : s;
  }

  void validate() const {
    const char* op = "PaperNetConfig";
    check_arg(input_size > 0 && input_channels > 0 && classes >= 2, op, "input size, channels and classes must be positive (got ",
              input_size, ", ", input_channels, ", ", classes, ")");
    check_arg(!stream_kernels.empty() && !stream_channels.empty(), op, "needs at least one stream and one conv");
    for (std::size_t i = 0; i < stream_kernels.size(); ++i) {
      const int k = stream_kernels[i];
      check_arg(k > 0 && k % 2 == 1, op, "stream kernels must be odd, got ", k);
      // Streams are named by their kernel ("stream3"): two of one size would share their parameters' names.
      for (std::size_t j = 0; j < i; ++j)
        check_arg(stream_kernels[j] != k, op, "stream kernel ", k, " is given twice; each stream needs its own size");
    }
    check_arg(residual_kernel > 0 && residual_kernel % 2 == 1, op, "residual kernel must be odd, got ", residual_kernel);
    check_arg(attention == "per_channel" || attention == "paper_literal", op, "attention must be per_channel or paper_literal, got '",
              attention, "'");
    check_arg(residual_blocks >= 0, op, "residual_blocks must be >= 0");
    check_arg(dropout >= 0 && dropout < 1, op, "dropout must be in [0, 1), got ", dropout);
    check_arg(feature_size() >= 1, op, "input size ", input_size, " is too small for ", stream_channels.size(),
              " pooling stages", final_pool ? " and the final pool" : "");
  }
};

inline void to_json(nlohmann::json& j, const PaperNetConfig& c) {
  j = nlohmann::json{{"input_size", c.input_size},         {"input_channels", c.input_channels},
                     {"classes", c.classes},               {"stream_kernels", c.stream_kernels},
                     {"stream_channels", c.stream_channels}, {"attention", c.attention},
                     {"residual_blocks", c.residual_blocks}, {"residual_kernel", c.residual_kernel},
                     {"gated_skips", c.gated_skips},       {"final_pool", c.final_pool},
                     {"dense_units", c.dense_units},       {"dropout", c.dropout},
                     {"bn_momentum", c.bn_momentum},       {"bn_eps", c.bn_eps}};
}

// Missing fields keep their defaults, so configs written by older versions still load; unknown ones are rejected
// (they mean a newer architecture this version cannot build).
inline void from_json(const nlohmann::json& j, PaperNetConfig& c) {
  static const char* known[] = {"input_size",      "input_channels", "classes",     "stream_kernels", "stream_channels",
                                "attention",       "residual_blocks", "residual_kernel", "gated_skips", "final_pool",
                                "dense_units",     "dropout",        "bn_momentum", "bn_eps"};
  for (auto it = j.begin(); it != j.end(); ++it) {
    bool ok = false;
    for (const char* k : known) ok = ok || it.key() == k;
    check_arg(ok, "PaperNetConfig", "unknown field '", it.key(), "' (written by a newer mien?)");
  }
  auto get = [&](const char* key, auto& field) {
    if (j.contains(key)) j.at(key).get_to(field);
  };
  get("input_size", c.input_size);
  get("input_channels", c.input_channels);
  get("classes", c.classes);
  get("stream_kernels", c.stream_kernels);
  get("stream_channels", c.stream_channels);
  get("attention", c.attention);
  get("residual_blocks", c.residual_blocks);
  get("residual_kernel", c.residual_kernel);
  get("gated_skips", c.gated_skips);
  get("final_pool", c.final_pool);
  get("dense_units", c.dense_units);
  get("dropout", c.dropout);
  get("bn_momentum", c.bn_momentum);
  get("bn_eps", c.bn_eps);
}

}  // namespace mien
