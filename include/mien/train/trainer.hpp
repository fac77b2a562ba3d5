#pragma once
// The training loop: epochs of optimizer steps (Adam or SGD, optim/optimizer.hpp) over a BatchLoader, validation
// after every epoch, the best checkpoint kept by validation accuracy, optional early stopping and LR schedule
// (plateau or cosine), resumable from any checkpoint (the loader, dropout and augmentation are all keyed by seed, epoch and step,
// so a resumed run repeats exactly what an uninterrupted one would do), Ctrl-C saves and returns, and a
// non-finite loss stops training with a diagnostic while the last good checkpoint stays on disk.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <unistd.h>
#include <vector>

#include "mien/data/loader.hpp"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/models/model.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/optim/optimizer.hpp"
#include "mien/train/checkpointing.hpp"
#include "mien/train/interrupt.hpp"
#include "mien/train/metrics.hpp"
#include "mien/train/test_time_augmentation.hpp"

namespace mien {

// Thrown when the loss stops being finite; what() says at which step and where it started.
class NonFiniteError : public Error {
 public:
  using Error::Error;
};

// plateau: multiply the LR by plateau_factor after plateau_patience flat epochs; cosine: anneal it from the base LR
// towards 0 over the run's epochs (Loshchilov & Hutter, SGDR, arXiv:1608.03983, without restarts).
enum class LrSchedule { none, plateau, cosine };

inline const char* to_string(LrSchedule schedule) {
  switch (schedule) {
    case LrSchedule::none: return "none";
    case LrSchedule::plateau: return "plateau";
    case LrSchedule::cosine: return "cosine";
  }
  return "unknown";
}

// The names command lines and configs use; anything else is an error that lists them.
inline LrSchedule parse_lr_schedule(const std::string& name) {
  for (const LrSchedule s : {LrSchedule::none, LrSchedule::plateau, LrSchedule::cosine})
    if (name == to_string(s)) return s;
  throw InvalidArgument("unknown learning-rate schedule '" + name + "'; valid: none, plateau, cosine");
}

struct TrainOptions {
  int epochs = 80;                    // Table 3
  int early_stopping_patience = 0;    // epochs without a better validation accuracy before stopping; 0: off
  LrSchedule lr_schedule = LrSchedule::none;
  double plateau_factor = 0.5;
  int plateau_patience = 5;
  std::int64_t max_batches_per_epoch = 0;  // 0: whole epochs (a limit is for smoke tests)
  bool progress = true;
  std::filesystem::path run_dir;      // last.ckpt, best.ckpt, epochs.csv go here

  void validate() const {
    const char* op = "TrainOptions";
    check_arg(epochs >= 1, op, "epochs must be at least 1, got ", epochs);
    check_arg(early_stopping_patience >= 0, op, "early_stopping_patience must not be negative, got ",
              early_stopping_patience);
    check_arg(plateau_factor > 0 && plateau_factor <= 1, op, "plateau_factor must be in (0, 1], got ", plateau_factor);
    check_arg(plateau_patience >= 1, op, "plateau_patience must be at least 1, got ", plateau_patience);
    check_arg(max_batches_per_epoch >= 0, op, "max_batches_per_epoch must not be negative, got ",
              max_batches_per_epoch);
    check_arg(!run_dir.empty(), op, "run_dir (where checkpoints go) must be set");
  }
};

// The cosine schedule's factor on the base learning rate in epoch `epoch` (1-based) of `epochs`: 1 in the first
// epoch, falling along half a cosine to near 0 in the last.
inline double cosine_lr_scale(int epoch, int epochs) {
  constexpr double pi = 3.14159265358979323846;
  return 0.5 * (1.0 + std::cos(pi * static_cast<double>(epoch - 1) / static_cast<double>(std::max(1, epochs))));
}

// Evaluates a model (any that maps images to logits) on every batch of a loader in inference mode. With test-time augmentation, each image's
// class probabilities are the mean over its views (test_time_augmentation.hpp); the loss is then the
// cross-entropy of that mean.
inline EvaluationReport evaluate(Context& ctx, Layer<float>& model, BatchLoader& loader,
                                 const std::vector<std::string>& class_names,
                                 std::vector<std::vector<float>>* probabilities = nullptr,
                                 const TestTimeAugmentation& tta = {}) {
  SoftmaxCrossEntropy<float> loss_fn;
  ConfusionMatrix confusion(class_names);
  Batch batch;
  Tensor<float> x(Shape{0}, ctx.device());
  Tensor<std::int32_t> y(Shape{0}, ctx.device());
  double loss_sum = 0;
  std::int64_t seen = 0;
  const std::size_t k = class_names.size();
  loader.start_epoch(0);
  while (loader.next(batch)) {
    y.copy_from(batch.labels);
    float loss = 0;
    std::vector<float> probs;
    if (tta.enabled()) {
      probs = probabilities_over_views(ctx, model, batch.images, x, y, loss_fn, tta);
      double nll = 0;
      for (std::size_t i = 0; i < batch.size(); ++i)
        nll -= std::log(std::max(1e-30, static_cast<double>(probs[i * k + static_cast<std::size_t>(batch.labels[i])])));
      loss = static_cast<float>(nll / static_cast<double>(std::max<std::size_t>(1, batch.size())));
    } else {
      x.copy_from(batch.images);
      loss = loss_fn.forward(ctx, model.forward(ctx, x, Mode::infer), y);
      probs = loss_fn.probs().to_vector();
    }
    for (std::size_t i = 0; i < batch.size(); ++i) {
      std::size_t best = 0;
      for (std::size_t c = 1; c < k; ++c)
        if (probs[i * k + c] > probs[i * k + best]) best = c;
      confusion.add(batch.labels[i], static_cast<int>(best));
      if (probabilities) probabilities->emplace_back(probs.begin() + i * k, probs.begin() + (i + 1) * k);
    }
    loss_sum += static_cast<double>(loss) * batch.size();
    seen += static_cast<std::int64_t>(batch.size());
  }
  return confusion.report(seen ? loss_sum / seen : 0);
}

class Trainer {
 public:
  Trainer(Context& ctx, Model<float>& model, Optimizer<float>& optimizer, SoftmaxCrossEntropy<float>& loss,
          ModelInfo info, TrainOptions options)
      : ctx_(ctx), model_(model), optimizer_(optimizer), loss_(loss), info_(std::move(info)),
        options_(std::move(options)) {
    options_.validate();
  }

  // Trains from `state` (fresh or loaded from a checkpoint) up to options.epochs. Returns normally when done,
  // stopped early, or interrupted (state says which); throws NonFiniteError when the loss diverges.
  void fit(BatchLoader& train, BatchLoader& val, TrainingState& state) {
    namespace fs = std::filesystem;
    fs::create_directories(options_.run_dir);
    ctx_.set_step(state.step);
    model_.set_input_gradient(false);
    const double base_lr = optimizer_.base_learning_rate();
    Batch batch;
    Tensor<float> x(Shape{0}, ctx_.device());
    Tensor<std::int32_t> y(Shape{0}, ctx_.device());

    for (int epoch = state.epochs_done + 1; epoch <= options_.epochs; ++epoch) {
      if (options_.lr_schedule == LrSchedule::cosine) state.lr_scale = cosine_lr_scale(epoch, options_.epochs);
      optimizer_.set_learning_rate(base_lr * state.lr_scale);
      const std::int64_t total = batches_this_epoch(train);
      // Resuming inside an epoch starts at the first batch not yet done, in the order the epoch had.
      std::int64_t b = std::min(state.batches_done, total);
      train.start_epoch(static_cast<std::uint64_t>(epoch), static_cast<std::size_t>(b));
      const auto start = std::chrono::steady_clock::now();
      double loss_sum = 0;
      std::int64_t correct = 0, seen = 0;
      for (; b < total && train.next(batch); ++b) {
        x.copy_from(batch.images);
        y.copy_from(batch.labels);
        const float loss = loss_.forward(ctx_, model_.forward(ctx_, x, Mode::train), y);
        if (!std::isfinite(loss)) throw NonFiniteError(diagnose_nonfinite(epoch, b, loss));
        model_.backward(ctx_, loss_.backward(ctx_));
        optimizer_.step(ctx_, model_.params());
        ctx_.advance_step();
        state.step = ctx_.step();
        loss_sum += static_cast<double>(loss) * batch.size();
        correct += count_correct(loss_.probs(), batch.labels);
        seen += static_cast<std::int64_t>(batch.size());
        if (options_.progress) progress(epoch, b + 1, total, loss_sum / seen, double(correct) / seen, seen, start);
        if (interrupt_requested()) {
          state.batches_done = b + 1;
          save(options_.run_dir / "last.ckpt", state);
          std::fprintf(stderr, "\ninterrupted: saved %s (epoch %d, batch %lld); resume with --resume\n",
                       (options_.run_dir / "last.ckpt").c_str(), epoch, static_cast<long long>(b + 1));
          interrupted_ = true;
          return;
        }
      }
      state.batches_done = 0;
      const double seconds = seconds_since(start);
      const EvaluationReport v = evaluate(ctx_, model_, val, info_.class_names);
      EpochRecord rec;
      rec.epoch = epoch;
      rec.train_loss = seen ? loss_sum / seen : 0;
      rec.train_accuracy = seen ? double(correct) / seen : 0;
      rec.val_loss = v.loss;
      rec.val_accuracy = v.accuracy;
      rec.learning_rate = optimizer_.current_lr();
      rec.seconds = seconds;
      rec.images_per_second = seconds > 0 ? seen / seconds : 0;
      state.history.push_back(rec);
      state.epochs_done = epoch;
      const bool improved = v.accuracy > state.best_val_accuracy;
      if (improved) {
        state.best_val_accuracy = v.accuracy;
        state.best_epoch = epoch;
        state.epochs_without_improvement = 0;
      } else {
        ++state.epochs_without_improvement;
        if (options_.lr_schedule == LrSchedule::plateau && state.epochs_without_improvement % options_.plateau_patience == 0)
          state.lr_scale *= options_.plateau_factor;
      }
      if (improved) save(options_.run_dir / "best.ckpt", state);
      save(options_.run_dir / "last.ckpt", state);
      log_epoch(rec, improved);
      if (options_.early_stopping_patience > 0 && state.epochs_without_improvement >= options_.early_stopping_patience) {
        std::fprintf(stderr, "early stopping: no better validation accuracy for %d epochs (best %.4f at epoch %d)\n",
                     state.epochs_without_improvement, state.best_val_accuracy, state.best_epoch);
        break;
      }
    }
  }

  bool interrupted() const { return interrupted_; }

 private:
  std::int64_t batches_this_epoch(const BatchLoader& train) const {
    const auto all = static_cast<std::int64_t>(train.batches_per_epoch());
    return options_.max_batches_per_epoch > 0 ? std::min(all, options_.max_batches_per_epoch) : all;
  }

  static std::int64_t count_correct(const Tensor<float>& probs_any, const Tensor<std::int32_t>& labels) {
    const std::vector<float> probs = probs_any.to_vector();
    const std::int64_t k = probs_any.shape()[1];
    std::int64_t correct = 0;
    for (std::size_t i = 0; i < labels.numel(); ++i) {
      std::int64_t best = 0;
      for (std::int64_t c = 1; c < k; ++c)
        if (probs[i * k + c] > probs[i * k + best]) best = c;
      correct += best == labels[i];
    }
    return correct;
  }

  // Names the first parameter that is no longer finite, or says the parameters were fine (then the forward pass
  // itself overflowed on this batch).
  std::string diagnose_nonfinite(int epoch, std::int64_t batch, float loss) {
    std::string where = "every parameter is finite, so the forward pass overflowed on this batch";
    for (auto& p : model_.params()) {
      const std::int64_t bad = ops::count_nonfinite(ctx_, *p.value);
      if (bad > 0) {
        where = "parameter '" + p.name + "' has " + std::to_string(bad) + " non-finite values";
        break;
      }
    }
    return "training diverged: loss is " + std::to_string(loss) + " at epoch " + std::to_string(epoch) + ", batch " +
           std::to_string(batch + 1) + " (step " + std::to_string(ctx_.step()) + "); " + where +
           ". The last good checkpoint is " + (options_.run_dir / "last.ckpt").string() +
           "; try a lower learning rate.";
  }

  void save(const std::filesystem::path& path, const TrainingState& state) {
    save_training_checkpoint(path.string(), model_, optimizer_, info_, state);
  }

  void log_epoch(const EpochRecord& r, bool improved) {
    const auto path = options_.run_dir / "epochs.csv";
    const bool fresh = !std::filesystem::exists(path);
    std::ofstream out(path, std::ios::app);
    if (fresh) out << "epoch,train_loss,train_accuracy,val_loss,val_accuracy,learning_rate,seconds,images_per_second\n";
    out << r.epoch << ',' << r.train_loss << ',' << r.train_accuracy << ',' << r.val_loss << ',' << r.val_accuracy << ','
        << r.learning_rate << ',' << r.seconds << ',' << r.images_per_second << '\n';
    std::fprintf(stderr, "%sepoch %3d  loss %.4f  acc %.4f  val_loss %.4f  val_acc %.4f  lr %.2e  %.0fs  %.0f img/s%s\n",
                 options_.progress && isatty(2) ? "\n" : "", r.epoch, r.train_loss, r.train_accuracy, r.val_loss,
                 r.val_accuracy, r.learning_rate, r.seconds, r.images_per_second, improved ? "  (best)" : "");
  }

  static double seconds_since(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }

  // A one-line progress bar on a terminal; every tenth of an epoch otherwise (logs stay short).
  void progress(int epoch, std::int64_t done, std::int64_t total, double loss, double acc, std::int64_t images,
                std::chrono::steady_clock::time_point start) {
    const bool tty = isatty(2);
    if (!tty && done != total && done % std::max<std::int64_t>(1, total / 10) != 0) return;
    const double elapsed = seconds_since(start), rate = elapsed > 0 ? images / elapsed : 0;
    const double eta = done ? elapsed * double(total - done) / double(done) : 0;
    char bar[31];
    const int filled = static_cast<int>(30 * done / std::max<std::int64_t>(1, total));
    for (int i = 0; i < 30; ++i) bar[i] = i < filled ? '=' : (i == filled ? '>' : ' ');
    bar[30] = '\0';
    std::fprintf(stderr, "%sepoch %d/%d [%s] %lld/%lld loss %.4f acc %.4f %.0f img/s ETA %d:%02d%s", tty ? "\r" : "", epoch,
                 options_.epochs, bar, static_cast<long long>(done), static_cast<long long>(total), loss, acc, rate,
                 static_cast<int>(eta) / 60, static_cast<int>(eta) % 60, tty ? "" : "\n");
    std::fflush(stderr);
  }

  Context& ctx_;
  Model<float>& model_;
  Optimizer<float>& optimizer_;
  SoftmaxCrossEntropy<float>& loss_;
  ModelInfo info_;
  TrainOptions options_;
  bool interrupted_ = false;
};

}  // namespace mien
