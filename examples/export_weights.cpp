// export_weights: writes a checkpoint's model alone (weights, batch-norm statistics, the model description and
// normalisation; no optimizer or training state) for deployment, e.g. as the bundled model in models/. The
// file loads wherever a checkpoint does (predict, evaluate, load_model) but cannot resume training.
//
//   export_weights --checkpoint runs/fer48/best.ckpt --out models/fer2013-48.ckpt --note "val 0.67"
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "common.hpp"

int main(int argc, char** argv) {
  std::string checkpoint, out, note;
  CLI::App app{"Write a mien checkpoint's model without its optimizer and training state."};
  app.add_option("--checkpoint", checkpoint, "checkpoint written by train_fer")->required()->check(CLI::ExistingFile);
  app.add_option("--out", out, "the weights-only file to write")->required();
  app.add_option("--note", note, "free text stored in the file's metadata (where the model came from)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? examples::ok : examples::usage_error;
  }
  return examples::run_guarded([&] {
    mien::Context ctx(0);
    auto [model, info] = mien::load_model(ctx, checkpoint);
    const mien::Checkpoint source = mien::read_checkpoint(checkpoint);
    nlohmann::json extra = {{"exported_from", checkpoint}};
    if (source.meta.contains("state")) {
      const nlohmann::json& state = source.meta.at("state");
      extra["epochs_done"] = state.value("epochs_done", 0);
      extra["best_val_accuracy"] = state.value("best_val_accuracy", -1.0);
      extra["best_epoch"] = state.value("best_epoch", 0);
    }
    if (!note.empty()) extra["note"] = note;
    mien::save_model_weights(out, *model, info, extra);
    std::printf("wrote %s (%s)\n", out.c_str(), extra.dump().c_str());
    return static_cast<int>(examples::ok);
  });
}
