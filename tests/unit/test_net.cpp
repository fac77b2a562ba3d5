// Networks declared from layer specs (models/net.hpp): shape inference and automatic names, the Parallel and
// Residual blocks' gradients, the layer registry (unknown types, a user's own type), checkpoints that rebuild any
// network, and the trainer, summary and attention maps on a network that is not the paper's.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>
#include <vector>

#include "mien/models/net.hpp"
#include "mien/models/summary.hpp"
#include "mien/optim/adam.hpp"
#include "mien/testing/gradcheck.hpp"
#include "mien/train/attention_map.hpp"
#include "mien/train/grad_cam.hpp"
#include "mien/train/trainer.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;
namespace nn = mien::nn;

namespace {

// A small residual CNN with a parallel block and attention, for images of any size divisible by 4.
std::vector<LayerSpec> small_cnn(std::int64_t classes) {
  return {nn::conv(6, 3),
          nn::batchnorm_relu(),
          nn::max_pool(),
          nn::parallel({nn::sequential({nn::conv(4, 3), nn::batchnorm_relu()}),
                        nn::sequential({nn::conv(3, 5), nn::batchnorm_relu()})}),
          nn::attention(),
          nn::residual({nn::conv(7, 3), nn::batchnorm_relu(), nn::conv(7, 3)}),
          nn::max_pool(),
          nn::flatten(),
          nn::dense(12),
          nn::relu(),
          nn::dropout(0.25),
          nn::dense(classes)};
}

template <class T>
std::vector<std::string> param_names(Module<T>& m) {
  std::vector<std::string> names;
  for (auto& p : m.params()) names.push_back(p.name);
  return names;
}

bool has(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// Class c: a bright 3×3 square in corner c of a noisy 12×12 image (learnable in a few epochs).
Dataset corner_squares(std::size_t per_class) {
  Dataset ds;
  ds.height = ds.width = 12;
  ds.class_names = {"top_left", "top_right", "bottom_left"};
  ds.origin_names = {"train"};
  const RandomStream noise{3, 0x4E4Fu, 0};
  std::uint64_t k = 0;
  for (std::size_t c = 0; c < 3; ++c)
    for (std::size_t s = 0; s < per_class; ++s) {
      const std::size_t i = ds.labels.size();
      for (int p = 0; p < 144; ++p) ds.pixels.push_back(static_cast<std::uint8_t>(60 * noise.uniform(k++)));
      const int y0 = c == 2 ? 8 : 1, x0 = c == 1 ? 8 : 1;
      for (int y = y0; y < y0 + 3; ++y)
        for (int x = x0; x < x0 + 3; ++x) ds.pixels[i * 144 + y * 12 + x] = 230;
      ds.labels.push_back(static_cast<std::int32_t>(c));
      ds.sources.push_back("corner/" + std::to_string(i));
      ds.content_hashes.push_back(pixel_hash(ds.image(i), 12, 12));
      ds.origins.push_back(0);
    }
  ds.report.loaded = ds.labels.size();
  return ds;
}

}  // namespace

TEST_CASE("A Net infers every size from its input and names its layers by type and position", "[net]") {
  Context ctx(1);
  Net<float> net(small_cnn(3));
  CHECK_FALSE(net.built());
  net.build(ctx, Shape{1, 16, 16});
  CHECK(net.input_shape(5) == Shape({5, 1, 16, 16}));
  CHECK(net.output_shape(Shape{5, 1, 16, 16}) == Shape({5, 3}));
  const auto names = param_names(net);
  CHECK(names.front() == "conv2d_1.weight");
  CHECK(has(names, "parallel_4.branch1.conv2d_1.weight"));
  CHECK(has(names, "parallel_4.branch2.conv2d_1.weight"));
  CHECK(has(names, "attention_5.dense.weight"));
  CHECK(has(names, "residual_6.body.conv2d_3.bias"));
  CHECK_FALSE(has(names, "residual_6.projection.weight"));  // 4 + 3 merged channels in, 7 out: an identity skip
  CHECK(has(names, "dense_12.weight"));
  // Shapes the user never wrote: the residual body reads the 7 merged channels, the first dense 7·4·4 features.
  for (auto& p : net.params()) {
    if (p.name == "residual_6.body.conv2d_1.weight") CHECK(p.value->shape() == Shape({7, 7, 3, 3}));
    if (p.name == "dense_9.weight") CHECK(p.value->shape() == Shape({12, 7 * 4 * 4}));
  }
  // The same declaration gives the same names and shapes again, so its checkpoints keep loading.
  Context other(2);
  Net<float> again(small_cnn(3));
  again.build(other, Shape{1, 16, 16});
  CHECK(param_names(again) == names);
}

TEST_CASE("Layer specs: chosen names, duplicate names, wrong sizes and unknown types are clear errors", "[net]") {
  SECTION("a gated residual block needs an attention layer before it, with its channels") {
    Context ctx(1);
    Net<float> alone({nn::gated_residual({nn::conv(2, 3)})});
    CHECK_THROWS_WITH(alone.build(ctx, Shape{2, 4, 4}), Catch::Contains("needs a DynamicAttention layer before it"));
    Net<float> mismatch({nn::attention(), nn::gated_residual({nn::conv(3, 3)})});
    CHECK_THROWS_WITH(mismatch.build(ctx, Shape{2, 4, 4}), Catch::Contains("attention layer has 2 channels, the skip 3"));
    LayerSpec typo = nn::residual({nn::conv(2, 3)});
    typo.json["gate"] = "attenton";
    Net<float> misspelt({nn::attention(), typo});
    CHECK_THROWS_WITH(misspelt.build(ctx, Shape{2, 4, 4}), Catch::Contains("valid gates: none, attention"));
  }
  Context ctx(1);
  SECTION("a chosen name replaces the automatic one") {
    Net<float> net({nn::conv(4, 3).named("stem"), nn::flatten(), nn::dense(2).named("logits")});
    net.build(ctx, Shape{1, 4, 4});
    CHECK(param_names(net) == std::vector<std::string>{"stem.weight", "stem.bias", "logits.weight", "logits.bias"});
  }
  SECTION("two layers under one name are refused at build") {
    Net<float> net({nn::conv(4, 3).named("a"), nn::conv(4, 3).named("a")});
    CHECK_THROWS_WITH(net.build(ctx, Shape{1, 4, 4}), Catch::Contains("'a' is already taken"));
  }
  SECTION("a dense layer on a feature map says what to put before it") {
    Net<float> net({nn::conv(4, 3), nn::dense(2)});
    CHECK_THROWS_WITH(net.build(ctx, Shape{1, 4, 4}), Catch::Contains("put a Flatten or GlobalAvgPool before it"));
  }
  SECTION("an unknown layer type lists the registered ones") {
    Net<float> net({LayerSpec{{{"type", "Conv3D"}, {"filters", 2}}}});
    CHECK_THROWS_WITH(net.build(ctx, Shape{1, 4, 4}),
                      Catch::Contains("unknown layer type 'Conv3D'") && Catch::Contains("Conv2D, Dense"));
  }
  SECTION("a bad option names the layer and the option") {
    Net<float> net({nn::conv(0, 3)});
    CHECK_THROWS_WITH(net.build(ctx, Shape{1, 4, 4}), Catch::Contains("'filters' must be positive"));
    Net<float> attention({nn::attention("per_pixel")});
    CHECK_THROWS_WITH(attention.build(ctx, Shape{2, 4, 4}), Catch::Contains("valid kinds: per_channel, paper_literal"));
  }
  SECTION("parallel branches must agree on the map size") {
    Net<float> net({nn::parallel({nn::conv(2, 3), nn::max_pool()})});
    CHECK_THROWS_WITH(net.build(ctx, Shape{1, 4, 4}), Catch::Contains("only the channel counts may differ"));
  }
  SECTION("an input of another shape is refused") {
    Net<float> net({nn::conv(2, 3)});
    net.build(ctx, Shape{1, 4, 4});
    CHECK_THROWS_WITH(net.forward(ctx, Tensor<float>::zeros(Shape{1, 1, 5, 5}), Mode::infer),
                      Catch::Contains("was built for"));
  }
}

TEST_CASE("Parallel and Residual blocks' gradients match finite differences", "[net][gradcheck]") {
  testing::GradcheckOptions opt;
  opt.max_elements = 80;
  opt.step = 1e-4;
  SECTION("parallel branches of different kernels and depths") {
    Context ctx(4);
    Net<double> net({nn::parallel({nn::conv(2, 3), nn::sequential({nn::conv(3, 5), nn::tanh()}), nn::conv(1, 1)})});
    net.build(ctx, Shape{2, 5, 5});
    const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(2), 7), Mode::train, opt);
    INFO(result.summary());
    CHECK(result.ok);
  }
  SECTION("residual with an identity skip and a ReLU after the sum") {
    Context ctx(5);
    Net<double> net({nn::residual({nn::conv(3, 3), nn::batchnorm(), nn::tanh(), nn::conv(3, 3)})});
    net.build(ctx, Shape{3, 4, 4});
    const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(3), 8), Mode::train, opt);
    INFO(result.summary());
    CHECK(result.ok);
  }
  SECTION("residual with a projection skip, no activation, after attention") {
    Context ctx(6);
    Net<double> net({nn::attention(), nn::residual({nn::conv(4, 3), nn::tanh()}, false)});
    net.build(ctx, Shape{2, 4, 4});
    CHECK(has(param_names(net), "residual_2.projection.weight"));
    const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(2), 9), Mode::train, opt);
    INFO(result.summary());
    CHECK(result.ok);
  }
  SECTION("two residual blocks whose skips are gated by one attention layer's scores (the paper's blocks)") {
    // Both gates' gradients reach the attention's dense layer: a block that dropped its share would fail here.
    Context ctx(7);
    Net<double> net({nn::conv(3, 3), nn::attention(), nn::gated_residual({nn::conv(3, 3), nn::tanh(), nn::conv(3, 1)}),
                     nn::gated_residual({nn::conv(3, 3)}, false)});
    net.build(ctx, Shape{2, 4, 4});
    const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(2), 10), Mode::train, opt);
    INFO(result.summary());
    CHECK(result.ok);
  }
}

namespace {
// A user's own layer: y = 2x, registered under a type name of its own.
template <class T>
class Doubling : public Layer<T> {
 public:
  std::string type() const override { return "Doubling"; }
  Shape output_shape(const Shape& input) const override { return input; }
  const Tensor<T>& forward(Context& ctx, const Tensor<T>& x, Mode) override {
    ops::add(ctx, x, x, y_);
    return y_;
  }
  const Tensor<T>& backward(Context& ctx, const Tensor<T>& dy) override {
    ops::add(ctx, dy, dy, dx_);
    return dx_;
  }

 private:
  Tensor<T> y_, dx_;
};
}  // namespace

TEST_CASE("A checkpoint stores the architecture, and load_model rebuilds any network from it", "[net][checkpoint]") {
  testing::TempDir dir("mien-net");
  const std::string path = (dir.path() / "net.ckpt").string();
  if (!LayerRegistry<float>::instance().contains("Doubling"))
    LayerRegistry<float>::instance().add("Doubling", [](Context&, const nlohmann::json&, const Shape&) {
      return std::unique_ptr<Layer<float>>(new Doubling<float>());
    });
  Context ctx(8);
  std::vector<LayerSpec> layers = small_cnn(3);
  layers.insert(layers.begin() + 1, LayerSpec{{{"type", "Doubling"}}});
  Net<float> net(layers);
  net.build(ctx, Shape{1, 8, 8});
  Tensor<float> x(net.input_shape(4));
  const Tensor<double> r = testing::random_tensor(net.input_shape(4), 3);
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r[i]);
  // A training step, so that weights and batch-norm statistics are no longer their initial values.
  Adam<float> adam;
  SoftmaxCrossEntropy<float> loss;
  const Tensor<std::int32_t> labels(Shape{4}, {0, 1, 2, 0});
  loss.forward(ctx, net.forward(ctx, x, Mode::train), labels);
  net.backward(ctx, loss.backward(ctx));
  adam.step(ctx, net.params());
  const Tensor<float> want = net.forward(ctx, x, Mode::infer);
  ModelInfo info;
  info.class_names = {"a", "b", "c"};
  save_training_checkpoint(path, net, adam, info, TrainingState{});

  const Checkpoint ckpt = read_checkpoint(path);
  CHECK(ckpt.meta.at("format") == "mien-model");
  CHECK(ckpt.meta.at("architecture").at("type") == "Net");
  CHECK(ckpt.meta.at("architecture").at("layers").at(1).at("type") == "Doubling");

  Context other(99);  // other seeds: only the file's weights can make the outputs agree
  auto [loaded, loaded_info] = load_model(other, path);
  CHECK(loaded->type() == "Net");
  CHECK(loaded_info.input_size() == 8);
  CHECK(loaded_info.class_names == info.class_names);
  const Tensor<float>& got = loaded->forward(other, x, Mode::infer);
  REQUIRE(got.shape() == want.shape());
  for (std::size_t i = 0; i < got.numel(); ++i) CHECK(got[i] == want[i]);

  SECTION("resuming into another network names the difference") {
    Net<float> smaller({nn::conv(2, 3), nn::flatten(), nn::dense(3)});
    smaller.build(other, Shape{1, 8, 8});
    CHECK_THROWS_WITH(load_training_checkpoint(path, smaller), Catch::Contains("another architecture"));
  }
  SECTION("a model description of a later version is refused with its number") {
    Checkpoint later = ckpt;
    later.meta["model_version"] = 3;
    std::vector<NamedTensor> tensors;
    for (auto& [name, tensor] : later.tensors) tensors.push_back({name, &tensor});
    const std::string later_path = (dir.path() / "later.ckpt").string();
    save_checkpoint(later_path, later.meta, tensors);
    CHECK_THROWS_WITH(load_model(other, later_path), Catch::Contains("model description of version 3"));
  }
}

TEST_CASE("The trainer, summary and attention maps take a network that is not the paper's", "[net][training]") {
  testing::TempDir dir("mien-net-train");
  Dataset data = corner_squares(24);
  std::vector<std::size_t> train_idx, val_idx;
  for (std::size_t i = 0; i < data.size(); ++i) (i % 4 == 3 ? val_idx : train_idx).push_back(i);
  Context ctx(12);
  Net<float> net(small_cnn(3));
  net.build(ctx, Shape{1, 12, 12});
  const std::string table = summary_table(net);
  CHECK_THAT(table, Catch::Contains("parallel_4") && Catch::Contains("Parallel") && Catch::Contains("[1, 7, 6, 6]"));
  CHECK_THAT(table, Catch::Contains("total: " + std::to_string(net.param_count()) + " parameters"));

  LoaderOptions opts;
  opts.batch_size = 8;
  opts.seed = 3;
  opts.num_threads = 1;
  opts.drop_last = true;
  opts.mean = 0.2f;
  opts.stddev = 0.3f;
  LoaderOptions eval = opts;
  eval.augment = false;
  eval.shuffle = false;
  eval.drop_last = false;
  BatchLoader train(data, train_idx, opts), val(data, val_idx, eval);
  AdamOptions adam_options;
  adam_options.lr = 3e-3;
  Adam<float> adam(adam_options);
  SoftmaxCrossEntropy<float> loss;
  ModelInfo info;
  info.class_names = data.class_names;
  info.pixel_mean = 0.2f;
  info.pixel_stddev = 0.3f;
  TrainOptions options;
  options.epochs = 6;
  options.progress = false;
  options.run_dir = dir.path();
  Trainer trainer(ctx, net, adam, loss, info, options);
  TrainingState state;
  trainer.fit(train, val, state);
  REQUIRE(state.history.size() == 6);
  CHECK(state.history.back().train_loss < state.history.front().train_loss);
  CHECK(state.best_val_accuracy > 0.6);  // chance: 1/3
  REQUIRE(std::filesystem::exists(dir.path() / "best.ckpt"));

  // The stock loader rebuilds the trained network from its checkpoint, and its attention map covers the map.
  auto [loaded, loaded_info] = load_model(ctx, (dir.path() / "best.ckpt").string());
  const EvaluationReport report = evaluate(ctx, *loaded, val, loaded_info.class_names);
  CHECK(report.accuracy == Approx(state.best_val_accuracy).margin(1e-9));
  Batch batch;
  val.start_epoch(0);
  val.next(batch);
  loaded->forward(ctx, batch.images, Mode::infer);
  int h = 0, w = 0;
  const std::vector<float> map = attention_weighted_map(*loaded, 0, h, w);
  CHECK(h == 6);  // the last NCHW output but for pooling: the residual block's, before the second max-pool
  CHECK(map.size() == 36u);
  CHECK(*std::max_element(map.begin(), map.end()) == Approx(1.0f));

}

TEST_CASE("Grad-CAM of a network ending in global pooling and a dense layer is its class activation map", "[net]") {
  // y_k = sum_c W[k, c] mean_hw A_c + b_k, so dy_k / dA_c(h, w) = W[k, c] / (H W) and Grad-CAM's map is
  // ReLU(sum_c W[k, c] A_c) up to its normalisation (Zhou et al.'s CAM; Selvaraju et al., section 3.1).
  Context ctx(5);
  Net<float> net({nn::conv(3, 3), nn::relu(), nn::global_avg_pool(), nn::dense(2)});
  net.build(ctx, Shape{1, 5, 6});
  Tensor<float> x(net.input_shape(2));
  const Tensor<double> r = testing::random_tensor(x.shape(), 11);
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = static_cast<float>(r[i]);
  const std::vector<GradCam> cams = grad_cam(ctx, net, x, {1, 0});  // image 0 for class 1, image 1 for class 0
  REQUIRE(cams.size() == 2);
  const Tensor<float> a = net.feature_map()->to(Device::cpu);  // the ReLU's output, the last NCHW map
  REQUIRE(a.shape() == Shape({2, 3, 5, 6}));
  const Tensor<float>& w = *net.params()[2].value;             // dense_4.weight [2, 3]
  REQUIRE(net.params()[2].name == "dense_4.weight");
  for (int n = 0; n < 2; ++n) {
    const int k = n == 0 ? 1 : 0;
    CHECK(cams[n].explained_class == k);
    std::vector<float> want(30);
    for (int y = 0; y < 5; ++y)
      for (int xx = 0; xx < 6; ++xx) {
        float v = 0;
        for (int c = 0; c < 3; ++c) v += w.at(k, c) * a.at(n, c, y, xx);
        want[y * 6 + xx] = std::max(v, 0.0f);
      }
    const float hi = *std::max_element(want.begin(), want.end());
    REQUIRE(hi > 0);
    REQUIRE(cams[n].map.size() == want.size());
    for (std::size_t i = 0; i < want.size(); ++i) CHECK(cams[n].map[i] == Approx(want[i] / hi).margin(1e-5));
    float sum = 0;
    for (float p : cams[n].probabilities) sum += p;
    CHECK(sum == Approx(1.0f));
  }
}
