#pragma once
// ONNX export: any mien model (a Net of the library's layers and blocks, or the PaperNet) as an ONNX inference graph.
//
//   ::onnx::ModelProto proto = mien::to_onnx(model, info);   // info: class names and pixel normalisation
//   mien::save_onnx("model.onnx", model, info);              // the same, checked and written atomically
//
// The graph: input "input" [N, C, H, W] float (N dynamic), output "probabilities" [N, classes] (a Softmax after the
// model's logits). Layers map to standard operators:
//   Conv2D -> Conv (same padding)      Dense -> Gemm (transB = 1)        Dropout -> nothing (inference)
//   BatchNorm -> BatchNormalization (kept, not folded: weights survive a round trip bit for bit); BatchNormReLU adds a Relu
//   MaxPool2D -> MaxPool               GlobalAvgPool -> GlobalAveragePool + Flatten     Flatten -> Flatten
//   ReLU / Tanh / Softmax -> Relu / Tanh / Softmax (axis 1)           Parallel -> its branches + Concat (axis 1)
//   DynamicAttention -> GlobalAveragePool, Conv 1×1 (its dense layer), Tanh, Softmax (axis 1), then Mul by C
//                       (per_channel) or a 1×1 Conv of ones (paper_literal: one score for every channel): the
//                       scores [N, C, 1, 1]; Resize (nearest) to the map's H × W, then Mul with the map
//   Residual -> body + skip (identity, or a 1×1 Conv), Add, Relu; a gated skip is Mul(skip, scores) before the Add
//   Ensemble -> each member's graph and Softmax, Add, Mul by 1/members, Log (the final Softmax gives the mean back)
// The Resize changes no value: OpenCV DNN (4.6) multiplies only tensors of one shape or by constants, so the scores
// are spread over the map before the Mul rather than left to broadcasting.
// Initializers are named after the parameters ("stream3.conv1.weight"). Metadata (metadata_props): class names,
// input size, normalisation, mien's version and the model's architecture (onnx_common.hpp lists the keys).
// A layer without an ONNX form is an error naming the layer.
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/io/checkpoint.hpp"
#include "mien/layers/activation.hpp"
#include "mien/layers/batchnorm.hpp"
#include "mien/layers/conv2d.hpp"
#include "mien/layers/dense.hpp"
#include "mien/layers/dropout.hpp"
#include "mien/layers/dynamic_attention.hpp"
#include "mien/layers/flatten.hpp"
#include "mien/layers/parallel.hpp"
#include "mien/layers/pooling.hpp"
#include "mien/layers/residual.hpp"
#include "mien/layers/sequential.hpp"
#include "mien/models/ensemble.hpp"
#include "mien/models/net.hpp"
#include "mien/models/paper_net.hpp"
#include "mien/onnx/onnx_common.hpp"
#include "mien/train/checkpointing.hpp"

namespace mien {
namespace onnx_format {

// Writes one model's graph: nodes, initializers and the names of the tensors between them.
class GraphWriter {
 public:
  explicit GraphWriter(::onnx::GraphProto& graph) : graph_(graph) {}

  // The tensor the model's output (logits) comes out as, given the input tensor's name; `prefix` names the nodes
  // and initializers of an ensemble's members.
  std::string model(Model<float>& model, const std::string& input, const std::string& prefix = "") {
    shapes_[input] = model.input_shape(1);
    if (auto* net = dynamic_cast<Net<float>*>(&model)) return layer(net->layers(), prefix, input);
    if (auto* paper = dynamic_cast<PaperNet<float>*>(&model)) {
      if (prefix.empty()) rename_ = &PaperNet<float>::checkpoint_name;  // initializers named as in its checkpoints
      return layer(paper->layers(), prefix, input);
    }
    if (auto* ensemble = dynamic_cast<Ensemble<float>*>(&model)) {
      // As Ensemble::forward: the log of the members' averaged probabilities (the final Softmax undoes the Log).
      std::string sum;
      for (std::size_t k = 0; k < ensemble->size(); ++k) {
        const std::string member = join(prefix, "member" + std::to_string(k + 1));
        const std::string p = softmax(member, this->model(ensemble->member(k), input, member));
        sum = sum.empty() ? p : out(node("Add", join(prefix, "ensemble"), {sum, p}));
      }
      const Tensor<float> share = Tensor<float>::filled(Shape{1}, 1.0f / static_cast<float>(ensemble->size()));
      const std::string mean =
          out(node("Mul", join(prefix, "ensemble"), {sum, initializer(join(prefix, "ensemble.share"), share)}));
      return out(node("Log", join(prefix, "ensemble"), {mean}));
    }
    throw InvalidArgument("ONNX export: the model type '" + model.type() +
                          "' has no exporter; Net, PaperNet and Ensemble models export");
  }

 private:
  static std::string join(const std::string& prefix, const std::string& name) {
    return prefix.empty() ? name : prefix + "." + name;
  }

  // A node with one output, named after the layer and the operator ("stream3.conv1/Conv").
  ::onnx::NodeProto& node(const std::string& op, const std::string& layer_name, std::vector<std::string> inputs) {
    ::onnx::NodeProto& n = *graph_.add_node();
    n.set_op_type(op);
    const std::string base = (layer_name.empty() ? std::string("model") : layer_name) + "/" + op;
    std::string name = base;
    for (int k = 2; used_.count(name); ++k) name = base + "_" + std::to_string(k);
    used_[name] = true;
    n.set_name(name);
    for (auto& i : inputs) n.add_input(i);
    n.add_output(name);
    return n;
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, std::int64_t v) {
    auto& a = *n.add_attribute();
    a.set_name(key);
    a.set_type(::onnx::AttributeProto::INT);
    a.set_i(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, float v) {
    auto& a = *n.add_attribute();
    a.set_name(key);
    a.set_type(::onnx::AttributeProto::FLOAT);
    a.set_f(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, const std::string& v) {
    auto& a = *n.add_attribute();
    a.set_name(key);
    a.set_type(::onnx::AttributeProto::STRING);
    a.set_s(v);
  }
  static void attr(::onnx::NodeProto& n, const std::string& key, const std::vector<std::int64_t>& v) {
    auto& a = *n.add_attribute();
    a.set_name(key);
    a.set_type(::onnx::AttributeProto::INTS);
    for (std::int64_t x : v) a.add_ints(x);
  }
  std::string initializer(const std::string& path, const Tensor<float>& t) {
    const std::string name = rename_(path);
    *graph_.add_initializer() = to_tensor_proto(name, t);
    return name;
  }
  std::string int64_initializer(const std::string& name, const std::vector<std::int64_t>& v) {
    *graph_.add_initializer() = int64_tensor_proto(name, v);
    return name;
  }
  static const std::string& out(const ::onnx::NodeProto& n) { return n.output(0); }

  std::string conv(Conv2D<float>& c, const std::string& name, const std::string& x) {
    auto& n = node("Conv", name, {x, initializer(join(name, "weight"), c.weight()), initializer(join(name, "bias"), c.bias())});
    const std::int64_t k = c.kernel(), p = k / 2;
    attr(n, "kernel_shape", std::vector<std::int64_t>{k, k});
    attr(n, "pads", std::vector<std::int64_t>{p, p, p, p});
    attr(n, "strides", std::vector<std::int64_t>{1, 1});
    return out(n);
  }
  std::string dense(Dense<float>& d, const std::string& name, const std::string& x) {
    auto& n = node("Gemm", name, {x, initializer(join(name, "weight"), d.weight()), initializer(join(name, "bias"), d.bias())});
    attr(n, "transB", std::int64_t{1});
    return out(n);
  }
  std::string batchnorm(BatchNorm<float>& bn, const std::string& name, const std::string& x) {
    std::vector<std::string> inputs{x};
    for (auto& p : bn.params()) inputs.push_back(initializer(join(name, p.name), *p.value));   // gamma, beta
    for (auto& b : bn.buffers()) inputs.push_back(initializer(join(name, b.name), *b.value));  // running mean, var
    auto& n = node("BatchNormalization", name, inputs);
    attr(n, "epsilon", static_cast<float>(bn.eps()));
    attr(n, "momentum", static_cast<float>(bn.momentum()));
    if (!dynamic_cast<BatchNormReLU<float>*>(&bn)) return out(n);
    return out(node("Relu", name, {out(n)}));
  }
  std::string flatten(const std::string& name, const std::string& x) {
    auto& n = node("Flatten", name, {x});
    attr(n, "axis", std::int64_t{1});
    return out(n);
  }
  std::string softmax(const std::string& name, const std::string& x) {
    auto& n = node("Softmax", name, {x});
    attr(n, "axis", std::int64_t{1});
    return out(n);
  }

  // The scores s [N, C, 1, 1] and the scaled map x ⊙ s. The whole block stays 4-D (the dense layer as a 1×1 Conv
  // on the pooled [N, C, 1, 1] map) so that runtimes without general broadcasting (OpenCV DNN 4.6) read it.
  std::string attention(DynamicAttention<float>& a, const std::string& name, const std::string& x) {
    const std::string pooled = out(node("GlobalAveragePool", name, {x}));
    auto params = a.params();  // dense.weight [O, C], dense.bias [O]
    Tensor<float> w = params[0].value->to(Device::cpu);
    w.reshape(Shape{w.shape()[0], w.shape()[1], 1, 1});
    auto& dense = node("Conv", name, {pooled, initializer(join(name, params[0].name), w),
                                      initializer(join(name, params[1].name), *params[1].value)});
    attr(dense, "kernel_shape", std::vector<std::int64_t>{1, 1});
    std::string scores = softmax(name, out(node("Tanh", name, {out(dense)})));
    const std::int64_t c = a.channels();
    if (a.kind() == AttentionScores::per_channel) {
      // s = C · softmax: a one-element constant broadcasts (Tensor<float> holds no rank-0 tensors).
      scores = out(node("Mul", name, {scores, initializer(join(name, "scale"), Tensor<float>::filled(Shape{1}, float(c)))}));
    } else {
      // The single score copied to every channel: a 1×1 Conv with weights of ones, as the layer's own expand step.
      auto& expand = node("Conv", name, {scores, initializer(join(name, "expand"), Tensor<float>::filled(Shape{c, 1, 1, 1}, 1.0f))});
      attr(expand, "kernel_shape", std::vector<std::int64_t>{1, 1});
      scores = out(expand);
    }
    scores_[&a] = scores;
    return times_scores(name, x, scores);
  }

  // x ⊙ scores, the [N, C, 1, 1] scores first spread over x's H × W (see the top of this file).
  std::string times_scores(const std::string& name, const std::string& x, const std::string& scores) {
    const Shape shape = shape_of(x);
    std::string spread = scores;
    if (shape.h() != 1 || shape.w() != 1) {
      const std::string key = scores + "@" + std::to_string(shape.h()) + "x" + std::to_string(shape.w());
      auto it = spread_.find(key);
      if (it == spread_.end()) {
        if (roi_.empty()) roi_ = initializer("resize_roi", Tensor<float>::filled(Shape{0}, 0.0f));
        const std::string scales = initializer(
            join(name, "spread_" + std::to_string(shape.h()) + "x" + std::to_string(shape.w())),
            Tensor<float>::from_vector(Shape{4}, {1.0f, 1.0f, float(shape.h()), float(shape.w())}));
        auto& resize = node("Resize", name, {scores, roi_, scales});
        attr(resize, "mode", std::string("nearest"));
        it = spread_.emplace(key, out(resize)).first;
      }
      spread = it->second;
    }
    const std::string y = out(node("Mul", name, {x, spread}));
    shapes_[y] = shape;
    return y;
  }
  const Shape& shape_of(const std::string& tensor) const {
    const auto it = shapes_.find(tensor);
    if (it == shapes_.end()) throw InvalidArgument("ONNX export: no shape known for tensor '" + tensor + "'");
    return it->second;
  }

  std::string residual(Residual<float>& r, const std::string& name, const std::string& x) {
    const std::string body = layer(r.body(), join(name, "body"), x);
    std::string skip = r.has_projection() ? conv(r.projection(), join(name, "projection"), x) : x;
    shapes_[skip] = shape_of(body);
    if (r.gated()) skip = times_scores(name, skip, scores_of(r.gate(), name));
    const std::string sum = out(node("Add", name, {body, skip}));
    return r.relu() ? out(node("Relu", name, {sum})) : sum;
  }

  std::string scores_of(const DynamicAttention<float>* a, const std::string& name) {
    const auto it = scores_.find(a);
    if (it == scores_.end())
      throw InvalidArgument("ONNX export: the gated block '" + name + "' reads an attention layer that comes after it");
    return it->second;
  }

  std::string layer(Layer<float>& l, const std::string& name, const std::string& x) {
    const std::string y = layer_nodes(l, name, x);
    shapes_[y] = l.output_shape(shape_of(x));
    return y;
  }
  std::string layer_nodes(Layer<float>& l, const std::string& name, const std::string& x) {
    if (auto* seq = dynamic_cast<Sequential<float>*>(&l)) {
      std::string h = x;
      for (std::size_t i = 0; i < seq->size(); ++i) h = layer(seq->at(i), join(name, seq->name_at(i)), h);
      return h;
    }
    if (auto* par = dynamic_cast<Parallel<float>*>(&l)) {
      std::vector<std::string> branches;
      for (std::size_t i = 0; i < par->size(); ++i) branches.push_back(layer(par->at(i), join(name, par->name_at(i)), x));
      auto& n = node("Concat", name, branches);
      attr(n, "axis", std::int64_t{1});
      return out(n);
    }
    if (auto* c = dynamic_cast<Conv2D<float>*>(&l)) return conv(*c, name, x);
    if (auto* d = dynamic_cast<Dense<float>*>(&l)) return dense(*d, name, x);
    if (auto* bn = dynamic_cast<BatchNorm<float>*>(&l)) return batchnorm(*bn, name, x);
    if (dynamic_cast<ReLU<float>*>(&l)) return out(node("Relu", name, {x}));
    if (dynamic_cast<Tanh<float>*>(&l)) return out(node("Tanh", name, {x}));
    if (dynamic_cast<Softmax<float>*>(&l)) return softmax(name, x);
    if (auto* p = dynamic_cast<MaxPool2D<float>*>(&l)) {
      auto& n = node("MaxPool", name, {x});
      attr(n, "kernel_shape", std::vector<std::int64_t>{p->window(), p->window()});
      attr(n, "strides", std::vector<std::int64_t>{p->window(), p->window()});
      return out(n);
    }
    if (dynamic_cast<GlobalAvgPool<float>*>(&l)) return flatten(name, out(node("GlobalAveragePool", name, {x})));
    if (dynamic_cast<Flatten<float>*>(&l)) return flatten(name, x);
    if (dynamic_cast<Dropout<float>*>(&l)) return x;  // the identity at inference
    if (auto* a = dynamic_cast<DynamicAttention<float>*>(&l)) return attention(*a, name, x);
    if (auto* r = dynamic_cast<Residual<float>*>(&l)) return residual(*r, name, x);
    throw InvalidArgument("ONNX export: layer '" + name + "' of type '" + l.type() +
                          "' has no ONNX form (the exporter knows mien's own layers and blocks)");
  }

  ::onnx::GraphProto& graph_;
  std::string (*rename_)(std::string) = [](std::string name) { return name; };
  std::map<std::string, bool> used_;
  std::map<const DynamicAttention<float>*, std::string> scores_;  // each attention layer's [N, C, 1, 1] scores
  std::map<std::string, Shape> shapes_;                            // the shape of each tensor (batch 1)
  std::map<std::string, std::string> spread_;                      // scores spread to an H × W, by scores and size
  std::string roi_;                                                // Resize's (unused) region input
};

inline void set_tensor_type(::onnx::ValueInfoProto& v, const std::string& name, const std::vector<std::int64_t>& dims) {
  v.set_name(name);
  auto& tensor = *v.mutable_type()->mutable_tensor_type();
  tensor.set_elem_type(::onnx::TensorProto::FLOAT);
  for (std::int64_t d : dims) {
    auto& dim = *tensor.mutable_shape()->add_dim();
    if (d < 0) {
      dim.set_dim_param("N");
    } else {
      dim.set_dim_value(d);
    }
  }
}

inline void add_metadata(::onnx::ModelProto& model, const std::string& key, const std::string& value) {
  auto& entry = *model.add_metadata_props();
  entry.set_key(key);
  entry.set_value(value);
}

}  // namespace onnx_format

// The model as an ONNX inference graph (see the top of this file), checked by ONNX's checker. The model's
// parameters may be on any device; they are copied to the host.
inline ::onnx::ModelProto to_onnx(Model<float>& model, const ModelInfo& info) {
  namespace of = onnx_format;
  ::onnx::ModelProto proto;
  proto.set_ir_version(::onnx::IR_VERSION);
  proto.set_producer_name("mien");
  proto.set_producer_version(of::mien_version());
  proto.set_model_version(1);
  auto& opset = *proto.add_opset_import();
  opset.set_domain("");
  opset.set_version(of::opset);

  ::onnx::GraphProto& graph = *proto.mutable_graph();
  graph.set_name(model.type());
  const Shape in = model.input_shape(1);
  of::set_tensor_type(*graph.add_input(), "input", {-1, in.c(), in.h(), in.w()});
  of::GraphWriter writer(graph);
  const std::string logits = writer.model(model, "input");
  auto& softmax = *graph.add_node();
  softmax.set_op_type("Softmax");
  softmax.set_name("probabilities/Softmax");
  softmax.add_input(logits);
  softmax.add_output("probabilities");
  auto& axis = *softmax.add_attribute();
  axis.set_name("axis");
  axis.set_type(::onnx::AttributeProto::INT);
  axis.set_i(1);
  const Shape output = model.output_shape(in);
  check_arg(output.rank() == 2, "to_onnx", "the model's output is ", output, "; an exported model outputs [N, classes]");
  of::set_tensor_type(*graph.add_output(), "probabilities", {-1, output[1]});

  of::add_metadata(proto, of::key_class_names, nlohmann::json(info.class_names).dump());
  of::add_metadata(proto, of::key_pixel_mean, nlohmann::json(info.pixel_mean).dump());
  of::add_metadata(proto, of::key_pixel_stddev, nlohmann::json(info.pixel_stddev).dump());
  of::add_metadata(proto, of::key_input_size, std::to_string(in.h()));
  of::add_metadata(proto, of::key_architecture, model.architecture().dump());
  of::add_metadata(proto, of::key_mien_version, of::mien_version());
  of::check_model(proto, "the exported '" + model.type() + "' graph");
  return proto;
}

// Writes the model's ONNX file atomically (a temporary file, then a rename: an existing file survives a failure).
inline void save_onnx(const std::string& path, Model<float>& model, const ModelInfo& info) {
  std::string bytes;
  if (!to_onnx(model, info).SerializeToString(&bytes)) throw IoError("cannot serialise the ONNX model for '" + path + "'");
  detail::write_file_atomically(path, bytes);
}

}  // namespace mien
