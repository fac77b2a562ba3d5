// The paper network end to end: gradients of a small instance against finite differences, the default
// architecture's size, checkpoints (save -> load -> identical predictions; other architectures, versions and
// corrupt files rejected with clear errors).
#include <catch2/catch.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/models/paper_net.hpp"
#include "mien/optim/adam.hpp"
#include "mien/testing/gradcheck.hpp"
#include "mien/train/checkpointing.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {
PaperNetConfig tiny_config() {
  PaperNetConfig c;
  c.input_size = 8;
  c.classes = 3;
  c.stream_channels = {2, 3};
  c.residual_blocks = 2;
  c.dense_units = {5};
  return c;
}
}  // namespace

TEST_CASE("A small paper network's gradients match finite differences", "[paper_net][gradcheck]") {
  for (const char* attention : {"per_channel", "paper_literal"}) {
    for (bool gated : {true, false}) {
      PaperNetConfig c = tiny_config();
      c.attention = attention;
      c.gated_skips = gated;
      Context ctx(11);
      PaperNet<double> net(ctx, c);
      testing::GradcheckOptions opt;
      opt.max_elements = 60;
      opt.step = 1e-4;  // a tiny network has many ReLU and max-pool kinks: a smaller step meets fewer of them
      const auto result = testing::check_layer(net, ctx, testing::random_tensor(net.input_shape(4), 5), Mode::train, opt);
      INFO(attention << (gated ? ", gated skips" : ", plain skips") << "\n" << result.summary());
      REQUIRE(result.ok);
      CHECK(result.max_rel_error <= 1e-6);
    }
  }
}

TEST_CASE("Without the input gradient, backward gives the same parameter gradients", "[paper_net]") {
  std::vector<std::vector<double>> grads[2];
  for (bool input_gradient : {true, false}) {
    Context ctx(11);
    PaperNet<double> net(ctx, tiny_config());
    net.set_input_gradient(input_gradient);
    const Tensor<double> x = testing::random_tensor(net.input_shape(4), 5);
    const Tensor<double>& logits = net.forward(ctx, x, Mode::train);
    const Tensor<double>& dx = net.backward(ctx, testing::random_tensor(logits.shape(), 6));
    CHECK(dx.numel() == (input_gradient ? x.numel() : 0));
    for (const auto& p : net.params()) grads[input_gradient].emplace_back(p.grad->begin(), p.grad->end());
  }
  REQUIRE(grads[0].size() == grads[1].size());
  for (std::size_t k = 0; k < grads[0].size(); ++k) CHECK(grads[0][k] == grads[1][k]);
}

TEST_CASE("The default paper network has the documented size", "[paper_net]") {
  Context ctx(1);
  PaperNet<float> net(ctx, PaperNetConfig{});
  const std::int64_t macs = net.macs(net.input_shape(1));
  CHECK(macs > 850'000'000);
  CHECK(macs < 950'000'000);
  std::int64_t head = 0;
  for (auto& p : net.params())
    if (p.name == "head.dense1.weight") head = static_cast<std::int64_t>(p.value->numel());
  CHECK(head == 128 * 16 * 16 * 256);
  PaperNetConfig bad;
  bad.input_size = 4;
  CHECK_THROWS_AS(PaperNet<float>(ctx, bad), InvalidArgument);
  bad = PaperNetConfig{};
  bad.attention = "spatial";
  CHECK_THROWS_AS(PaperNet<float>(ctx, bad), InvalidArgument);
}

namespace {
Tensor<float> random_float(const Shape& shape, std::uint64_t seed) {
  const Tensor<double> d = testing::random_tensor(shape, seed);
  Tensor<float> f(shape);
  for (std::size_t i = 0; i < f.numel(); ++i) f[i] = static_cast<float>(d[i]);
  return f;
}
}  // namespace

TEST_CASE("Checkpoints round-trip and reject what does not match", "[paper_net][checkpoint]") {
  testing::TempDir dir("mien-ckpt");
  const std::string path = (dir.path() / "model.ckpt").string();
  Context ctx(3);
  ModelInfo info;
  info.class_names = {"a", "b", "c"};
  info.pixel_mean = 0.5f;
  info.pixel_stddev = 0.25f;
  PaperNet<float> net(ctx, tiny_config());
  Adam<float> adam;
  SoftmaxCrossEntropy<float> loss;
  const Tensor<float> x = random_float(net.input_shape(6), 9);
  const Tensor<std::int32_t> labels(Shape{6}, {0, 1, 2, 0, 1, 2});
  for (int step = 0; step < 3; ++step) {  // moves weights, batch-norm statistics and Adam's moments off their init
    loss.forward(ctx, net.forward(ctx, x, Mode::train), labels);
    net.backward(ctx, loss.backward(ctx));
    adam.step(ctx, net.params());
    ctx.advance_step();
  }
  TrainingState state;
  state.epochs_done = 4;
  state.step = ctx.step();
  state.best_val_accuracy = 0.5;
  state.history.push_back(EpochRecord{1, 1.5, 0.3, 1.6, 0.25, 1e-4, 2.0, 100});
  save_training_checkpoint(path, net, adam, info, state);
  const Tensor<float> expected = net.forward(ctx, x, Mode::infer);

  SECTION("load_model rebuilds the network and predicts identically") {
    Context other(99);
    auto [loaded, loaded_info] = load_model(other, path);
    const Tensor<float>& got = loaded->forward(other, x, Mode::infer);
    REQUIRE(got.shape() == expected.shape());
    for (std::size_t i = 0; i < got.numel(); ++i) CHECK(got[i] == expected[i]);
    CHECK(loaded_info.class_names == info.class_names);
    CHECK(loaded_info.pixel_mean == 0.5f);
  }
  SECTION("a resumed optimizer and state continue where they were") {
    Context other(3);
    PaperNet<float> resumed(other, tiny_config());
    Adam<float> adam2;
    TrainingState state2;
    load_training_checkpoint(path, resumed, &adam2, &state2);
    CHECK(adam2.iterations() == adam.iterations());
    CHECK(state2.epochs_done == 4);
    CHECK(state2.step == state.step);
    REQUIRE(state2.history.size() == 1);
    CHECK(state2.history[0].val_accuracy == 0.25);
    // One more identical step on both gives identical weights.
    other.set_step(ctx.step());
    for (auto* pair : {&net, &resumed}) {
      Context& c = pair == &net ? ctx : other;
      Adam<float>& a = pair == &net ? adam : adam2;
      loss.forward(c, pair->forward(c, x, Mode::train), labels);
      pair->backward(c, loss.backward(c));
      a.step(c, pair->params());
    }
    auto p1 = net.params(), p2 = resumed.params();
    for (std::size_t k = 0; k < p1.size(); ++k)
      for (std::size_t i = 0; i < p1[k].value->numel(); ++i) REQUIRE((*p1[k].value)[i] == (*p2[k].value)[i]);
  }
  SECTION("another architecture is rejected with the difference named") {
    PaperNetConfig wider = tiny_config();
    wider.dense_units = {7};
    PaperNet<float> other(ctx, wider);
    CHECK_THROWS_WITH(load_training_checkpoint(path, other), Catch::Contains("another architecture"));
  }
  SECTION("corrupt, truncated, other-version and foreign files are rejected") {
    std::string bytes;
    {
      std::ifstream in(path, std::ios::binary);
      bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    auto write = [&](const std::string& name, const std::string& content) {
      const std::string p = (dir.path() / name).string();
      std::ofstream(p, std::ios::binary) << content;
      return p;
    };
    std::string flipped = bytes;
    flipped[bytes.size() / 2] ^= 0x10;
    CHECK_THROWS_WITH(read_checkpoint(write("flipped.ckpt", flipped)), Catch::Contains("checksum mismatch"));
    CHECK_THROWS_WITH(read_checkpoint(write("short.ckpt", bytes.substr(0, bytes.size() - 100))),
                      Catch::Contains("checksum mismatch"));
    std::string v9 = bytes;  // a format version from the future (the check precedes the checksum)
    v9[8] = 9;
    CHECK_THROWS_WITH(read_checkpoint(write("v9.ckpt", v9)), Catch::Contains("format version 9"));
    CHECK_THROWS_WITH(read_checkpoint(write("text.ckpt", "hello")), Catch::Contains("not a mien checkpoint"));
    CHECK_THROWS_AS(read_checkpoint((dir.path() / "missing.ckpt").string()), IoError);
  }
  SECTION("a failed write leaves the previous checkpoint intact") {
    const std::string blocked = (dir.path() / "blocked.ckpt").string();
    save_training_checkpoint(blocked, net, adam, info, state);
    std::filesystem::create_directory(blocked + ".tmp");  // the temporary file cannot be created
    CHECK_THROWS_AS(save_training_checkpoint(blocked, net, adam, info, state), IoError);
    CHECK_NOTHROW(read_checkpoint(blocked));
  }
}
