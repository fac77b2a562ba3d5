// export_weights: writes a checkpoint's model alone (weights, batch-norm statistics, the model description and
// normalisation; no optimizer or training state) for deployment, e.g. as the bundled model in models/. The
// file loads wherever a checkpoint does (predict, evaluate, load_model) but cannot resume training. Several
// checkpoints become one ensemble file (their probabilities averaged); --half stores the values as float16.
//
//   export_weights --checkpoint runs/fer48/best.ckpt --out models/fer2013-48.ckpt --note "val 0.67"
//   export_weights --checkpoint a/best.ckpt --checkpoint b/best.ckpt --half --out models/fer2013-48.ckpt
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"

int main(int argc, char** argv) {
  std::vector<std::string> checkpoints;
  std::string out, note;
  bool half = false;
  CLI::App app{"Write a mien checkpoint's model without its optimizer and training state."};
  app.add_option("--checkpoint", checkpoints, "checkpoint written by train_fer; give it again to write an ensemble "
                 "of several")->required()->allow_extra_args(false)->check(CLI::ExistingFile);
  app.add_option("--out", out, "the weights-only file to write")->required();
  app.add_option("--note", note, "free text stored in the file's metadata (where the model came from)");
  app.add_flag("--half", half, "store the values as float16: half the size (checkpoint format version 2, which earlier mien builds refuse by number)");
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  return examples::run_guarded([&] {
    mien::Context ctx(0);
    std::vector<std::pair<std::unique_ptr<mien::Model<float>>, mien::ModelInfo>> loaded;
    nlohmann::json sources = nlohmann::json::array();
    for (const std::string& checkpoint : checkpoints) {
      loaded.push_back(mien::load_model(ctx, checkpoint));
      const mien::Checkpoint source = mien::read_checkpoint(checkpoint);
      nlohmann::json from = {{"exported_from", checkpoint}};
      if (source.meta.contains("state")) {
        const nlohmann::json& state = source.meta.at("state");
        from["epochs_done"] = state.value("epochs_done", 0);
        from["best_val_accuracy"] = state.value("best_val_accuracy", -1.0);
        from["best_epoch"] = state.value("best_epoch", 0);
      }
      sources.push_back(from);
    }
    auto [model, info] = mien::ensemble_of(std::move(loaded), checkpoints);
    nlohmann::json extra = sources.size() == 1 ? sources[0] : nlohmann::json{{"members", sources}};
    if (!note.empty()) extra["note"] = note;
    mien::save_model_weights(out, *model, info, extra, half ? mien::StoredAs::float16 : mien::StoredAs::float32);
    std::printf("wrote %s (%s%s)\n", out.c_str(), half ? "float16, " : "", extra.dump().c_str());
    return static_cast<int>(examples::ok);
  });
}
