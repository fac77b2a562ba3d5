#pragma once
// ONNX import: an ONNX file whose graph maps onto mien's layers becomes a mien Net (architecture and weights).
//
//   auto [model, info] = mien::load_onnx_model(ctx, "model.onnx");   // then forward, evaluate, train, save, export
//
// The graph is read from its input to its output. A chain of single-input operators becomes layers one after the
// other; where a tensor feeds several nodes, the branches run to the node where they meet:
//   Concat (axis 1)             -> Parallel, one branch per input
//   Add (+ Relu)                -> Residual: one input is the body, the other the skip (the tensor itself, a 1×1 Conv
//                                  of it, and either one times the scores of the latest attention: a gated skip)
//   Mul with GlobalAveragePool, Flatten + Gemm (or a 1×1 Conv), Tanh, Softmax, [Mul by a constant C], [Reshape or
//   Resize] on the same tensor  -> DynamicAttention (per_channel with the Mul by C, paper_literal with one score)
// and single operators map back as the exporter writes them (onnx_export.hpp): Conv (stride 1, same padding, odd
// square kernel), Gemm, BatchNormalization (+ Relu: BatchNormReLU), Relu, Tanh, MaxPool (stride = window),
// GlobalAveragePool + Flatten or ReduceMean over H and W, Flatten, and Dropout / Identity (skipped). A Softmax that makes the graph's output is
// left out: mien models output logits. An exported Ensemble (each member's graph and Softmax, Add, Mul by
// 1/members, Log) comes back as an Ensemble of Nets. Anything else is refused naming the operator and the node.
//
// Class names and pixel normalisation come from a mien export's metadata; a foreign file with seven outputs gets
// FER2013's class order (angry, disgust, fear, happy, sad, surprise, neutral) and inputs of pixel / 255.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/data/classes.hpp"
#include "mien/models/ensemble.hpp"
#include "mien/models/net.hpp"
#include "mien/onnx/onnx_common.hpp"
#include "mien/train/checkpointing.hpp"

namespace mien {
namespace onnx_format {

// Turns a checked ONNX graph into layer specs and the values of their parameters and buffers, in the order the
// built Net lists them.
class GraphReader {
 public:
  explicit GraphReader(const ::onnx::GraphProto& graph) {
    for (const auto& t : graph.initializer()) constants_[t.name()] = &t;
    for (int i = 0; i < graph.node_size(); ++i) {
      const ::onnx::NodeProto& n = graph.node(i);
      if (n.op_type() == "Constant") {
        for (const auto& a : n.attribute())
          if (a.name() == "value" && a.has_t()) constants_[n.output(0)] = &a.t();
        continue;
      }
      order_[&n] = i;
      for (const auto& out : n.output()) producer_[out] = &n;
      for (const auto& in : n.input())
        if (!in.empty() && !constants_.count(in)) consumers_[in].push_back(&n);
    }
  }

  struct Result {
    nlohmann::json specs;
    std::vector<std::vector<float>> params, buffers;  // in the order of the Net's params() and buffers()
  };

  Result read(const std::string& input, const std::string& output) {
    result_ = Result{};
    scores_.clear();
    std::string stop = output;
    const ::onnx::NodeProto* last = producer(output);
    if (last && last->op_type() == "Softmax") stop = last->input(0);  // probabilities: the model ends at the logits
    result_.specs = chain(input, stop);
    if (result_.specs.empty()) throw InvalidArgument("ONNX import: the graph has no layers between its input and output");
    return std::move(result_);
  }

  // Where the graph is an exported Ensemble (each member's graph and Softmax, Adds, Mul by 1/members, Log, then the
  // output's Softmax), the tensors holding the members' logits, in member order; empty for any other graph.
  std::vector<std::string> ensemble_members(const std::string& output) const {
    const ::onnx::NodeProto* n = producer(output);
    if (n && n->op_type() == "Softmax") n = producer(n->input(0));
    if (!n || n->op_type() != "Log") return {};
    const ::onnx::NodeProto* mul = producer(n->input(0));
    if (!mul || mul->op_type() != "Mul" || mul->input_size() != 2) return {};
    const int share = constant(mul->input(1)) ? 1 : constant(mul->input(0)) ? 0 : -1;
    if (share < 0) return {};
    std::vector<std::string> logits;
    std::vector<std::string> todo{mul->input(1 - share)};  // the sum of the members' probabilities, read left first
    while (!todo.empty()) {
      const ::onnx::NodeProto* p = producer(todo.back());
      todo.pop_back();
      if (p && p->op_type() == "Add" && p->input_size() == 2) {
        todo.push_back(p->input(1));
        todo.push_back(p->input(0));
      } else if (p && p->op_type() == "Softmax") {
        logits.push_back(p->input(0));
      } else {
        return {};
      }
    }
    if (logits.size() < 2) return {};
    const std::vector<float> k = float_values(*constant(mul->input(share)), mul->name() + " input " + std::to_string(share));
    if (k.size() != 1 || std::abs(k[0] * static_cast<float>(logits.size()) - 1.0f) > 1e-5f)
      refuse(*mul, "an ensemble's mean multiplies the sum of its " + std::to_string(logits.size()) +
                       " members' probabilities by 1/" + std::to_string(logits.size()));
    return logits;
  }

 private:
  [[noreturn]] static void refuse(const ::onnx::NodeProto& n, const std::string& why) {
    throw InvalidArgument("ONNX import: node '" + n.name() + "' (" + n.op_type() + "): " + why);
  }
  static std::string supported() {
    return "Conv, Gemm, BatchNormalization, Relu, Tanh, MaxPool, GlobalAveragePool, ReduceMean (over H and W), "
           "Flatten, Reshape (to [N, F]), Concat, Add, Mul and Resize (attention and gated skips), Softmax (attention, "
           "and at the output), Dropout, Identity";
  }

  const ::onnx::NodeProto* producer(const std::string& tensor) const {
    const auto it = producer_.find(tensor);
    return it == producer_.end() ? nullptr : it->second;
  }
  std::vector<const ::onnx::NodeProto*> consumers(const std::string& tensor) const {
    const auto it = consumers_.find(tensor);
    return it == consumers_.end() ? std::vector<const ::onnx::NodeProto*>{} : it->second;
  }
  const ::onnx::NodeProto* sole_consumer(const std::string& tensor) const {
    const auto c = consumers(tensor);
    return c.size() == 1 ? c[0] : nullptr;
  }
  const ::onnx::TensorProto* constant(const std::string& name) const {
    const auto it = constants_.find(name);
    return it == constants_.end() ? nullptr : it->second;
  }
  const ::onnx::TensorProto& weight(const ::onnx::NodeProto& n, int input) const {
    if (n.input_size() <= input || !constant(n.input(input)))
      refuse(n, "input " + std::to_string(input) + " must be a stored tensor (an initializer or Constant)");
    return *constant(n.input(input));
  }

  static const ::onnx::AttributeProto* attribute(const ::onnx::NodeProto& n, const std::string& name) {
    for (const auto& a : n.attribute())
      if (a.name() == name) return &a;
    return nullptr;
  }
  static std::int64_t int_attr(const ::onnx::NodeProto& n, const std::string& name, std::int64_t fallback) {
    const auto* a = attribute(n, name);
    return a ? a->i() : fallback;
  }
  static float float_attr(const ::onnx::NodeProto& n, const std::string& name, float fallback) {
    const auto* a = attribute(n, name);
    return a ? a->f() : fallback;
  }
  static std::vector<std::int64_t> ints_attr(const ::onnx::NodeProto& n, const std::string& name) {
    const auto* a = attribute(n, name);
    return a ? std::vector<std::int64_t>(a->ints().begin(), a->ints().end()) : std::vector<std::int64_t>{};
  }
  static std::string string_attr(const ::onnx::NodeProto& n, const std::string& name) {
    const auto* a = attribute(n, name);
    return a ? a->s() : std::string();
  }
  static bool all_equal(const std::vector<std::int64_t>& v, std::int64_t value) {
    return std::all_of(v.begin(), v.end(), [&](std::int64_t x) { return x == value; });
  }

  // A Flatten to [N, F], or a Reshape / Squeeze that does the same.
  bool flattens(const ::onnx::NodeProto& n) const {
    if (n.op_type() == "Flatten") return int_attr(n, "axis", 1) == 1;
    if (n.op_type() == "Reshape" && n.input_size() == 2 && constant(n.input(1))) {
      const auto shape = int64_values(*constant(n.input(1)), "Reshape shape");
      return shape.size() == 2 && (shape[0] == -1 || shape[0] == 0) && (shape[1] == -1 || shape[1] > 0);
    }
    if (n.op_type() == "Squeeze") {
      std::vector<std::int64_t> axes = ints_attr(n, "axes");
      if (n.input_size() == 2 && constant(n.input(1))) axes = int64_values(*constant(n.input(1)), "Squeeze axes");
      std::sort(axes.begin(), axes.end());
      return axes == std::vector<std::int64_t>{2, 3};
    }
    return false;
  }

  // A mean over the whole map: GlobalAveragePool ([N, C, 1, 1]), or ReduceMean over axes 2 and 3 (PyTorch's
  // x.mean((2, 3))), which gives [N, C] when keepdims = 0 (*flat).
  bool global_mean(const ::onnx::NodeProto& n, bool* flat = nullptr) const {
    if (flat) *flat = false;
    if (n.op_type() == "GlobalAveragePool") return true;
    if (n.op_type() != "ReduceMean") return false;
    std::vector<std::int64_t> axes = ints_attr(n, "axes");
    if (n.input_size() == 2 && constant(n.input(1))) axes = int64_values(*constant(n.input(1)), "ReduceMean axes");
    for (auto& a : axes)
      if (a < 0) a += 4;
    std::sort(axes.begin(), axes.end());
    if (axes != std::vector<std::int64_t>{2, 3}) return false;
    if (flat) *flat = int_attr(n, "keepdims", 1) == 0;
    return true;
  }

  void push_param(const ::onnx::TensorProto& t, const std::string& what) { result_.params.push_back(float_values(t, what)); }

  nlohmann::json conv(const ::onnx::NodeProto& n) {
    const ::onnx::TensorProto& w = weight(n, 1);
    const auto dims = dims_of(w);
    if (dims.size() != 4 || dims[2] != dims[3] || dims[2] % 2 == 0)
      refuse(n, "mien's Conv2D has square odd kernels, the weight has shape " + nlohmann::json(dims).dump());
    const std::int64_t k = dims[2];
    if (int_attr(n, "group", 1) != 1) refuse(n, "grouped convolutions have no mien layer");
    const auto strides = ints_attr(n, "strides");
    const auto dilations = ints_attr(n, "dilations");
    if (!all_equal(strides, 1) || !all_equal(dilations, 1)) refuse(n, "mien's Conv2D has stride 1 and no dilation");
    const std::string pad_mode = string_attr(n, "auto_pad");
    const auto pads = ints_attr(n, "pads");
    const bool same = pad_mode == "SAME_UPPER" || pad_mode == "SAME_LOWER" ||
                      ((pad_mode.empty() || pad_mode == "NOTSET") && pads.size() == 4 && all_equal(pads, k / 2)) ||
                      (k == 1 && pads.empty());
    if (!same) refuse(n, "mien's Conv2D pads by kernel / 2 on every side (same padding)");
    push_param(w, n.name() + " weight");
    if (n.input_size() > 2 && !n.input(2).empty()) {
      push_param(weight(n, 2), n.name() + " bias");
    } else {
      result_.params.push_back(std::vector<float>(static_cast<std::size_t>(dims[0]), 0.0f));
    }
    return {{"type", "Conv2D"}, {"filters", dims[0]}, {"kernel", k}};
  }

  // Gemm as a dense layer: y = x Wᵀ + b with W [O, F] (transB = 1), or x W + b with W [F, O] (transposed here).
  std::int64_t gemm(const ::onnx::NodeProto& n) {
    if (int_attr(n, "transA", 0) != 0 || float_attr(n, "alpha", 1.0f) != 1.0f || float_attr(n, "beta", 1.0f) != 1.0f)
      refuse(n, "a dense layer is Gemm with transA = 0, alpha = beta = 1");
    const ::onnx::TensorProto& w = weight(n, 1);
    const auto dims = dims_of(w);
    if (dims.size() != 2) refuse(n, "the weight must be a matrix");
    std::vector<float> values = float_values(w, n.name() + " weight");
    std::int64_t units = dims[0], inputs = dims[1];
    if (int_attr(n, "transB", 0) == 0) {
      units = dims[1];
      inputs = dims[0];
      std::vector<float> t(values.size());
      for (std::int64_t f = 0; f < inputs; ++f)
        for (std::int64_t o = 0; o < units; ++o) t[o * inputs + f] = values[f * units + o];
      values = std::move(t);
    }
    result_.params.push_back(std::move(values));
    if (n.input_size() > 2 && !n.input(2).empty()) {
      std::vector<float> bias = float_values(weight(n, 2), n.name() + " bias");
      if (static_cast<std::int64_t>(bias.size()) != units) refuse(n, "the bias must have one value per output");
      result_.params.push_back(std::move(bias));
    } else {
      result_.params.push_back(std::vector<float>(static_cast<std::size_t>(units), 0.0f));
    }
    return units;
  }

  // The attention pattern that starts at the GlobalAveragePool `pool` on x and ends at the Mul `join` (x ⊙ scores):
  // the dense layer as Flatten + Gemm or as a 1×1 Conv, then Tanh, Softmax over the channels, and the scores: times
  // the channel count C (per_channel), or one score copied to every channel (paper_literal: broadcast, or a 1×1 Conv
  // of ones), then only reshaped or spread over the map (reads_scores) before the Mul.
  nlohmann::json attention(const ::onnx::NodeProto& pool, const ::onnx::NodeProto& join, const std::string& x) {
    auto next = [&](const ::onnx::NodeProto& n, std::initializer_list<const char*> ops) -> const ::onnx::NodeProto& {
      const ::onnx::NodeProto* c = sole_consumer(n.output(0));
      if (!c) refuse(n, "in an attention block, each step feeds exactly one node");
      for (const char* op : ops)
        if (c->op_type() == op) return *c;
      refuse(*c, "not the dynamic-attention pattern (GlobalAveragePool, a dense layer as Gemm or 1x1 Conv, Tanh, "
                 "Softmax, [Mul by C], Mul with the map)");
    };
    bool pooled_flat = false;
    global_mean(pool, &pooled_flat);
    const ::onnx::NodeProto& first =
        pooled_flat ? pool : next(pool, {"Flatten", "Reshape", "Squeeze", "Conv"});
    const bool four_d = first.op_type() == "Conv";
    std::int64_t units = 0;
    const ::onnx::NodeProto* dense = &first;
    if (four_d) {
      const auto dims = dims_of(weight(first, 1));
      if (dims.size() != 4 || dims[2] != 1 || dims[3] != 1) refuse(first, "the attention's dense layer is a 1x1 Conv");
      units = dims[0];
      push_param(weight(first, 1), first.name() + " weight");
      if (first.input_size() > 2 && !first.input(2).empty()) {
        push_param(weight(first, 2), first.name() + " bias");
      } else {
        result_.params.push_back(std::vector<float>(static_cast<std::size_t>(units), 0.0f));
      }
    } else {
      if (!pooled_flat && !flattens(first)) refuse(first, "expected a flatten to [N, C]");
      dense = &next(first, {"Gemm"});
      units = gemm(*dense);
    }
    const ::onnx::NodeProto& tanh = next(*dense, {"Tanh"});
    const ::onnx::NodeProto& soft = next(tanh, {"Softmax"});
    const std::int64_t axis = int_attr(soft, "axis", -1);
    if (axis != 1 && !(axis == -1 && !four_d)) refuse(soft, "the attention's softmax runs over the channels (axis 1)");
    std::string scores = soft.output(0);
    std::string kind = "paper_literal";
    const ::onnx::NodeProto* step = sole_consumer(scores);
    if (step && step->op_type() == "Mul" && (constant(step->input(0)) || constant(step->input(1)))) {
      const ::onnx::TensorProto* scale = constant(step->input(step->input(0) == scores ? 1 : 0));
      if (element_count(*scale) != 1) refuse(*step, "the attention's scores are scaled by one constant");
      if (float_values(*scale, step->name() + " scale")[0] != static_cast<float>(units))
        refuse(*step, "per-channel scores are scaled by the channel count");
      kind = "per_channel";
      scores = step->output(0);
    } else if (units != 1) {
      refuse(soft, "per-channel scores (one per channel) are multiplied by the channel count");
    } else if (step && step->op_type() == "Conv" && step->input(0) == scores) {
      const ::onnx::TensorProto& ones = weight(*step, 1);
      const auto dims = dims_of(ones);
      const auto values = float_values(ones, step->name() + " weight");
      const bool copies = dims.size() == 4 && dims[1] == 1 && dims[2] == 1 && dims[3] == 1 &&
                          std::all_of(values.begin(), values.end(), [](float v) { return v == 1.0f; }) &&
                          (step->input_size() < 3 || step->input(2).empty());
      if (!copies) refuse(*step, "a paper_literal score is copied to the channels by a 1x1 Conv of ones without bias");
      scores = step->output(0);
    }
    scores_ = scores;
    const bool first_is_x = join.input(0) == x;
    if (!(first_is_x || join.input(1) == x)) refuse(join, "does not scale the attention's input");
    if (!reads_scores(join.input(first_is_x ? 1 : 0))) refuse(join, "does not multiply the map by the attention's scores");
    return {{"type", "DynamicAttention"}, {"scores", kind}};
  }

  // Whether `tensor` holds the latest attention's scores, only reshaped or spread over a map on the way.
  bool reads_scores(std::string tensor) const {
    static const std::set<std::string> moves{"Resize", "Expand", "Tile", "Reshape", "Unsqueeze"};
    while (!scores_.empty()) {
      if (tensor == scores_) return true;
      const ::onnx::NodeProto* p = producer(tensor);
      if (!p || !moves.count(p->op_type())) return false;
      tensor = p->input(0);
    }
    return false;
  }

  // The nodes reading `tensor` on the way to `to` (a branch's start sees the other branches' starts too).
  std::vector<const ::onnx::NodeProto*> consumers_toward(const std::string& tensor, const std::string& to) const {
    std::vector<const ::onnx::NodeProto*> out;
    for (const ::onnx::NodeProto* start : consumers(tensor)) {
      std::set<const ::onnx::NodeProto*> seen;
      std::vector<const ::onnx::NodeProto*> todo{start};
      bool reaches = false;
      while (!todo.empty() && !reaches) {
        const ::onnx::NodeProto* n = todo.back();
        todo.pop_back();
        if (!seen.insert(n).second) continue;
        for (const auto& o : n->output()) {
          reaches = reaches || o == to;
          for (const ::onnx::NodeProto* c : consumers(o)) todo.push_back(c);
        }
      }
      if (reaches) out.push_back(start);
    }
    return out;
  }

  // The node where every branch leaving `tensor` meets: the first node, in graph order, reached from all of them.
  const ::onnx::NodeProto* join_of(const std::vector<const ::onnx::NodeProto*>& starts) const {
    std::vector<std::set<const ::onnx::NodeProto*>> reach;
    for (const ::onnx::NodeProto* start : starts) {
      std::set<const ::onnx::NodeProto*> seen;
      std::vector<const ::onnx::NodeProto*> todo{start};
      while (!todo.empty()) {
        const ::onnx::NodeProto* n = todo.back();
        todo.pop_back();
        if (!seen.insert(n).second) continue;
        for (const auto& out : n->output())
          for (const ::onnx::NodeProto* c : consumers(out)) todo.push_back(c);
      }
      reach.push_back(std::move(seen));
    }
    const ::onnx::NodeProto* best = nullptr;
    for (const ::onnx::NodeProto* n : reach[0]) {
      bool everywhere = true;
      for (std::size_t i = 1; i < reach.size() && everywhere; ++i) everywhere = reach[i].count(n) != 0;
      if (everywhere && (!best || order_.at(n) < order_.at(best))) best = n;
    }
    return best;
  }

  // The skip of a residual join: `operand` is x itself, a 1×1 Conv of x, or either times the latest scores.
  struct Skip {
    bool ok = false, gated = false;
    const ::onnx::NodeProto* projection = nullptr;
  };
  Skip skip_of(const std::string& operand, const std::string& x) const {
    Skip s;
    if (operand == x) {
      s.ok = true;
      return s;
    }
    std::string t = operand;
    const ::onnx::NodeProto* p = producer(t);
    if (p && p->op_type() == "Mul" && (reads_scores(p->input(0)) || reads_scores(p->input(1)))) {
      s.gated = true;
      t = reads_scores(p->input(0)) ? p->input(1) : p->input(0);
      p = producer(t);
    }
    if (t == x) {
      s.ok = true;
    } else if (p && p->op_type() == "Conv" && p->input(0) == x && constant(p->input(1)) &&
               dims_of(*constant(p->input(1))).size() == 4 && dims_of(*constant(p->input(1)))[2] == 1) {
      s.ok = true;
      s.projection = p;
    }
    return s;
  }

  nlohmann::json residual(const ::onnx::NodeProto& add, const std::string& x) {
    Skip skip = skip_of(add.input(1), x);
    int body_input = 0;
    if (!skip.ok) {
      skip = skip_of(add.input(0), x);
      body_input = 1;
    }
    if (!skip.ok)
      refuse(add, "neither input is a residual skip (the block's input, a 1x1 Conv of it, or either times the scores "
                  "of an attention block)");
    nlohmann::json body = chain(x, add.input(body_input));
    if (body.empty()) refuse(add, "the residual body has no layers");
    if (skip.projection) conv(*skip.projection);  // its weights follow the body's, as Residual lists them
    nlohmann::json spec = {{"type", "Residual"}, {"body", body}, {"relu", false}, {"projection", skip.projection != nullptr}};
    if (skip.gated) spec["gate"] = "attention";
    return spec;
  }

  // The layers from tensor `from` to tensor `to`.
  nlohmann::json chain(std::string from, const std::string& to) {
    nlohmann::json specs = nlohmann::json::array();
    const std::string saved_scores = scores_;  // attention gates reach the blocks of their own sequence
    while (from != to) {
      const auto next = consumers_toward(from, to);
      if (next.empty()) throw InvalidArgument("ONNX import: tensor '" + from + "' feeds no node on the way to '" + to + "'");
      const ::onnx::NodeProto* n = next.size() == 1 ? next[0] : join_of(next);
      if (!n) throw InvalidArgument("ONNX import: the branches leaving tensor '" + from + "' never meet again");
      const std::string& op = n->op_type();
      if (next.size() > 1) {
        if (op == "Concat") {
          if (int_attr(*n, "axis", 0) != 1) refuse(*n, "branches are concatenated along the channels (axis 1)");
          nlohmann::json branches = nlohmann::json::array();
          for (const auto& in : n->input()) {
            nlohmann::json branch = chain(from, in);
            if (branch.empty()) refuse(*n, "a branch of a Parallel block needs at least one layer");
            branches.push_back(branch.size() == 1 ? branch[0] : nlohmann::json{{"type", "Sequential"}, {"layers", branch}});
          }
          specs.push_back({{"type", "Parallel"}, {"branches", branches}});
        } else if (op == "Add") {
          nlohmann::json block = residual(*n, from);
          if (const auto* relu = sole_consumer(n->output(0)); relu && relu->op_type() == "Relu") {
            block["relu"] = true;
            n = relu;
          }
          specs.push_back(block);
        } else if (op == "Mul") {
          const ::onnx::NodeProto* pool = nullptr;
          for (const auto* c : next)
            if (global_mean(*c)) pool = c;
          if (!pool) refuse(*n, "a product of two branches is read only as dynamic attention");
          specs.push_back(attention(*pool, *n, from));
        } else {
          refuse(*n, "branches meet here; mien joins branches with Concat (Parallel), Add (Residual) or Mul (attention)");
        }
        from = n->output(0);
        continue;
      }
      // One consumer: a layer, or two nodes that make one.
      if (op == "Conv") {
        specs.push_back(conv(*n));
      } else if (op == "Gemm") {
        specs.push_back({{"type", "Dense"}, {"units", gemm(*n)}});
      } else if (op == "BatchNormalization") {
        for (int i = 1; i <= 4; ++i) {
          const ::onnx::TensorProto& t = weight(*n, i);
          (i <= 2 ? result_.params : result_.buffers).push_back(float_values(t, n->name() + " input " + std::to_string(i)));
        }
        nlohmann::json spec = {{"type", "BatchNorm"},
                               {"momentum", float_attr(*n, "momentum", 0.9f)},
                               {"eps", float_attr(*n, "epsilon", 1e-5f)}};
        if (const auto* relu = sole_consumer(n->output(0)); relu && relu->op_type() == "Relu" && n->output(0) != to) {
          spec["type"] = "BatchNormReLU";
          n = relu;
        }
        specs.push_back(spec);
      } else if (op == "Relu") {
        specs.push_back({{"type", "ReLU"}});
      } else if (op == "Tanh") {
        specs.push_back({{"type", "Tanh"}});
      } else if (op == "MaxPool") {
        const auto k = ints_attr(*n, "kernel_shape");
        const auto strides = ints_attr(*n, "strides");
        const auto pads = ints_attr(*n, "pads");
        if (k.size() != 2 || k[0] != k[1] || strides != k || !all_equal(pads, 0) || int_attr(*n, "ceil_mode", 0) != 0 ||
            !all_equal(ints_attr(*n, "dilations"), 1) || n->output_size() > 1)
          refuse(*n, "mien's MaxPool2D has a square window, stride = window, no padding and no index output");
        specs.push_back({{"type", "MaxPool2D"}, {"window", k[0]}});
      } else if (bool flat_mean = false; global_mean(*n, &flat_mean)) {
        if (!flat_mean) {  // [N, C, 1, 1]: the Flatten after it belongs to the layer
          const auto* flat = sole_consumer(n->output(0));
          if (!flat || !flattens(*flat) || n->output(0) == to)
            refuse(*n, "mien's GlobalAvgPool gives [N, C]: a Flatten (or Reshape to [N, C]) must follow it");
          n = flat;
        }
        specs.push_back({{"type", "GlobalAvgPool"}});
      } else if (flattens(*n)) {
        specs.push_back({{"type", "Flatten"}});
      } else if (op == "Dropout" || op == "Identity") {
        // the identity at inference
      } else {
        refuse(*n, "no mien layer for this operator here; supported: " + supported());
      }
      from = n->output(0);
    }
    scores_ = saved_scores;
    return specs;
  }

  std::map<std::string, const ::onnx::TensorProto*> constants_;
  std::map<std::string, const ::onnx::NodeProto*> producer_;
  std::map<std::string, std::vector<const ::onnx::NodeProto*>> consumers_;
  std::map<const ::onnx::NodeProto*, int> order_;
  std::string scores_;  // the latest attention block's scores in the sequence being read
  Result result_;
};

inline std::string metadata(const ::onnx::ModelProto& model, const std::string& key) {
  for (const auto& entry : model.metadata_props())
    if (entry.key() == key) return entry.value();
  return {};
}

}  // namespace onnx_format

// A mien Net (or an Ensemble of Nets), on ctx's device, and its ModelInfo from a parsed ONNX model (see the top of
// this file). `what` names it in errors.
inline std::pair<std::unique_ptr<Model<float>>, ModelInfo> import_onnx(Context& ctx, const ::onnx::ModelProto& proto,
                                                                        const std::string& what) {
  namespace of = onnx_format;
  of::check_model(proto, what);
  const ::onnx::GraphProto& graph = proto.graph();
  std::set<std::string> stored;
  for (const auto& t : graph.initializer()) stored.insert(t.name());
  std::vector<const ::onnx::ValueInfoProto*> inputs;
  for (const auto& in : graph.input())
    if (!stored.count(in.name())) inputs.push_back(&in);
  if (inputs.size() != 1 || graph.output_size() != 1)
    throw InvalidArgument(what + ": a mien model has one input and one output; the graph has " +
                          std::to_string(inputs.size()) + " inputs and " + std::to_string(graph.output_size()) + " outputs");
  const auto& dims = inputs[0]->type().tensor_type().shape().dim();
  if (dims.size() != 4)
    throw InvalidArgument(what + ": the input '" + inputs[0]->name() + "' must be an image batch [N, C, H, W]");
  std::vector<std::int64_t> chw;
  for (int i = 1; i < 4; ++i) {
    if (!dims[i].has_dim_value() || dims[i].dim_value() <= 0)
      throw InvalidArgument(what + ": the input's C, H and W must be fixed numbers");
    chw.push_back(dims[i].dim_value());
  }

  auto place = [&](auto refs, std::vector<std::vector<float>>& values, const char* kind) {
    if (refs.size() != values.size())
      throw InvalidArgument(what + ": the graph holds " + std::to_string(values.size()) + " " + kind + " tensors, its mien " +
                            "model " + std::to_string(refs.size()));
    for (std::size_t i = 0; i < refs.size(); ++i) {
      Tensor<float>& t = *refs[i].value;
      if (values[i].size() != t.numel())
        throw InvalidArgument(what + ": '" + refs[i].name + "' needs " + std::to_string(t.numel()) + " values, the graph's tensor has " +
                              std::to_string(values[i].size()));
      t = Tensor<float>::from_vector(t.shape(), values[i]).to(t.device());
    }
  };
  of::GraphReader reader(graph);
  std::vector<std::string> ends = reader.ensemble_members(graph.output(0).name());
  const bool ensemble = !ends.empty();
  if (!ensemble) ends.push_back(graph.output(0).name());
  std::vector<std::unique_ptr<Model<float>>> members;
  for (const std::string& end : ends) {
    of::GraphReader::Result read = reader.read(inputs[0]->name(), end);
    auto net = std::make_unique<Net<float>>(read.specs);
    net->build(ctx, Shape{chw[0], chw[1], chw[2]});
    place(net->params(), read.params, "parameter");
    place(net->buffers(), read.buffers, "buffer");
    members.push_back(std::move(net));
  }
  std::unique_ptr<Model<float>> model =
      ensemble ? std::make_unique<Ensemble<float>>(std::move(members)) : std::move(members.front());

  ModelInfo info;
  info.architecture = model->architecture();
  const std::int64_t classes = model->output_shape(model->input_shape(1))[1];
  try {
    const std::string names = of::metadata(proto, of::key_class_names);
    if (!names.empty()) {
      info.class_names = nlohmann::json::parse(names).get<std::vector<std::string>>();
    } else if (classes == static_cast<std::int64_t>(emotion_class_names().size())) {
      info.class_names = emotion_class_names();
    } else {
      for (std::int64_t c = 0; c < classes; ++c) info.class_names.push_back("class_" + std::to_string(c));
    }
    const std::string mean = of::metadata(proto, of::key_pixel_mean), stddev = of::metadata(proto, of::key_pixel_stddev);
    if (!mean.empty()) info.pixel_mean = nlohmann::json::parse(mean).get<float>();
    if (!stddev.empty()) info.pixel_stddev = nlohmann::json::parse(stddev).get<float>();
  } catch (const nlohmann::json::exception& e) {
    throw InvalidArgument(what + ": malformed mien metadata: " + e.what());
  }
  if (static_cast<std::int64_t>(info.class_names.size()) != classes)
    throw InvalidArgument(what + ": names " + std::to_string(info.class_names.size()) + " classes for " +
                          std::to_string(classes) + " outputs");
  model->to(ctx.device());
  return {std::move(model), info};
}

// Reads an ONNX file (see import_onnx). A file that is not an ONNX model, or is cut short, is an IoError.
inline std::pair<std::unique_ptr<Model<float>>, ModelInfo> load_onnx_model(Context& ctx, const std::string& path) {
  const std::string bytes = onnx_format::read_file_bytes(path);
  ::onnx::ModelProto proto;
  if (bytes.empty() || !proto.ParseFromString(bytes) || !proto.has_graph())
    throw IoError("'" + path + "' is not an ONNX model (it does not parse as one: a damaged, truncated or other file)");
  try {
    return import_onnx(ctx, proto, "ONNX model '" + path + "'");
  } catch (const InvalidArgument& e) {
    // The same message as an IoError (the file's contents are wrong), naming the file where it does not yet.
    std::string message = e.what();
    if (message.rfind("mien: ", 0) == 0) message.erase(0, 6);
    if (message.find(path) == std::string::npos) message = "'" + path + "': " + message;
    throw IoError(message);
  }
}

}  // namespace mien
