// The trainer when things go wrong: a non-finite loss stops training with a message that names the step and the
// broken parameter while the last good checkpoint stays loadable, and a run interrupted in the middle of an epoch
// resumes to exactly the weights and optimizer state of a run that was never interrupted, with Adam and with SGD.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "mien/io/checkpoint.hpp"
#include "mien/train/trainer.hpp"
#include "../support/tiny_run.hpp"
#include "../support/temp_dir.hpp"

using namespace mien;

namespace {

using testing::TinyRun;

// Clears the process-wide interrupt flag when a test ends, whatever way it ends.
struct InterruptFlagReset {
  ~InterruptFlagReset() { interrupt_count().store(0); }
};

}  // namespace

TEST_CASE("A non-finite loss stops training, names the step and the parameter, and keeps the last checkpoint",
          "[trainer][faults]") {
  testing::TempDir dir("mien-faults");
  TinyRun run;
  run.fit(dir.path(), 1);
  REQUIRE(run.state.epochs_done == 1);
  const std::uint64_t good_step = run.state.step;
  REQUIRE(good_step > 0);

  // Poison one weight: the next forward pass gives a NaN loss.
  auto params = run.model.params();
  const std::string poisoned = params.front().name;
  (*params.front().value)[0] = std::numeric_limits<float>::quiet_NaN();
  try {
    run.fit(dir.path(), 2);
    FAIL("training on a NaN weight did not throw");
  } catch (const NonFiniteError& e) {
    const std::string what = e.what();
    INFO(what);
    CHECK(what.find("training diverged") != std::string::npos);
    CHECK(what.find("epoch 2, batch 1") != std::string::npos);
    CHECK(what.find("(step " + std::to_string(good_step) + ")") != std::string::npos);
    CHECK(what.find("parameter '" + poisoned + "'") != std::string::npos);
    CHECK(what.find("last.ckpt") != std::string::npos);
  }

  // The checkpoint of the last good epoch still loads, with finite weights and the state of epoch 1.
  TinyRun restored;
  load_training_checkpoint((dir.path() / "last.ckpt").string(), restored.model, restored.optimizer.get(), &restored.state);
  CHECK(restored.state.epochs_done == 1);
  CHECK(restored.state.step == good_step);
  for (auto& p : restored.model.params())
    for (std::size_t i = 0; i < p.value->numel(); ++i) REQUIRE(std::isfinite((*p.value)[i]));
}

TEST_CASE("A run interrupted mid-epoch resumes to the weights of an uninterrupted run", "[trainer][faults]") {
  const OptimizerKind kind = GENERATE(OptimizerKind::adam, OptimizerKind::sgd);
  INFO("optimizer " << to_string(kind));
  InterruptFlagReset reset_flag;
  testing::TempDir straight_dir("mien-straight"), broken_dir("mien-broken");
  TinyRun straight(kind);
  straight.fit(straight_dir.path(), 2);
  REQUIRE_FALSE(straight.interrupted);

  // As if Ctrl-C came during epoch 2: the trainer finishes the batch it is on, saves and returns.
  TinyRun broken(kind);
  broken.fit(broken_dir.path(), 1);
  interrupt_count().store(1);
  broken.fit(broken_dir.path(), 2);
  interrupt_count().store(0);
  REQUIRE(broken.interrupted);
  REQUIRE(broken.state.epochs_done == 1);
  REQUIRE(broken.state.batches_done == 1);

  // A new process: fresh objects, everything from the checkpoint.
  TinyRun resumed(kind);
  load_training_checkpoint((broken_dir.path() / "last.ckpt").string(), resumed.model, resumed.optimizer.get(), &resumed.state);
  CHECK(resumed.state.batches_done == 1);
  resumed.fit(broken_dir.path(), 2);
  REQUIRE_FALSE(resumed.interrupted);
  CHECK(resumed.state.epochs_done == 2);
  CHECK(resumed.state.step == straight.state.step);

  CHECK(resumed.optimizer->iterations() == straight.optimizer->iterations());
  auto want = state_tensors(straight.model), got = state_tensors(resumed.model);
  for (auto& ref : straight.optimizer->state()) want.emplace_back(ref.name, ref.value);
  for (auto& ref : resumed.optimizer->state()) got.emplace_back(ref.name, ref.value);
  REQUIRE(want.size() == got.size());
  for (std::size_t k = 0; k < want.size(); ++k) {
    INFO(want[k].first);
    REQUIRE(want[k].second->numel() == got[k].second->numel());
    CHECK(std::memcmp(want[k].second->data(), got[k].second->data(), want[k].second->numel() * sizeof(float)) == 0);
  }
}

TEST_CASE("A checkpoint continues only with the optimizer it was trained with", "[trainer][checkpoint]") {
  testing::TempDir dir("mien-optimizer-kind");
  TinyRun sgd_run(OptimizerKind::sgd);
  sgd_run.fit(dir.path(), 1);
  const std::string path = (dir.path() / "last.ckpt").string();
  CHECK(checkpoint_optimizer_type(path) == "sgd");
  const Checkpoint ckpt = read_checkpoint(path);
  CHECK(ckpt.meta.at("optimizer").at("options").at("momentum") == 0.9);
  CHECK(ckpt.find("sgd.head.logits.weight.velocity") != nullptr);

  TinyRun adam_run(OptimizerKind::adam);
  CHECK_THROWS_WITH(load_training_checkpoint(path, adam_run.model, adam_run.optimizer.get(), &adam_run.state),
                    Catch::Contains("was trained with the sgd optimizer and cannot continue with adam"));
  // Weights alone load whatever the optimizer was.
  CHECK_NOTHROW(load_training_checkpoint(path, adam_run.model));
}
