// evaluate: runs a checkpoint (the bundled model when none is given) on a data set's test split (or validation)
// and prints accuracy, precision, recall and F1 (macro and weighted), the per-class table and the confusion matrix;
// --out writes them as JSON, CSV and pictures.
//
//   evaluate --checkpoint runs/fer48/best.ckpt --data /path/to/fer2013 --out runs/fer48/eval
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "common.hpp"

namespace fs = std::filesystem;

int main(int argc, char** argv) {
  std::vector<std::string> checkpoints;
  std::string data_path, out, device = "cpu", split_name = "official", part = "test", on_bad_image = "fail";
  std::uint64_t seed = 1;
  double val_fraction = 0.1;
  int tta_shift = 0, explain = 0;
  bool drop_duplicates = false, tta = false;
  CLI::App app{"Evaluate a trained mien checkpoint on a data set (the paper's Tables 4 and 5)."};
  examples::add_checkpoint_option(app, checkpoints);
  app.add_option("--data", data_path, "image-folder root (train/ and test/ or validation/), a labelled folder "
                 "<class>/*, or fer2013.csv")->required();
  app.add_option("--out", out, "folder for metrics.json, confusion.csv and the pictures");
  app.add_option("--device", device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--split", split_name, "official or paper (as used in training)")
      ->check(CLI::IsMember({"official", "paper"}))->capture_default_str();
  app.add_option("--part", part, "test or val")->check(CLI::IsMember({"test", "val"}))->capture_default_str();
  app.add_option("--seed", seed, "the split seed used in training")->capture_default_str();
  app.add_option("--val-fraction", val_fraction, "as used in training")->capture_default_str();
  app.add_flag("--drop-duplicates", drop_duplicates, "leave out images that also occur in train");
  app.add_flag("--tta", tta, "average each image's and its mirror image's probabilities (test-time augmentation)");
  app.add_option("--tta-shift", tta_shift, "also average over the image moved by this many pixels left, right, up "
                 "and down (0: off)")->check(CLI::NonNegativeNumber);
  app.add_option("--on-bad-image", on_bad_image, "fail or skip")->check(CLI::IsMember({"fail", "skip"}));
  app.add_option("--explain", explain, "with --out: Grad-CAM pictures of N images across the classes "
                 "(<out>/explain/*.png and grid.png)")->check(CLI::NonNegativeNumber);
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  return examples::run_guarded([&] {
    if (explain > 0 && out.empty()) throw mien::InvalidArgument("--explain needs --out, the folder its pictures go to");
    mien::Context ctx(seed, examples::usable_device(device));
    auto [model, info, checkpoint] = examples::load_models(ctx, checkpoints);
    mien::LoadOptions load;
    load.image_size = info.input_size();
    load.on_bad_image = on_bad_image == "skip" ? mien::OnBadInput::skip : mien::OnBadInput::fail;
    const mien::DatasetLayout layout = mien::find_dataset_layout(data_path);
    // Only the part evaluated is read where nothing else is needed: a labelled folder is all test; the official
    // test part stands alone unless duplicates with train are to be dropped.
    const bool test_only =
        layout.flat || (!layout.csv && split_name == "official" && part == "test" && !drop_duplicates);
    if (layout.flat && part != "test")
      throw mien::InvalidArgument("--part " + part + ": " + layout.describe() + " has only a test part");
    std::vector<std::string> parts_to_load;  // empty: all
    if (test_only && !layout.flat) {
      const std::string held_out = mien::test_part(layout);
      if (held_out.empty()) throw mien::IoError(layout.describe() + " has no test/ or validation/ part to evaluate");
      parts_to_load = {held_out};
    }
    const mien::Dataset data = examples::load_dataset(layout, load, parts_to_load);
    std::vector<std::size_t> indices;
    if (test_only) {
      indices.resize(data.size());
      for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
    } else {
      mien::Split split;
      if (split_name == "paper") {
        split = mien::paper_split(data, mien::PaperSplitOptions{0.70, 0.15, seed});
      } else {
        mien::OfficialSplitOptions parts = mien::official_parts(layout);
        parts.val_fraction = val_fraction;
        parts.seed = seed;
        split = mien::official_split(data, parts);
      }
      if (drop_duplicates) split = mien::drop_cross_split_duplicates(data, split);
      indices = part == "test" ? split.test : split.val;
    }
    mien::LoaderOptions opts;
    opts.batch_size = 128;
    opts.shuffle = false;
    opts.mean = info.pixel_mean;
    opts.stddev = info.pixel_stddev;
    mien::BatchLoader loader(data, indices, opts);
    const mien::TestTimeAugmentation views{tta, tta_shift};
    const mien::EvaluationReport report = mien::evaluate(ctx, *model, loader, info.class_names, nullptr, views);
    std::printf("%s (%s split, %s part%s)\n%s", checkpoint.c_str(), split_name.c_str(), part.c_str(),
                views.enabled() ? (", " + views.describe()).c_str() : "", report.table().c_str());
    if (!out.empty()) {
      fs::create_directories(out);
      std::ofstream(fs::path(out) / "metrics.json") << report.to_json().dump(2) << "\n";
      std::ofstream(fs::path(out) / "confusion.csv") << report.confusion_csv();
      mien::plot_class_metrics(out, report);
      mien::plot_confusion_matrix(out, report);
      if (explain > 0) {
        const auto pictures = mien::explain_images(ctx, *model, info, data, indices, static_cast<std::size_t>(explain),
                                                   fs::path(out) / "explain");
        std::fprintf(stderr, "%zu Grad-CAM pictures in %s\n", pictures.size(), (fs::path(out) / "explain").c_str());
      }
    }
    return static_cast<int>(examples::ok);
  });
}
