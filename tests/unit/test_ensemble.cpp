// Ensembles (models/ensemble.hpp): the averaged probabilities, inference only, members that must agree, a weights
// file (float16) that load_model rebuilds as the same ensemble, and Grad-CAM of an ensemble.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <memory>
#include <utility>
#include <vector>

#include "mien/layers/activation.hpp"
#include "mien/models/net.hpp"
#include "mien/testing/gradcheck.hpp"
#include "mien/train/checkpointing.hpp"
#include "mien/train/grad_cam.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;
namespace nn = mien::nn;

namespace {
std::unique_ptr<Model<float>> small_net(Context& ctx, std::int64_t classes = 3, std::int64_t side = 8) {
  auto net = std::make_unique<Net<float>>(std::vector<LayerSpec>{nn::conv(4, 3), nn::batchnorm_relu(), nn::max_pool(),
                                                                 nn::flatten(), nn::dense(classes)});
  net->build(ctx, Shape{1, side, side});
  return net;
}

using Loaded = std::vector<std::pair<std::unique_ptr<Model<float>>, ModelInfo>>;

// Two small networks with their infos, as load_model hands them to ensemble_of.
Loaded two_loaded(Context& ctx, const ModelInfo& a, const ModelInfo& b) {
  Loaded loaded;
  loaded.emplace_back(small_net(ctx), a);
  loaded.emplace_back(small_net(ctx), b);
  return loaded;
}

Tensor<float> images(std::int64_t n, std::int64_t side = 8) {
  const Tensor<double> d = testing::random_tensor(Shape{n, 1, side, side}, 21);
  Tensor<float> f(d.shape());
  for (std::size_t i = 0; i < f.numel(); ++i) f[i] = static_cast<float>(d[i]);
  return f;
}

Tensor<float> probabilities(Context& ctx, Model<float>& model, const Tensor<float>& x) {
  Softmax<float> softmax;
  return softmax.forward(ctx, model.forward(ctx, x, Mode::infer), Mode::infer);
}
}  // namespace

TEST_CASE("An ensemble's probabilities are its members' averaged", "[ensemble]") {
  Context ctx(5);
  std::vector<std::unique_ptr<Model<float>>> members;
  for (int k = 0; k < 3; ++k) members.push_back(small_net(ctx));
  std::vector<Model<float>*> raw;
  for (auto& m : members) raw.push_back(m.get());
  const Tensor<float> x = images(4);
  std::vector<Tensor<float>> member_probs;
  for (Model<float>* m : raw) member_probs.push_back(probabilities(ctx, *m, x));
  Ensemble<float> ensemble(std::move(members));
  CHECK(ensemble.size() == 3);
  const Tensor<float> p = probabilities(ctx, ensemble, x);
  REQUIRE(p.shape() == Shape({4, 3}));
  for (std::size_t i = 0; i < p.numel(); ++i)
    CHECK(p[i] == Approx((member_probs[0][i] + member_probs[1][i] + member_probs[2][i]) / 3).margin(1e-6));
  CHECK(ensemble.architecture()["members"].size() == 3);
  CHECK(ensemble.params().front().name.rfind("member1.", 0) == 0);
  CHECK(ensemble.macs(ensemble.input_shape(1)) == 3 * raw[0]->macs(ensemble.input_shape(1)));
  CHECK_THROWS_WITH(ensemble.forward(ctx, x, Mode::train), Catch::Contains("for inference"));
  CHECK_THROWS_AS(ensemble.backward(ctx, p), InvalidArgument);
}

TEST_CASE("An ensemble refuses members that read or answer differently", "[ensemble][errors]") {
  Context ctx(6);
  std::vector<std::unique_ptr<Model<float>>> one;
  one.push_back(small_net(ctx));
  CHECK_THROWS_WITH(Ensemble<float>(std::move(one)), Catch::Contains("at least two"));
  std::vector<std::unique_ptr<Model<float>>> sizes;
  sizes.push_back(small_net(ctx));
  sizes.push_back(small_net(ctx, 3, 12));
  CHECK_THROWS_WITH(Ensemble<float>(std::move(sizes)), Catch::Contains("member 2 reads"));
  std::vector<std::unique_ptr<Model<float>>> classes;
  classes.push_back(small_net(ctx));
  classes.push_back(small_net(ctx, 4));
  CHECK_THROWS_WITH(Ensemble<float>(std::move(classes)), Catch::Contains("member 2 gives"));

  ModelInfo a, b;
  a.class_names = {"x", "y", "z"};
  b = a;
  b.pixel_mean = 0.5f;
  CHECK_THROWS_WITH(ensemble_of(two_loaded(ctx, a, b), {"a.ckpt", "b.ckpt"}),
                    Catch::Contains("'b.ckpt' normalises its input"));

  // Statistics of two splits of FER2013's train folder (seeds 1 and 2): 0.08 gray levels apart, accepted with the
  // first model's; a gray level apart is refused.
  a.pixel_mean = 0.507405f;
  a.pixel_stddev = 0.255158f;
  b.pixel_mean = 0.50749f;
  b.pixel_stddev = 0.255267f;
  CHECK(normalisation_gap(a, b) == Approx(0.076).margin(0.002));
  auto [joined, joined_info] = ensemble_of(two_loaded(ctx, a, b), {"a.ckpt", "b.ckpt"});
  CHECK(joined_info.pixel_mean == a.pixel_mean);
  CHECK(joined_info.pixel_stddev == a.pixel_stddev);
  b.pixel_mean = a.pixel_mean + 1.0f / 255.0f;
  CHECK_THROWS_WITH(ensemble_of(two_loaded(ctx, a, b), {"a.ckpt", "b.ckpt"}), Catch::Contains("gray levels off"));
}

TEST_CASE("An ensemble saved as float16 weights loads back as the same ensemble", "[ensemble][checkpoint]") {
  testing::TempDir dir("mien-ensemble");
  Context ctx(7);
  ModelInfo info;
  info.class_names = {"x", "y", "z"};
  auto [model, ensemble_info] = ensemble_of(two_loaded(ctx, info, info), {"a", "b"});
  CHECK(ensemble_info.architecture["type"] == "Ensemble");
  const Tensor<float> x = images(5);
  const Tensor<float> expected = probabilities(ctx, *model, x);
  const std::string path = (dir.path() / "ensemble.ckpt").string();
  save_model_weights(path, *model, ensemble_info, {}, StoredAs::float16);

  Context other(99);
  auto [back, back_info] = load_model(other, path);
  REQUIRE(dynamic_cast<Ensemble<float>*>(back.get()) != nullptr);
  CHECK(back_info.class_names == info.class_names);
  const Tensor<float> got = probabilities(other, *back, x);
  for (std::size_t i = 0; i < got.numel(); ++i) CHECK(got[i] == Approx(expected[i]).margin(2e-3));  // half weights

  // Grad-CAM explains the ensemble's prediction with its members' maps averaged.
  const std::vector<GradCam> maps = grad_cam(other, *back, x);
  REQUIRE(maps.size() == 5);
  for (std::size_t n = 0; n < maps.size(); ++n) {
    CHECK(maps[n].height == 8);  // the last NCHW output but for pooling
    CHECK(maps[n].probabilities[maps[n].predicted_class] ==
          Approx(*std::max_element(maps[n].probabilities.begin(), maps[n].probabilities.end())));
    const float hi = *std::max_element(maps[n].map.begin(), maps[n].map.end());
    CHECK((hi == Approx(1.0f) || hi == 0.0f));
  }
}
