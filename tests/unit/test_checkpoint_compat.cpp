// Files users keep must keep loading: tests/fixtures/paper_net_v1.ckpt was written by main at 65d88a3 (before
// optimizers could be chosen; tests/fixtures/README.md), and gives today the probabilities it gave then.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/data/random.hpp"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/optim/make_optimizer.hpp"
#include "mien/train/checkpointing.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {

const std::string fixtures = std::string(MIEN_SOURCE_DIR) + "/tests/fixtures/";

// The fixture's probabilities for its fixed input batch, from a model loaded from `path`.
std::vector<float> fixture_probabilities(const std::string& path) {
  Context ctx(1);
  auto [model, info] = load_model(ctx, path);
  Tensor<float> x(model->input_shape(8));
  const RandomStream s{7, 0x71u, 0};
  for (std::size_t i = 0; i < x.numel(); ++i) x[i] = 2 * s.uniform(i) - 1;
  Tensor<std::int32_t> y = Tensor<std::int32_t>::zeros(Shape{8});
  SoftmaxCrossEntropy<float> loss;
  loss.forward(ctx, model->forward(ctx, x, Mode::infer), y);
  return loss.probs().to_vector();
}

nlohmann::json expected() {
  std::ifstream in(fixtures + "paper_net_v1_expected.json");
  REQUIRE(in);
  return nlohmann::json::parse(in);
}

}  // namespace

TEST_CASE("A version-1 paper-network checkpoint loads and predicts as when it was written", "[checkpoint][compat]") {
  Context ctx(1);
  auto [model, info] = load_model(ctx, fixtures + "paper_net_v1.ckpt");
  CHECK(info.input_size() == 16);
  CHECK(info.architecture.at("type") == "PaperNet");
  CHECK(info.class_names.size() == 7);
  CHECK(info.pixel_mean == 0.5f);
  CHECK(info.pixel_stddev == 0.25f);

  const std::vector<float> got = fixture_probabilities(fixtures + "paper_net_v1.ckpt");
  const std::vector<float> want = expected().at("probabilities").get<std::vector<float>>();
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) {
    INFO("probability " << i);
    CHECK(got[i] == Approx(want[i]).margin(1e-5));
  }
}

TEST_CASE("A version-1 checkpoint resumes with Adam and refuses another optimizer", "[checkpoint][compat]") {
  const std::string path = fixtures + "paper_net_v1.ckpt";
  CHECK(checkpoint_optimizer_type(path) == "adam");
  Context ctx(1);
  const ModelInfo info = model_info_from(read_checkpoint(path), path);
  PaperNet<float> model(ctx, info.architecture.at("config").get<PaperNetConfig>());
  Adam<float> adam;
  TrainingState state;
  load_training_checkpoint(path, model, &adam, &state);
  CHECK(adam.iterations() == 3);
  CHECK(state.epochs_done == 1);
  CHECK(state.step == 3);
  REQUIRE(!adam.state().empty());
  double moment_sum = 0;
  for (auto& ref : adam.state())
    for (std::size_t i = 0; i < ref.value->numel(); ++i) moment_sum += std::abs((*ref.value)[i]);
  CHECK(moment_sum > 0);  // the moments came from the file, not zeros

  Sgd<float> sgd;
  CHECK_THROWS_WITH(load_training_checkpoint(path, model, &sgd, &state),
                    Catch::Contains("was trained with the adam optimizer and cannot continue with sgd"));
}

TEST_CASE("A weights-only export predicts as its checkpoint and cannot resume training", "[checkpoint][compat]") {
  const std::string source = fixtures + "paper_net_v1.ckpt";
  testing::TempDir dir("mien-weights");
  const std::string path = (dir.path() / "model.ckpt").string();
  {
    Context ctx(1);
    auto [model, info] = load_model(ctx, source);
    save_model_weights(path, *model, info, {{"note", "test"}});
  }
  const Checkpoint weights = read_checkpoint(path);
  CHECK(is_weights_only(weights));
  CHECK_FALSE(is_weights_only(read_checkpoint(source)));
  CHECK(weights.meta.at("extra").at("note") == "test");
  for (const auto& [name, tensor] : weights.tensors) CHECK(name.rfind("model.", 0) == 0);
  CHECK(std::filesystem::file_size(path) < std::filesystem::file_size(source) / 2);  // no Adam moments

  const std::vector<float> got = fixture_probabilities(path), want = fixture_probabilities(source);
  REQUIRE(got.size() == want.size());
  for (std::size_t i = 0; i < got.size(); ++i) CHECK(got[i] == want[i]);

  Context ctx(1);
  const ModelInfo info = model_info_from(weights, path);
  PaperNet<float> model(ctx, info.architecture.at("config").get<PaperNetConfig>());
  CHECK_NOTHROW(load_training_checkpoint(path, model));
  Adam<float> adam;
  TrainingState state;
  CHECK_THROWS_WITH(load_training_checkpoint(path, model, &adam, &state),
                    Catch::Contains("holds a model's weights only") && Catch::Contains("not resumed"));
  CHECK(adam.iterations() == 0);
}
