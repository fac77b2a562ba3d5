// BatchLoader: every index once per epoch, seeded orders, partial last batch, scaling and standardization,
// augmentation keyed by sample, and identical batches with or without prefetch and for any thread count.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "../support/synthetic_dataset.hpp"
#include "mien/data/loader.hpp"

using namespace mien;

namespace {

std::vector<std::size_t> odd_indices(std::size_t n) {
  std::vector<std::size_t> v;
  for (std::size_t i = 1; i < n; i += 2) v.push_back(i);
  return v;
}

// Every batch of one epoch, concatenated: the indices, the labels and the image values.
struct Epoch {
  std::vector<std::size_t> indices;
  std::vector<std::int32_t> labels;
  std::vector<float> images;
  std::vector<std::size_t> batch_sizes;
};

Epoch run_epoch(BatchLoader& loader, std::uint64_t epoch) {
  loader.start_epoch(epoch);
  Epoch e;
  Batch batch;
  while (loader.next(batch)) {
    REQUIRE(batch.images.shape() == Shape({static_cast<std::int64_t>(batch.size()), 1, 8, 8}));
    REQUIRE(batch.labels.shape() == Shape({static_cast<std::int64_t>(batch.size())}));
    e.indices.insert(e.indices.end(), batch.indices.begin(), batch.indices.end());
    e.labels.insert(e.labels.end(), batch.labels.begin(), batch.labels.end());
    e.images.insert(e.images.end(), batch.images.begin(), batch.images.end());
    e.batch_sizes.push_back(batch.size());
  }
  return e;
}

}  // namespace

TEST_CASE("A loader visits every index once per epoch in a seeded order", "[data][loader]") {
  const Dataset ds = mien::testing::synthetic_dataset({30, 20, 25, 10, 15, 5, 25});  // 130 samples
  const std::vector<std::size_t> indices = odd_indices(ds.size());                   // 65 of them
  LoaderOptions options;
  options.batch_size = 16;
  options.seed = 3;
  BatchLoader loader(ds, indices, options);
  CHECK(loader.size() == 65);
  CHECK(loader.batches_per_epoch() == 5);

  const Epoch first = run_epoch(loader, 0);
  CHECK(first.batch_sizes == std::vector<std::size_t>{16, 16, 16, 16, 1});  // the last partial batch is kept
  std::vector<std::size_t> sorted = first.indices;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == indices);
  CHECK(first.indices != indices);  // shuffled
  for (std::size_t k = 0; k < first.indices.size(); ++k) REQUIRE(first.labels[k] == ds.labels[first.indices[k]]);

  CHECK(run_epoch(loader, 0).indices == first.indices);  // same seed and epoch: same order
  const Epoch second = run_epoch(loader, 1);
  CHECK(second.indices != first.indices);
  sorted = second.indices;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == indices);

  options.drop_last = true;
  BatchLoader dropping(ds, indices, options);
  CHECK(dropping.batches_per_epoch() == 4);
  CHECK(run_epoch(dropping, 0).indices.size() == 64);

  options.drop_last = false;
  options.shuffle = false;
  BatchLoader ordered(ds, indices, options);
  CHECK(run_epoch(ordered, 5).indices == indices);
}

TEST_CASE("Batches hold pixel / 255, standardized with the given mean and stddev", "[data][loader]") {
  const Dataset ds = mien::testing::synthetic_dataset({6, 6});
  LoaderOptions options;
  options.batch_size = 5;
  options.shuffle = false;
  options.mean = 0.25f;
  options.stddev = 0.5f;
  BatchLoader loader(ds, {3, 7, 11}, options);
  Batch batch;
  REQUIRE(loader.next(batch));
  CHECK(batch.size() == 3);
  for (std::size_t k = 0; k < 3; ++k)
    for (std::size_t p = 0; p < 64; ++p)
      REQUIRE(batch.images.at(static_cast<std::int64_t>(k), 0, static_cast<std::int64_t>(p / 8),
                              static_cast<std::int64_t>(p % 8)) ==
              Approx((ds.image(batch.indices[k])[p] / 255.0 - 0.25) / 0.5).margin(1e-5));
  CHECK_FALSE(loader.next(batch));

  const PixelStats stats = pixel_stats(ds, {0, 1});
  double sum = 0, sum_sq = 0;
  for (std::size_t i : {0, 1})
    for (std::size_t p = 0; p < 64; ++p) {
      const double x = ds.image(i)[p] / 255.0;
      sum += x;
      sum_sq += x * x;
    }
  CHECK(stats.mean == Approx(sum / 128).epsilon(1e-6));
  CHECK(stats.stddev == Approx(std::sqrt(sum_sq / 128 - (sum / 128) * (sum / 128))).epsilon(1e-5));
}

TEST_CASE("Augmented batches are the same with or without prefetch and for any thread count", "[data][loader]") {
  const Dataset ds = mien::testing::synthetic_dataset({40, 40, 20});
  std::vector<std::size_t> all(ds.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  LoaderOptions options;
  options.batch_size = 32;
  options.augment = true;
  options.seed = 11;
  options.num_threads = 1;
  options.prefetch = false;
  BatchLoader plain(ds, all, options);
  options.num_threads = 3;
  options.prefetch = true;
  BatchLoader fast(ds, all, options);
  const Epoch a = run_epoch(plain, 2), b = run_epoch(fast, 2);
  CHECK(a.indices == b.indices);
  CHECK((a.images == b.images));

  // Augmentation changed the images, and changes them differently in another epoch.
  options.augment = false;
  BatchLoader raw(ds, all, options);
  const Epoch r = run_epoch(raw, 2);
  CHECK(r.indices == a.indices);  // the order does not depend on augmentation
  CHECK_FALSE((r.images == a.images));
  CHECK_FALSE((run_epoch(fast, 3).images == run_epoch(raw, 3).images));

  // Starting an epoch mid-way discards the prefetched batch and begins again at batch 0.
  Batch batch;
  fast.start_epoch(2);
  REQUIRE(fast.next(batch));
  fast.start_epoch(2);
  REQUIRE(fast.next(batch));
  CHECK(std::vector<std::size_t>(a.indices.begin(), a.indices.begin() + 32) == batch.indices);
  // A resumed epoch starting at batch 2 hands out what the whole epoch had from there.
  fast.start_epoch(2, 2);
  REQUIRE(fast.next(batch));
  CHECK(std::vector<std::size_t>(a.indices.begin() + 64, a.indices.begin() + 96) == batch.indices);
  CHECK_THROWS_AS(fast.start_epoch(2, 5), InvalidArgument);
  // Random access matches the sequence.
  Batch third;
  fast.assemble(2, third);
  CHECK(std::vector<std::size_t>(a.indices.begin() + 64, a.indices.begin() + 96) == third.indices);
}

TEST_CASE("Loader options that cannot work are refused", "[data][loader]") {
  const Dataset ds = mien::testing::synthetic_dataset({4});
  LoaderOptions zero;
  zero.batch_size = 0;
  CHECK_THROWS_AS(BatchLoader(ds, {0, 1}, zero), InvalidArgument);
  CHECK_THROWS_AS(BatchLoader(ds, {0, 9}), InvalidArgument);
  LoaderOptions flat;
  flat.stddev = 0;
  CHECK_THROWS_AS(BatchLoader(ds, {0}, flat), InvalidArgument);
  BatchLoader empty(ds, {});
  Batch batch;
  CHECK_FALSE(empty.next(batch));
}
