#pragma once
// BatchLoader: mini-batches over a subset of a Dataset, as the network consumes them: images as
// Tensor<float> [B, 1, H, W] holding (pixel / 255 - mean) / stddev, labels as Tensor<int32_t> [B].
//
// Each epoch has its own seeded order (Philox keyed by (seed, epoch)); augmentation, when on (the training set
// only), is keyed by (seed, epoch, sample), so an epoch's batches are the same for any thread count and for a
// resumed run. Batches are assembled in parallel (OpenMP) and, with prefetch on, one batch ahead on a
// background thread, so the next batch is ready while the network trains on this one.
//
// The Dataset must outlive the loader and stay unchanged while it is in use.
#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <limits>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/core/tensor.hpp"
#include "mien/data/augment.hpp"
#include "mien/data/dataset.hpp"
#include "mien/data/random.hpp"

namespace mien {

struct Batch {
  Tensor<float> images;              // [B, 1, H, W]
  Tensor<std::int32_t> labels;       // [B]
  std::vector<std::size_t> indices;  // the data set index of each sample
  std::size_t size() const { return indices.size(); }
};

struct LoaderOptions {
  std::size_t batch_size = 64;
  bool shuffle = true;     // a new seeded order every epoch; off: the order of the indices given
  bool drop_last = false;  // drop the last batch when it is smaller than batch_size
  bool augment = false;    // for the training set only
  AugmentOptions augmentation;
  float mean = 0.0f;  // images hold (pixel / 255 - mean) / stddev
  float stddev = 1.0f;
  std::uint64_t seed = 0;
  int num_threads = 0;   // batch assembly threads; 0: OpenMP's default
  bool prefetch = true;  // assemble the next batch on a background thread
};

// Mean and standard deviation of pixel / 255 over the given images (to standardize with the training set's).
struct PixelStats {
  float mean = 0.0f;
  float stddev = 1.0f;
};

inline PixelStats pixel_stats(const Dataset& ds, const std::vector<std::size_t>& indices) {
  check_arg(!indices.empty(), "pixel_stats", "no images given");
  std::vector<std::uint64_t> histogram(256, 0);  // exact sums, whatever the data set size
  for (std::size_t i : indices) {
    const std::uint8_t* image = ds.image(i);
    for (std::size_t p = 0; p < ds.image_pixels(); ++p) ++histogram[image[p]];
  }
  double count = 0, sum = 0, sum_sq = 0;
  for (int v = 0; v < 256; ++v) {
    const double n = static_cast<double>(histogram[v]), x = v / 255.0;
    count += n;
    sum += n * x;
    sum_sq += n * x * x;
  }
  const double mean = sum / count;
  return PixelStats{static_cast<float>(mean),
                    static_cast<float>(std::sqrt(std::max(sum_sq / count - mean * mean, 0.0)))};
}

class BatchLoader {
 public:
  BatchLoader(const Dataset& data, std::vector<std::size_t> indices, LoaderOptions options = {})
      : data_(&data), indices_(std::move(indices)), options_(options) {
    constexpr const char* op = "BatchLoader";
    check_arg(options_.batch_size > 0, op, "batch_size must be positive");
    check_arg(options_.stddev > 0.0f, op, "stddev must be positive, got ", options_.stddev);
    check_arg(data.height > 0 && data.width > 0, op, "the data set has no image size");
    for (std::size_t i : indices_)
      check_arg(i < data.size(), op, "index ", i, " is outside the data set of ", data.size(), " samples");
    if (options_.augment) check_augment_options(options_.augmentation);
    set_order(0);
    if (options_.prefetch) {
      worker_ = std::thread([this] { work(); });
      std::lock_guard<std::mutex> lock(mutex_);
      if (batches_per_epoch() > 0) post(0);
    }
  }
  ~BatchLoader() {
    if (!worker_.joinable()) return;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    wake_.notify_all();
    worker_.join();
  }
  BatchLoader(const BatchLoader&) = delete;
  BatchLoader& operator=(const BatchLoader&) = delete;

  std::size_t size() const { return indices_.size(); }
  std::size_t batches_per_epoch() const {
    const std::size_t b = options_.batch_size;
    return options_.drop_last ? size() / b : (size() + b - 1) / b;
  }
  std::uint64_t epoch() const { return epoch_; }
  const LoaderOptions& options() const { return options_; }
  // This epoch's order of data set indices.
  const std::vector<std::size_t>& epoch_order() const { return order_; }

  // Starts epoch `epoch` (its order, its augmentations) at batch `first_batch` (a resumed run passes the
  // batches it already did, and gets the batches the uninterrupted run would have had); a batch being
  // prefetched for the previous epoch is discarded. The loader starts in epoch 0.
  void start_epoch(std::uint64_t epoch, std::size_t first_batch = 0) {
    check_arg(first_batch <= batches_per_epoch(), "BatchLoader::start_epoch", "first batch ", first_batch,
              " is past the ", batches_per_epoch(), " batches of an epoch");
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return job_ == none; });
    ready_ = none;
    error_ = nullptr;
    set_order(epoch);
    cursor_ = first_batch;
    if (options_.prefetch && cursor_ < batches_per_epoch()) post(cursor_);  // start on it right away
  }

  // The next batch of the epoch into `batch` (its buffers are reused); false once the epoch is exhausted.
  bool next(Batch& batch) {
    if (cursor_ >= batches_per_epoch()) return false;
    if (!options_.prefetch) {
      assemble(cursor_++, batch);
      return true;
    }
    std::unique_lock<std::mutex> lock(mutex_);
    if (ready_ != cursor_ && job_ != cursor_) post(cursor_);
    done_.wait(lock, [this] { return ready_ == cursor_; });
    ready_ = none;
    if (error_) std::rethrow_exception(std::exchange(error_, nullptr));
    std::swap(batch, pending_);
    if (++cursor_ < batches_per_epoch()) post(cursor_);
    return true;
  }

  // Batch `b` of the current epoch, assembled on the calling thread (random access; no prefetch involved).
  void assemble(std::size_t b, Batch& batch) const {
    check_arg(b < batches_per_epoch(), "BatchLoader::assemble", "batch ", b, " of ", batches_per_epoch());
    const Dataset& ds = *data_;
    const std::size_t begin = b * options_.batch_size;
    const std::size_t count = std::min(options_.batch_size, size() - begin);
    const int height = ds.height, width = ds.width;
    const std::size_t per_image = ds.image_pixels();
    batch.images.resize(Shape{static_cast<std::int64_t>(count), 1, height, width});
    batch.labels.resize(Shape{static_cast<std::int64_t>(count)});
    batch.indices.assign(order_.begin() + static_cast<std::ptrdiff_t>(begin),
                         order_.begin() + static_cast<std::ptrdiff_t>(begin + count));
    const float gain = 1.0f / (255.0f * options_.stddev), offset = -options_.mean / options_.stddev;
    float* images = batch.images.data();
    std::int32_t* labels = batch.labels.data();
    const std::size_t* picked = batch.indices.data();
    [[maybe_unused]] const int threads = detail::loader_threads(options_.num_threads);
#pragma omp parallel for schedule(static) num_threads(threads)
    for (std::int64_t k = 0; k < static_cast<std::int64_t>(count); ++k) {
      const std::size_t sample = picked[k];
      const std::uint8_t* src = ds.image(sample);
      float* dst = images + static_cast<std::size_t>(k) * per_image;
      if (options_.augment) {
        const AugmentParams p = draw_augment_params(options_.augmentation, options_.seed, epoch_, sample);
        augment_image(src, height, width, p, dst, gain, offset);
      } else {
        for (std::size_t i = 0; i < per_image; ++i) dst[i] = gain * static_cast<float>(src[i]) + offset;
      }
      labels[k] = ds.labels[sample];
    }
  }

 private:
  static constexpr std::size_t none = std::numeric_limits<std::size_t>::max();

  void set_order(std::uint64_t epoch) {
    epoch_ = epoch;
    cursor_ = 0;
    order_ = indices_;
    if (options_.shuffle) seeded_shuffle(order_, RandomStream{options_.seed, data_streams::shuffle, epoch});
  }

  // Asks the worker for batch b; the caller holds the mutex and the worker is idle.
  void post(std::size_t b) {
    job_ = b;
    wake_.notify_all();
  }

  // The prefetch thread: assembles the requested batch into pending_, then reports it ready.
  void work() {
    std::unique_lock<std::mutex> lock(mutex_);
    while (true) {
      wake_.wait(lock, [this] { return stop_ || job_ != none; });
      if (stop_) return;
      const std::size_t b = job_;
      lock.unlock();
      std::exception_ptr error;
      try {
        assemble(b, pending_);
      } catch (...) {
        error = std::current_exception();
      }
      lock.lock();
      error_ = error;
      ready_ = b;
      job_ = none;
      done_.notify_all();
    }
  }

  const Dataset* data_;
  std::vector<std::size_t> indices_;
  LoaderOptions options_;
  std::vector<std::size_t> order_;
  std::uint64_t epoch_ = 0;
  std::size_t cursor_ = 0;  // the next batch next() hands out

  // Prefetch state, guarded by mutex_: the batch requested (job_) or finished (ready_), the worker's buffer.
  std::thread worker_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  bool stop_ = false;
  std::size_t job_ = none, ready_ = none;
  std::exception_ptr error_;
  Batch pending_;
};

}  // namespace mien
