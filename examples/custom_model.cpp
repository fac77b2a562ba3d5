// custom_model: a network of your own, declared from mien's layer specs and trained by the same Trainer as the
// paper's network. Here a small residual CNN with a parallel 3×3/5×5 block and dynamic attention; change the
// declaration in `network` and everything else (training, checkpoints, resume, evaluate, predict, the
// summary, attention pictures) keeps working, because the checkpoint stores the network as data.
//
//   custom_model --data /path/to/fer2013 --out runs/custom --epochs 10
//   custom_model --data /path/to/fer2013 --out runs/custom --epochs 20 --resume runs/custom/last.ckpt
//   evaluate --checkpoint runs/custom/best.ckpt --data /path/to/fer2013
//   predict --checkpoint runs/custom/best.ckpt face.png
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "training_data.hpp"

namespace fs = std::filesystem;
namespace nn = mien::nn;

// The network: what each layer is, never how large its input is.
static std::vector<mien::LayerSpec> network(std::int64_t classes) {
  return {
      nn::conv(32, 3), nn::batchnorm_relu(), nn::max_pool(),
      // multi-scale features: 3×3 and 5×5 branches side by side, 32 + 32 channels
      nn::parallel({nn::sequential({nn::conv(32, 3), nn::batchnorm_relu()}),
                    nn::sequential({nn::conv(32, 5), nn::batchnorm_relu()})}),
      nn::max_pool(),
      nn::residual({nn::conv(64, 3), nn::batchnorm_relu(), nn::conv(64, 3), nn::batchnorm()}),
      nn::attention(),
      nn::max_pool(),
      nn::residual({nn::conv(128, 3), nn::batchnorm_relu(), nn::conv(128, 3), nn::batchnorm()}),  // 1×1 projection
      nn::global_avg_pool(), nn::dropout(0.3), nn::dense(classes),
  };
}

struct Flags {
  std::string data, out = "runs/custom", resume;
  int input_size = 48, epochs = 10, threads = 0;
  std::int64_t batch = 64, max_train = 0;
  double lr = 1e-3, weight_decay = 0.01;
  std::uint64_t seed = 1;
  bool progress = true;
};

static int train(const Flags& f) {
  mien::install_interrupt_handler();
  mien::Context ctx(f.seed);
  examples::DataFlags data_flags;
  data_flags.data = f.data;
  data_flags.input_size = f.input_size;
  data_flags.threads = f.threads;
  data_flags.seed = f.seed;
  data_flags.max_train = f.max_train;
  const examples::TrainingData prepared = examples::load_training_data(data_flags);

  mien::Net<float> net(network(static_cast<std::int64_t>(prepared.data.class_names.size())));
  net.build(ctx, mien::Shape{1, f.input_size, f.input_size});

  mien::LoaderOptions train_opts;
  train_opts.batch_size = static_cast<std::size_t>(f.batch);
  train_opts.seed = f.seed;
  train_opts.num_threads = f.threads;
  train_opts.mean = prepared.info.pixel_mean;
  train_opts.stddev = prepared.info.pixel_stddev;
  train_opts.augment = true;  // rotation, scale and flip as in the paper, plus shifts
  train_opts.augmentation.max_shift = 0.1f;
  train_opts.drop_last = true;
  const mien::LoaderOptions eval_opts = examples::evaluation_options(train_opts);
  mien::BatchLoader train_loader(prepared.data, prepared.split.train, train_opts);
  mien::BatchLoader val_loader(prepared.data, prepared.split.val, eval_opts);

  mien::OptimizerSettings settings;
  settings.lr = f.lr;
  settings.decay = 0;
  settings.weight_decay = f.weight_decay;
  const auto optimizer = mien::make_optimizer<float>(mien::OptimizerKind::adam, settings);
  mien::SoftmaxCrossEntropy<float> loss;
  mien::TrainingState state;
  if (!f.resume.empty()) mien::load_training_checkpoint(f.resume, net, optimizer.get(), &state);
  std::fprintf(stderr, "%s", mien::summary_table(net).c_str());

  mien::TrainOptions options;
  options.epochs = f.epochs;
  options.lr_schedule = mien::LrSchedule::cosine;
  options.progress = f.progress;
  options.run_dir = f.out;
  mien::Trainer trainer(ctx, net, *optimizer, loss, prepared.info, options);
  trainer.fit(train_loader, val_loader, state);
  mien::plot_training_curves(f.out, state.history);
  if (trainer.interrupted()) return examples::interrupted;

  mien::load_training_checkpoint((fs::path(f.out) / "best.ckpt").string(), net);
  mien::BatchLoader test_loader(prepared.data, prepared.split.test, eval_opts);
  const mien::EvaluationReport report = mien::evaluate(ctx, net, test_loader, prepared.info.class_names);
  std::printf("test results (best checkpoint, epoch %d):\n%s", state.best_epoch, report.table().c_str());
  std::fprintf(stderr, "run folder: %s (evaluate and predict take %s/best.ckpt)\n", f.out.c_str(), f.out.c_str());
  return examples::ok;
}

int main(int argc, char** argv) {
  Flags f;
  CLI::App app{"Train a network of your own (a residual CNN with a parallel block) with mien's Trainer."};
  app.add_option("--data", f.data, "image-folder root (train/ and test/ inside) or fer2013.csv")->required();
  app.add_option("--out", f.out, "run folder: checkpoints, logs, curves")->capture_default_str();
  app.add_option("--resume", f.resume, "continue from this checkpoint (e.g. <out>/last.ckpt)");
  app.add_option("--epochs", f.epochs, "epochs")->check(CLI::Range(1, 100000))->capture_default_str();
  app.add_option("--input-size", f.input_size, "image side")->check(CLI::Range(8, 1024))->capture_default_str();
  app.add_option("--batch", f.batch, "batch size")->check(CLI::Range(2, 65536))->capture_default_str();
  app.add_option("--lr", f.lr, "Adam's learning rate (cosine schedule)")->check(CLI::PositiveNumber)->capture_default_str();
  app.add_option("--weight-decay", f.weight_decay, "decoupled weight decay")->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--seed", f.seed, "seed for weights, split, shuffling, augmentation")->capture_default_str();
  app.add_option("--max-train", f.max_train, "use only the first N training images")->check(CLI::NonNegativeNumber);
  app.add_option("--threads", f.threads, "data loading threads (0: all cores)")->check(CLI::NonNegativeNumber);
  app.add_flag("--progress,!--no-progress", f.progress, "progress bar")->capture_default_str();
  if (const auto done = examples::parse_command_line(app, argc, argv)) return *done;
  return examples::run_guarded([&] { return train(f); });
}
