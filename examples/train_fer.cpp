// train_fer: trains the paper's network from scratch on FER2013 (or any data set in the same layout), with the
// paper's Table 3 as defaults, then evaluates the best checkpoint on the test split and draws the run's pictures.
//
//   train_fer --data /path/to/fer2013 --out runs/fer48 --input-size 48
//   train_fer --resume runs/fer48/last.ckpt --data /path/to/fer2013 --out runs/fer48
//   train_fer --data /path/to/fer2013 --out runs/sgd48 --input-size 48 --optimizer sgd --lr 0.01 --weight-decay 5e-4
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "training_data.hpp"

namespace fs = std::filesystem;

struct Flags {
  std::string data, out = "runs/latest", resume, init_from, device = "cpu", split = "official", attention = "per_channel";
  std::string lr_schedule = "none", on_bad_image = "fail", optimizer = "adam";
  int input_size = 128, epochs = 80, threads = 0, early_stopping = 0, attention_images = 8, tta_shift = 0;
  std::int64_t batch = 32, max_train = 0, max_batches = 0;
  double lr = 1e-4, decay = 1e-6, weight_decay = 0, momentum = 0.9, dropout = 0.5, val_fraction = 0.1;
  double label_smoothing = 0;
  double rotation = 15, scale_min = 0.9, scale_max = 1.1, flip = 0.5, shift = 0, erase = 0;
  std::uint64_t seed = 1;
  bool augment = true, gated_skips = true, drop_duplicates = false, standardize = true, progress = true, tta = false;
  bool nesterov = true, optimizer_given = false;
};

static int train(const Flags& f) {
  mien::install_interrupt_handler();
  mien::Context ctx(f.seed, examples::usable_device(f.device));
  const fs::path run_dir = f.out;
  fs::create_directories(run_dir);

  // Data.
  examples::DataFlags data_flags;
  data_flags.data = f.data;
  data_flags.split = f.split;
  data_flags.on_bad_image = f.on_bad_image;
  data_flags.input_size = f.input_size;
  data_flags.threads = f.threads;
  data_flags.seed = f.seed;
  data_flags.val_fraction = f.val_fraction;
  data_flags.drop_duplicates = f.drop_duplicates;
  data_flags.standardize = f.standardize;
  data_flags.max_train = f.max_train;
  const examples::TrainingData prepared = examples::load_training_data(data_flags);
  const mien::Dataset& data = prepared.data;
  const mien::Split& split = prepared.split;
  const mien::DuplicateAudit& audit = prepared.audit;
  mien::ModelInfo info = prepared.info;

  mien::PaperNetConfig model_config;
  model_config.input_size = f.input_size;
  model_config.dropout = f.dropout;
  model_config.attention = f.attention;
  model_config.gated_skips = f.gated_skips;
  model_config.classes = static_cast<std::int64_t>(data.class_names.size());

  mien::LoaderOptions train_opts;
  train_opts.batch_size = static_cast<std::size_t>(f.batch);
  train_opts.seed = f.seed;
  train_opts.num_threads = f.threads;
  train_opts.mean = info.pixel_mean;
  train_opts.stddev = info.pixel_stddev;
  train_opts.augment = f.augment;
  train_opts.drop_last = true;  // batch norm needs more than one sample per batch
  train_opts.augmentation.max_rotation_degrees = static_cast<float>(f.rotation);
  train_opts.augmentation.min_scale = static_cast<float>(f.scale_min);
  train_opts.augmentation.max_scale = static_cast<float>(f.scale_max);
  train_opts.augmentation.flip_probability = static_cast<float>(f.flip);
  train_opts.augmentation.max_shift = static_cast<float>(f.shift);
  train_opts.augmentation.erase_probability = static_cast<float>(f.erase);
  mien::LoaderOptions eval_opts = examples::evaluation_options(train_opts);
  eval_opts.batch_size = std::max<std::size_t>(train_opts.batch_size, 128);
  mien::BatchLoader train_loader(data, split.train, train_opts);
  mien::BatchLoader val_loader(data, split.val, eval_opts);

  // Model, optimiser, loss.
  mien::PaperNet<float> model(ctx, model_config);
  model.to(ctx.device());
  // A resumed run continues with the optimizer it was trained with unless --optimizer says otherwise (which the
  // checkpoint loader then refuses, naming both).
  std::string optimizer_name = f.optimizer;
  if (!f.resume.empty() && !f.optimizer_given) optimizer_name = mien::checkpoint_optimizer_type(f.resume);
  mien::OptimizerSettings settings;
  settings.lr = f.lr;
  settings.decay = f.decay;
  settings.weight_decay = f.weight_decay;
  settings.momentum = f.momentum;
  settings.nesterov = f.nesterov;
  const std::unique_ptr<mien::Optimizer<float>> optimizer =
      mien::make_optimizer<float>(mien::parse_optimizer_kind(optimizer_name), settings);
  mien::SoftmaxCrossEntropy<float> loss(mien::Tensor<float>(), static_cast<float>(f.label_smoothing));
  mien::TrainingState state;
  if (!f.resume.empty()) {
    mien::load_training_checkpoint(f.resume, model, optimizer.get(), &state);
    std::fprintf(stderr, "resumed from %s: %d epochs done, step %llu\n", f.resume.c_str(), state.epochs_done,
                 static_cast<unsigned long long>(state.step));
  }
  if (!f.init_from.empty() && !f.resume.empty())
    throw mien::InvalidArgument("--init-from starts a new training cycle and --resume continues one: give one of them");
  if (!f.init_from.empty()) {
    // Weights only: a second training cycle (fresh optimizer, schedule and epoch count) from an earlier model, which
    // must have this run's architecture and input standardisation.
    const mien::ModelInfo from = mien::load_training_checkpoint(f.init_from, model);
    if (from.pixel_mean != info.pixel_mean || from.pixel_stddev != info.pixel_stddev || from.class_names != info.class_names)
      throw mien::InvalidArgument("--init-from '" + f.init_from + "': the model was trained with other classes or "
                                  "pixel statistics than this data set's training part");
    std::fprintf(stderr, "initialised from the weights of %s\n", f.init_from.c_str());
  }
  std::fprintf(stderr, "%s", mien::summary_table(model).c_str());

  nlohmann::json config = {{"model", model.architecture()},     {"data", f.data},         {"split", f.split},
                           {"seed", f.seed},           {"device", f.device},     {"batch", f.batch},
                           {"epochs", f.epochs},       {"init_from", f.init_from}, {"lr", f.lr},             {"decay", f.decay},
                           {"weight_decay", f.weight_decay},
                           {"optimizer", {{"type", optimizer->type()}, {"options", optimizer->options_json()}}},
                           {"augment", f.augment},     {"rotation", f.rotation}, {"scale", {f.scale_min, f.scale_max}},
                           {"flip", f.flip},           {"shift", f.shift},       {"erase", f.erase},
                           {"lr_schedule", f.lr_schedule}, {"tta", f.tta}, {"tta_shift", f.tta_shift},
                           {"early_stopping", f.early_stopping}, {"label_smoothing", f.label_smoothing},
                           {"drop_duplicates", f.drop_duplicates}, {"max_train", f.max_train},
                           {"normalization", {{"mean", info.pixel_mean}, {"stddev", info.pixel_stddev}}},
                           {"duplicate_audit", {{"groups", audit.groups}, {"test_in_train", audit.test_in_train},
                                                {"val_in_train", audit.val_in_train},
                                                {"conflicting_groups", audit.conflicting_groups}}}};
  std::ofstream(run_dir / "config.json") << config.dump(2) << "\n";

  mien::TrainOptions options;
  options.epochs = f.epochs;
  options.early_stopping_patience = f.early_stopping;
  options.lr_schedule = mien::parse_lr_schedule(f.lr_schedule);
  options.max_batches_per_epoch = f.max_batches;
  options.progress = f.progress;
  options.run_dir = run_dir;
  mien::Trainer trainer(ctx, model, *optimizer, loss, info, options);
  trainer.fit(train_loader, val_loader, state);
  mien::plot_training_curves(run_dir, state.history);
  if (trainer.interrupted()) return examples::interrupted;

  // Test the best checkpoint, as the paper's tables report.
  if (fs::exists(run_dir / "best.ckpt")) mien::load_training_checkpoint((run_dir / "best.ckpt").string(), model);
  mien::BatchLoader test_loader(data, split.test, eval_opts);
  const mien::TestTimeAugmentation tta{f.tta, f.tta_shift};
  const mien::EvaluationReport report = mien::evaluate(ctx, model, test_loader, info.class_names, nullptr, tta);
  std::printf("test results (best checkpoint, epoch %d%s):\n%s", state.best_epoch,
              tta.enabled() ? (", " + tta.describe()).c_str() : "", report.table().c_str());
  std::ofstream(run_dir / "test_metrics.json") << report.to_json().dump(2) << "\n";
  std::ofstream(run_dir / "confusion.csv") << report.confusion_csv();
  mien::plot_class_metrics(run_dir, report);
  mien::plot_confusion_matrix(run_dir, report);

  // Grad-CAM pictures of test images across the classes, each labelled with its true and predicted emotion.
  if (f.attention_images > 0 && !split.test.empty()) {
    const auto pictures = mien::explain_images(ctx, model, info, data, split.test,
                                               static_cast<std::size_t>(f.attention_images), run_dir / "attention");
    std::fprintf(stderr, "%zu Grad-CAM pictures in %s\n", pictures.size(), (run_dir / "attention").c_str());
  }
  std::fprintf(stderr, "run folder: %s\n", run_dir.c_str());
  return examples::ok;
}

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Train the paper's hybrid facial-emotion network (Mahdi et al., ICAIIT 2025) from scratch."};
  app.add_option("--data", f.data, "FER2013 image-folder root (train/ and test/ inside) or fer2013.csv")->required();
  app.add_option("--out", f.out, "run folder: checkpoints, logs, metrics, pictures")->capture_default_str();
  app.add_option("--resume", f.resume, "continue from this checkpoint (e.g. <out>/last.ckpt)");
  app.add_option("--init-from", f.init_from, "start from this model's weights (a new training cycle, fresh optimizer)");
  app.add_option("--device", f.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}))->capture_default_str();
  app.add_option("--input-size", f.input_size, "model input size (paper: 128; FER2013 native: 48)")
      ->check(CLI::Range(8, 1024))->capture_default_str();
  app.add_option("--epochs", f.epochs, "epochs (Table 3: 80)")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--batch", f.batch, "batch size (Table 3: 32)")->check(CLI::Range(1, 65536))->capture_default_str();
  app.add_option("--optimizer", f.optimizer, "adam (Table 3) or sgd (momentum, Nesterov by default; try --lr 0.01); "
                 "a resumed run keeps its own unless this is given")
      ->check(CLI::IsMember({"adam", "sgd"}))->capture_default_str();
  app.add_option("--lr", f.lr, "base learning rate (Table 3, Adam: 1e-4)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--momentum", f.momentum, "SGD momentum")->check(CLI::Range(0.0, 0.999))->capture_default_str();
  app.add_flag("--nesterov,!--no-nesterov", f.nesterov, "SGD: Nesterov momentum")->capture_default_str();
  app.add_option("--decay", f.decay, "time-based LR decay (Table 3: 1e-6)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--weight-decay", f.weight_decay, "decoupled weight decay of weights and filters, as AdamW (not in the paper)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--dropout", f.dropout, "dropout rate in the head (Table 3: 0.5)")->check(CLI::Range(0.0, 0.99))->capture_default_str();
  app.add_option("--seed", f.seed, "seed for weights, splits, shuffling, augmentation, dropout")->capture_default_str();
  app.add_option("--split", f.split, "official (data set's train/test) or paper (pooled 70/15/15)")
      ->check(CLI::IsMember({"official", "paper"}))->capture_default_str();
  app.add_option("--val-fraction", f.val_fraction, "validation part carved from train (official split)")
      ->check(CLI::Range(0.01, 0.5))->capture_default_str();
  app.add_flag("--augment,!--no-augment", f.augment, "augment training images (Algorithm 1)")->capture_default_str();
  app.add_option("--rotation", f.rotation, "max rotation in degrees")->check(CLI::Range(0.0, 180.0))->capture_default_str();
  app.add_option("--scale-min", f.scale_min, "min scale")->check(CLI::Range(0.1, 10.0))->capture_default_str();
  app.add_option("--scale-max", f.scale_max, "max scale")->check(CLI::Range(0.1, 10.0))->capture_default_str();
  app.add_option("--flip", f.flip, "horizontal flip probability")->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--shift", f.shift, "max random translation, as a fraction of the image size (not in the paper)")
      ->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_option("--erase", f.erase, "random erasing probability (not in the paper)")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  app.add_option("--attention", f.attention, "per_channel or paper_literal (see docs/paper-model.md)")
      ->check(CLI::IsMember({"per_channel", "paper_literal"}))->capture_default_str();
  app.add_flag("--gated-skips,!--plain-skips", f.gated_skips, "scale residual skips by attention scores")->capture_default_str();
  app.add_option("--early-stopping", f.early_stopping, "stop after N epochs without a better val accuracy (0: off)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_option("--lr-schedule", f.lr_schedule,
                 "none, plateau (halve the LR after 5 flat epochs) or cosine (anneal towards 0 over --epochs)")
      ->check(CLI::IsMember({"none", "plateau", "cosine"}))->capture_default_str();
  app.add_option("--label-smoothing", f.label_smoothing, "label smoothing")->check(CLI::Range(0.0, 0.5))->capture_default_str();
  app.add_flag("--drop-duplicates", f.drop_duplicates, "drop validation/test images that also occur in train");
  app.add_flag("--standardize,!--no-standardize", f.standardize, "standardise pixels with the train set's mean/std")
      ->capture_default_str();
  app.add_option("--max-train", f.max_train, "use only the first N training images (quick runs)")->check(CLI::NonNegativeNumber);
  app.add_option("--max-batches", f.max_batches, "at most N batches per epoch (quick runs)")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", f.threads, "data loading threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_option("--on-bad-image", f.on_bad_image, "fail or skip unreadable images and malformed CSV rows")
      ->check(CLI::IsMember({"fail", "skip"}))->capture_default_str();
  app.add_option("--attention-images", f.attention_images,
                 "Grad-CAM pictures to draw from the test set, across the classes (attention/*.png, grid.png)")
      ->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--tta,!--no-tta", f.tta, "test: average each image's and its mirror image's probabilities")
      ->capture_default_str();
  app.add_option("--tta-shift", f.tta_shift, "test: also average over the image moved by this many pixels left, right, "
                 "up and down (0: off)")->check(CLI::NonNegativeNumber)->capture_default_str();
  app.add_flag("--progress,!--no-progress", f.progress, "progress bar")->capture_default_str();
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  f.optimizer_given = app.count("--optimizer") > 0;
  if (f.scale_min > f.scale_max) {
    std::fprintf(stderr, "error: --scale-min %.3f exceeds --scale-max %.3f\n", f.scale_min, f.scale_max);
    return examples::usage_error;
  }
  return examples::run_guarded([&] { return train(f); });
}
