// ONNX export and import: every export passes ONNX's checker and shape inference, mien -> ONNX -> mien keeps the
// weights and predictions bit for bit, OpenCV DNN (another runtime, Debian's libopencv-dnn) runs the exports with
// mien's probabilities on real FER2013 faces, and bad files and layers are clear errors.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include <onnx/shape_inference/implementation.h>

#include "mien/data/dataset.hpp"
#include "mien/models/build_model.hpp"
#include "mien/onnx/onnx_export.hpp"
#include "mien/onnx/onnx_import.hpp"
#include "mien/ops/activation.hpp"
#include "../support/fer2013.hpp"
#include "../support/temp_dir.hpp"

#ifdef MIEN_WITH_OPENCV_DNN
#include <opencv2/dnn.hpp>
#endif

using namespace mien;

namespace {

// Batch-norm statistics and affine parameters away from their fresh values (1, 0), so that a mix-up shows.
void randomize_state(Model<float>& model, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> around_one(0.5f, 1.5f), small(-0.2f, 0.2f);
  for (auto& b : model.buffers()) {
    Tensor<float> t = b.value->to(Device::cpu);
    const bool variance = b.name.find("running_var") != std::string::npos;
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = variance ? around_one(rng) : small(rng);
    *b.value = t;
  }
  for (auto& p : model.params()) {
    if (p.name.find("gamma") == std::string::npos && p.name.find("beta") == std::string::npos &&
        p.name.find("bias") == std::string::npos)
      continue;
    Tensor<float> t = p.value->to(Device::cpu);
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = p.name.find("gamma") != std::string::npos ? around_one(rng) : small(rng);
    *p.value = t;
  }
}

ModelInfo info_of(Model<float>& model) {
  ModelInfo info;
  info.architecture = model.architecture();
  info.class_names = emotion_class_names();
  info.pixel_mean = 0.5f;
  info.pixel_stddev = 0.25f;
  return info;
}

std::unique_ptr<Model<float>> paper_net(Context& ctx, const std::string& attention, bool gated, std::int64_t size = 16) {
  PaperNetConfig config;
  config.input_size = size;
  config.stream_channels = {4, 8};
  config.dense_units = {12, 10};
  config.attention = attention;
  config.gated_skips = gated;
  auto model = std::make_unique<PaperNet<float>>(ctx, config);
  randomize_state(*model, 11);
  return model;
}

// A network that is not the paper's: a parallel block, attention, a gated skip, a projection skip, global pooling.
std::unique_ptr<Model<float>> custom_net(Context& ctx, std::int64_t size = 16) {
  auto net = std::make_unique<Net<float>>(std::vector<LayerSpec>{
      nn::parallel({nn::conv(3, 3), nn::sequential({nn::conv(3, 5), nn::batchnorm_relu()})}), nn::max_pool(),
      nn::attention(), nn::gated_residual({nn::conv(6, 3), nn::batchnorm_relu(), nn::conv(6, 3), nn::batchnorm()}),
      nn::residual({nn::conv(8, 3), nn::tanh()}, false), nn::global_avg_pool(), nn::dense(9), nn::batchnorm(),
      nn::relu(), nn::dropout(0.3), nn::dense(7)});
  net->build(ctx, Shape{1, size, size});
  randomize_state(*net, 12);
  return net;
}

Tensor<float> random_images(std::int64_t n, std::int64_t size, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  Tensor<float> x = Tensor<float>::zeros(Shape{n, 1, size, size});
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = normal(rng);
  return x;
}

Tensor<float> probabilities(Context& ctx, Model<float>& model, const Tensor<float>& x) {
  Tensor<float> p;
  ops::softmax_forward(ctx, model.forward(ctx, x, Mode::infer), p);
  return p;
}

::onnx::ModelProto round_trip_bytes(const ::onnx::ModelProto& proto) {
  std::string bytes;
  REQUIRE(proto.SerializeToString(&bytes));
  ::onnx::ModelProto back;
  REQUIRE(back.ParseFromString(bytes));
  return back;
}

std::string metadata_value(const ::onnx::ModelProto& proto, const std::string& key) {
  return onnx_format::metadata(proto, key);
}

}  // namespace

TEST_CASE("mien models export to ONNX graphs that pass the checker and shape inference", "[onnx]") {
  Context ctx(3);
  std::vector<std::pair<std::string, std::unique_ptr<Model<float>>>> models;
  models.emplace_back("paper net, per-channel attention, gated skips", paper_net(ctx, "per_channel", true));
  models.emplace_back("paper net, paper-literal attention", paper_net(ctx, "paper_literal", true));
  models.emplace_back("paper net, plain skips", paper_net(ctx, "per_channel", false));
  models.emplace_back("custom net", custom_net(ctx));
  for (auto& [what, model] : models) {
    INFO(what);
    ::onnx::ModelProto proto = to_onnx(*model, info_of(*model));  // runs the checker itself
    CHECK(proto.opset_import(0).version() == 17);
    CHECK(metadata_value(proto, onnx_format::key_class_names) == nlohmann::json(emotion_class_names()).dump());
    CHECK(metadata_value(proto, onnx_format::key_input_size) == "16");
    CHECK(nlohmann::json::parse(metadata_value(proto, onnx_format::key_architecture)) == model->architecture());
    for (const auto& node : proto.graph().node()) CHECK(node.op_type() != "Dropout");
    ::onnx::shape_inference::InferShapes(proto);
    const auto& out = proto.graph().output(0).type().tensor_type().shape();
    REQUIRE(out.dim_size() == 2);
    CHECK(out.dim(0).dim_param() == "N");
    CHECK(out.dim(1).dim_value() == 7);
    // Shape inference reaches every intermediate tensor: no operator was written with a shape it cannot take.
    CHECK(proto.graph().value_info_size() + 1 >= proto.graph().node_size());
  }
}

TEST_CASE("mien -> ONNX -> mien keeps every weight and prediction bit for bit", "[onnx]") {
  Context ctx(4);
  std::vector<std::pair<std::string, std::unique_ptr<Model<float>>>> models;
  models.emplace_back("paper net, per-channel attention, gated skips", paper_net(ctx, "per_channel", true));
  models.emplace_back("paper net, paper-literal attention", paper_net(ctx, "paper_literal", true));
  models.emplace_back("paper net, plain skips", paper_net(ctx, "per_channel", false));
  models.emplace_back("custom net", custom_net(ctx));
  std::vector<std::unique_ptr<Model<float>>> members;
  members.push_back(paper_net(ctx, "per_channel", true));
  members.push_back(custom_net(ctx));
  models.emplace_back("ensemble of a paper net and a custom net", std::make_unique<Ensemble<float>>(std::move(members)));
  const Tensor<float> x = random_images(5, 16, 21);
  for (auto& [what, model] : models) {
    INFO(what);
    const ModelInfo info = info_of(*model);
    auto [imported, imported_info] = import_onnx(ctx, round_trip_bytes(to_onnx(*model, info)), what);
    CHECK(imported_info.class_names == info.class_names);
    CHECK(imported_info.pixel_mean == info.pixel_mean);
    CHECK(imported_info.pixel_stddev == info.pixel_stddev);
    CHECK(imported_info.input_size() == 16);
    CHECK((imported->type() == "Ensemble") == (model->type() == "Ensemble"));

    auto original_params = model->params();
    auto imported_params = imported->params();
    REQUIRE(original_params.size() == imported_params.size());
    for (std::size_t i = 0; i < original_params.size(); ++i) {
      INFO(original_params[i].name << " vs " << imported_params[i].name);
      const Tensor<float> a = original_params[i].value->to(Device::cpu), b = imported_params[i].value->to(Device::cpu);
      REQUIRE(a.shape() == b.shape());
      CHECK(std::memcmp(a.data(), b.data(), a.bytes()) == 0);
    }
    auto original_buffers = model->buffers();
    auto imported_buffers = imported->buffers();
    REQUIRE(original_buffers.size() == imported_buffers.size());
    for (std::size_t i = 0; i < original_buffers.size(); ++i) {
      const Tensor<float> a = original_buffers[i].value->to(Device::cpu), b = imported_buffers[i].value->to(Device::cpu);
      REQUIRE(a.shape() == b.shape());
      CHECK(std::memcmp(a.data(), b.data(), a.bytes()) == 0);
    }

    const Tensor<float> expected = probabilities(ctx, *model, x);
    const Tensor<float> got = probabilities(ctx, *imported, x);
    REQUIRE(got.shape() == expected.shape());
    CHECK(std::memcmp(got.data(), expected.data(), got.bytes()) == 0);

    // The imported network is a Net (or an Ensemble of Nets): it exports again to the same operators.
    ::onnx::ModelProto again = to_onnx(*imported, imported_info);
    const ::onnx::ModelProto first = to_onnx(*model, info);
    REQUIRE(again.graph().node_size() == first.graph().node_size());
    for (int i = 0; i < first.graph().node_size(); ++i) CHECK(again.graph().node(i).op_type() == first.graph().node(i).op_type());
  }
}

TEST_CASE("An ensemble graph whose mean is not 1/members of the sum is refused", "[onnx]") {
  Context ctx(5);
  std::vector<std::unique_ptr<Model<float>>> members;
  members.push_back(custom_net(ctx));
  members.push_back(custom_net(ctx));
  Ensemble<float> ensemble(std::move(members));
  ::onnx::ModelProto proto = to_onnx(ensemble, info_of(ensemble));
  bool changed = false;
  for (auto& t : *proto.mutable_graph()->mutable_initializer())
    if (t.name() == "ensemble.share") {
      t.clear_raw_data();
      t.clear_float_data();
      t.add_float_data(1.0f);  // the sum, not the mean
      changed = true;
    }
  REQUIRE(changed);
  CHECK_THROWS_WITH(import_onnx(ctx, proto, "sum.onnx"),
                    Catch::Contains("by 1/2") && Catch::Contains("Mul"));
}

TEST_CASE("save_onnx and load_onnx_model go through a file; damaged files and foreign operators are clear errors", "[onnx]") {
  Context ctx(5);
  testing::TempDir dir;
  auto model = custom_net(ctx);
  const std::string path = (dir.path() / "custom.onnx").string();
  save_onnx(path, *model, info_of(*model));
  auto [loaded, info] = load_onnx_model(ctx, path);
  const Tensor<float> x = random_images(2, 16, 22);
  const Tensor<float> a = probabilities(ctx, *model, x), b = probabilities(ctx, *loaded, x);
  CHECK(std::memcmp(a.data(), b.data(), a.bytes()) == 0);

  const std::string bytes = onnx_format::read_file_bytes(path);
  auto write = [&](const std::string& name, const std::string& content) {
    const std::string p = (dir.path() / name).string();
    std::ofstream(p, std::ios::binary) << content;
    return p;
  };
  SECTION("a truncated file") {
    CHECK_THROWS_WITH(load_onnx_model(ctx, write("truncated.onnx", bytes.substr(0, bytes.size() / 2))),
                      Catch::Contains("is not an ONNX model"));
  }
  SECTION("a file of another kind") {
    CHECK_THROWS_WITH(load_onnx_model(ctx, write("garbage.onnx", "\x89PNG\r\n\x1a\n not a model at all")),
                      Catch::Contains("is not an ONNX model"));
    CHECK_THROWS_WITH(load_onnx_model(ctx, write("empty.onnx", "")), Catch::Contains("is not an ONNX model"));
    CHECK_THROWS_AS(load_onnx_model(ctx, (dir.path() / "missing.onnx").string()), IoError);
  }
  SECTION("an operator outside mien's layers, named with its node") {
    ::onnx::ModelProto proto = to_onnx(*model, info_of(*model));
    ::onnx::NodeProto* last_tanh = nullptr;  // the residual body's (the first is the attention's)
    for (auto& node : *proto.mutable_graph()->mutable_node())
      if (node.op_type() == "Tanh") last_tanh = &node;
    REQUIRE(last_tanh != nullptr);
    last_tanh->set_op_type("Sin");
    last_tanh->set_name("my_sine");
    std::string changed;
    REQUIRE(proto.SerializeToString(&changed));
    const std::string sine = write("sine.onnx", changed);
    CHECK_THROWS_WITH(load_onnx_model(ctx, sine),
                      Catch::Contains("node 'my_sine' (Sin)") && Catch::Contains("no mien layer for this operator"));
    // One "mien: " prefix, and the file named, as an IoError (the file's contents are wrong).
    CHECK_THROWS_WITH(load_onnx_model(ctx, sine), Catch::StartsWith("mien: '" + sine + "': ONNX import: node"));
    CHECK_THROWS_AS(load_onnx_model(ctx, sine), IoError);
  }
  SECTION("a convolution mien has no layer for") {
    ::onnx::ModelProto proto = to_onnx(*model, info_of(*model));
    for (auto& node : *proto.mutable_graph()->mutable_node())
      if (node.op_type() == "Conv") {
        for (auto& a : *node.mutable_attribute())
          if (a.name() == "strides") a.set_ints(0, 2), a.set_ints(1, 2);
        break;
      }
    CHECK_THROWS_WITH(import_onnx(ctx, proto, "strided"), Catch::Contains("stride 1"));
  }
  SECTION("a graph that fails ONNX's checker") {
    ::onnx::ModelProto proto = to_onnx(*model, info_of(*model));
    proto.mutable_graph()->mutable_node(0)->set_input(1, "no_such_tensor");
    CHECK_THROWS_WITH(import_onnx(ctx, proto, "broken"), Catch::Contains("fails the ONNX checker"));
  }
}

namespace {
// A user's layer that mien's exporter does not know.
class Halving : public Layer<float> {
 public:
  std::string type() const override { return "Halving"; }
  Shape output_shape(const Shape& input) const override { return input; }
  const Tensor<float>& forward(Context&, const Tensor<float>& x, Mode) override {
    y_ = x;
    return y_;
  }
  const Tensor<float>& backward(Context&, const Tensor<float>& dy) override { return dy; }

 private:
  Tensor<float> y_;
};
}  // namespace

TEST_CASE("A layer without an ONNX form is an error naming the layer", "[onnx]") {
  Context ctx(6);
  static const bool registered = [] {
    LayerRegistry<float>::instance().add("Halving", [](Context&, const nlohmann::json&, const Shape&) -> std::unique_ptr<Layer<float>> {
      return std::make_unique<Halving>();
    });
    return true;
  }();
  (void)registered;
  Net<float> net({nn::conv(2, 3), LayerSpec{nlohmann::json{{"type", "Halving"}}}, nn::flatten(), nn::dense(7)});
  net.build(ctx, Shape{1, 8, 8});
  CHECK_THROWS_WITH(to_onnx(net, info_of(net)), Catch::Contains("layer 'halving_2' of type 'Halving' has no ONNX form"));
}

TEST_CASE("A graph written by another tool imports: Gemm without transB, Reshape to [N, F], unfused batch norm", "[onnx]") {
  // conv 3x3 (no bias) -> BatchNormalization -> Relu -> MaxPool -> Reshape [-1, 2*4*4] -> Gemm (weight [F, O]) -> Softmax
  ::onnx::ModelProto proto;
  proto.set_ir_version(8);
  proto.add_opset_import()->set_version(17);
  auto& g = *proto.mutable_graph();
  g.set_name("foreign");
  onnx_format::set_tensor_type(*g.add_input(), "x", {-1, 1, 8, 8});
  onnx_format::set_tensor_type(*g.add_output(), "y", {-1, 3});
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-1, 1);
  auto init = [&](const std::string& name, Shape shape, float offset = 0) {
    Tensor<float> t = Tensor<float>::zeros(shape);
    for (std::size_t i = 0; i < t.numel(); ++i) t[i] = u(rng) * 0.5f + offset;
    *g.add_initializer() = onnx_format::to_tensor_proto(name, t);
    return t;
  };
  const Tensor<float> w = init("w", Shape{2, 1, 3, 3});
  init("gamma", Shape{2}, 1.0f), init("beta", Shape{2}), init("mean", Shape{2}), init("var", Shape{2}, 1.0f);
  const Tensor<float> fc = init("fc", Shape{32, 3});
  init("fc_b", Shape{3});
  *g.add_initializer() = onnx_format::int64_tensor_proto("flat", {-1, 32});
  auto node = [&](const std::string& op, std::vector<std::string> in, const std::string& out) -> ::onnx::NodeProto& {
    auto& n = *g.add_node();
    n.set_op_type(op);
    n.set_name(out + "_node");
    for (auto& i : in) n.add_input(i);
    n.add_output(out);
    return n;
  };
  auto ints = [](::onnx::NodeProto& n, const std::string& key, std::vector<std::int64_t> v) {
    auto& a = *n.add_attribute();
    a.set_name(key);
    a.set_type(::onnx::AttributeProto::INTS);
    for (auto x : v) a.add_ints(x);
  };
  auto& conv = node("Conv", {"x", "w"}, "c");
  ints(conv, "kernel_shape", {3, 3});  // optional in ONNX, but OpenCV DNN needs it (PyTorch and Keras write it)
  ints(conv, "pads", {1, 1, 1, 1});
  node("BatchNormalization", {"c", "gamma", "beta", "mean", "var"}, "b");
  node("Relu", {"b"}, "r");
  auto& pool = node("MaxPool", {"r"}, "p");
  ints(pool, "kernel_shape", {2, 2});
  ints(pool, "strides", {2, 2});
  node("Reshape", {"p", "flat"}, "f");
  node("Gemm", {"f", "fc", "fc_b"}, "logits");
  node("Softmax", {"logits"}, "y");

  Context ctx(7);
  auto [model, info] = import_onnx(ctx, proto, "foreign graph");
  CHECK(info.class_names.size() == 3);
  CHECK(info.pixel_mean == 0.0f);
  CHECK(info.pixel_stddev == 1.0f);
  const nlohmann::json layers = model->architecture().at("layers");
  REQUIRE(layers.size() == 5);
  CHECK(layers[1].at("type") == "BatchNormReLU");
  CHECK(layers[1].at("eps").get<double>() == Approx(1e-5));
  CHECK(layers[3].at("type") == "Flatten");
  CHECK(layers[4].at("type") == "Dense");
  // The Gemm's [F, O] weight is stored transposed as the dense layer's [O, F].
  const Tensor<float> dense_w = model->params()[4].value->to(Device::cpu);
  REQUIRE(dense_w.shape() == Shape({3, 32}));
  for (std::int64_t f = 0; f < 32; ++f)
    for (std::int64_t o = 0; o < 3; ++o) CHECK(dense_w[o * 32 + f] == fc[f * 3 + o]);
  // The missing conv bias is zero.
  const Tensor<float> conv_b = model->params()[1].value->to(Device::cpu);
  CHECK(conv_b[0] == 0.0f);
  CHECK(conv_b[1] == 0.0f);
  // The graph's arithmetic written out in plain loops (OpenCV DNN 4.6 misreads a Gemm with transB = 0, so it cannot
  // be the reference here): the imported model gives the same probabilities.
  const auto value = [&](const char* name) {
    for (const auto& t : g.initializer())
      if (t.name() == name) return onnx_format::float_values(t, name);
    return std::vector<float>{};
  };
  const auto gamma = value("gamma"), beta = value("beta"), mean = value("mean"), var = value("var"), fc_b = value("fc_b");
  const Tensor<float> x = random_images(3, 8, 23);
  const Tensor<float> mine = probabilities(ctx, *model, x);
  for (std::int64_t n = 0; n < 3; ++n) {
    float features[32];
    for (int c = 0; c < 2; ++c)
      for (int py = 0; py < 4; ++py)
        for (int px = 0; px < 4; ++px) {
          float best = -1e30f;
          for (int y = 2 * py; y < 2 * py + 2; ++y)
            for (int xx = 2 * px; xx < 2 * px + 2; ++xx) {
              float sum = 0;
              for (int ky = 0; ky < 3; ++ky)
                for (int kx = 0; kx < 3; ++kx) {
                  const int iy = y + ky - 1, ix = xx + kx - 1;
                  if (iy >= 0 && iy < 8 && ix >= 0 && ix < 8) sum += x[n * 64 + iy * 8 + ix] * w[c * 9 + ky * 3 + kx];
                }
              const float b = gamma[c] * (sum - mean[c]) / std::sqrt(var[c] + 1e-5f) + beta[c];
              best = std::max(best, std::max(b, 0.0f));
            }
          features[c * 16 + py * 4 + px] = best;
        }
    float logits[3], top = -1e30f, total = 0;
    for (int o = 0; o < 3; ++o) {
      logits[o] = fc_b[o];
      for (int f = 0; f < 32; ++f) logits[o] += features[f] * fc[f * 3 + o];
      top = std::max(top, logits[o]);
    }
    for (float& l : logits) total += (l = std::exp(l - top));
    for (int o = 0; o < 3; ++o) CHECK(mine[n * 3 + o] == Approx(logits[o] / total).margin(1e-5));
  }
}

#ifdef MIEN_WITH_OPENCV_DNN
namespace {
// Up to `count` FER2013 test faces, spread over the folder's classes, as a normalised [count, 1, 48, 48] batch.
Tensor<float> fer2013_faces(std::size_t count, const ModelInfo& info, std::string* why) {
  const auto root = testing::fer2013_root(why);
  if (!root) return {};
  LoadOptions load;
  load.image_size = 48;
  const Dataset test = load_image_folder(*root, "test", load);
  Tensor<float> x = Tensor<float>::zeros(Shape{static_cast<std::int64_t>(count), 1, 48, 48});
  const std::size_t stride = test.size() / count, pixels = test.image_pixels();
  for (std::size_t i = 0; i < count; ++i) {
    const std::uint8_t* image = test.image(i * stride);
    for (std::size_t p = 0; p < pixels; ++p)
      x[i * pixels + p] = (image[p] / 255.0f - info.pixel_mean) / info.pixel_stddev;
  }
  return x;
}

float max_difference_with_opencv(Context& ctx, Model<float>& model, const ModelInfo& info, const Tensor<float>& x) {
  std::string bytes;
  REQUIRE(to_onnx(model, info).SerializeToString(&bytes));
  cv::dnn::Net net = cv::dnn::readNetFromONNX(bytes.data(), bytes.size());
  const Shape s = x.shape();
  cv::Mat blob({static_cast<int>(s.n()), static_cast<int>(s.c()), static_cast<int>(s.h()), static_cast<int>(s.w())}, CV_32F,
               const_cast<float*>(x.data()));
  net.setInput(blob);
  const cv::Mat theirs = net.forward();
  const Tensor<float> mine = probabilities(ctx, model, x);
  REQUIRE(theirs.total() == mine.numel());
  float worst = 0;
  for (std::size_t i = 0; i < mine.numel(); ++i) worst = std::max(worst, std::abs(theirs.ptr<float>()[i] - mine[i]));
  return worst;
}
}  // namespace

TEST_CASE("OpenCV DNN runs mien's exports with mien's probabilities on FER2013 faces", "[onnx][opencv]") {
  Context ctx(8);
  const std::filesystem::path bundled = std::filesystem::path(MIEN_SOURCE_DIR) / "models" / "fer2013-48.ckpt";
  std::vector<std::pair<std::string, std::pair<std::unique_ptr<Model<float>>, ModelInfo>>> models;
  if (std::filesystem::exists(bundled)) {
    models.emplace_back("the bundled model", load_model(ctx, bundled.string()));
  } else {
    WARN("no bundled model at " << bundled.string() << "; the paper network runs with fresh weights");
    auto net = paper_net(ctx, "per_channel", true, 48);
    ModelInfo info = info_of(*net);
    models.emplace_back("a fresh paper network", std::make_pair(std::move(net), info));
  }
  auto custom = custom_net(ctx, 48);
  ModelInfo custom_info = info_of(*custom);
  models.emplace_back("a custom network", std::make_pair(std::move(custom), custom_info));
  auto literal = paper_net(ctx, "paper_literal", false, 48);
  ModelInfo literal_info = info_of(*literal);
  models.emplace_back("the paper network with paper-literal attention and plain skips",
                      std::make_pair(std::move(literal), literal_info));
  std::vector<std::unique_ptr<Model<float>>> members;
  members.push_back(custom_net(ctx, 48));
  members.push_back(paper_net(ctx, "per_channel", true, 48));
  auto ensemble = std::make_unique<Ensemble<float>>(std::move(members));
  ModelInfo ensemble_info = info_of(*ensemble);
  models.emplace_back("an ensemble of a custom and a paper network",
                      std::make_pair(std::unique_ptr<Model<float>>(std::move(ensemble)), ensemble_info));

  for (auto& [what, entry] : models) {
    INFO(what);
    auto& [model, info] = entry;
    std::string why;
    Tensor<float> faces = fer2013_faces(64, info, &why);
    if (faces.numel() == 0) {
      WARN("FER2013 is absent (" << why << "): random images instead");
      faces = random_images(64, 48, 24);
    }
    const float worst = max_difference_with_opencv(ctx, *model, info, faces);
    std::printf("OpenCV DNN vs mien on %lld images, %s: largest probability difference %.1e\n",
                static_cast<long long>(faces.shape().n()), what.c_str(), worst);
    INFO("largest probability difference " << worst);
    CHECK(worst <= 1e-4f);
  }
}
#endif
