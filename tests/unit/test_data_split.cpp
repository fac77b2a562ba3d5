// Official and paper splits: disjoint, complete, stratified to within one sample per class, seeded.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <set>
#include <vector>

#include "../support/synthetic_dataset.hpp"
#include "mien/data/split.hpp"

using namespace mien;

namespace {

const std::vector<std::size_t> kPerClass = {400, 45, 410, 721, 483, 317, 496};  // FER2013's shape, a tenth

void check_partition(const Dataset& ds, const Split& s, std::size_t expected_total) {
  std::set<std::size_t> seen;
  for (const auto* part : {&s.train, &s.val, &s.test}) {
    CHECK(std::is_sorted(part->begin(), part->end()));
    for (std::size_t i : *part) {
      CHECK(i < ds.size());
      CHECK(seen.insert(i).second);  // in one part only
    }
  }
  CHECK(seen.size() == expected_total);
}

// Each class's share of a part is within one sample of fraction * class size.
void check_stratified(const Dataset& ds, const std::vector<std::size_t>& part, const std::vector<std::size_t>& pool,
                      double fraction) {
  const auto got = class_counts(ds, part), total = class_counts(ds, pool);
  for (std::size_t c = 0; c < got.size(); ++c) {
    INFO("class " << c << ": " << got[c] << " of " << total[c]);
    CHECK(std::abs(static_cast<double>(got[c]) - fraction * static_cast<double>(total[c])) <= 1.0);
  }
}

}  // namespace

TEST_CASE("The paper split pools everything and splits each class 70/15/15", "[data][split]") {
  const Dataset ds = mien::testing::synthetic_dataset(kPerClass);
  const Split s = paper_split(ds, {0.70, 0.15, 42});
  check_partition(ds, s, ds.size());
  std::vector<std::size_t> all(ds.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  check_stratified(ds, s.train, all, 0.70);
  check_stratified(ds, s.val, all, 0.15);
  check_stratified(ds, s.test, all, 0.15);

  // Same seed, same split; another seed, another split of the same sizes.
  const Split again = paper_split(ds, {0.70, 0.15, 42});
  CHECK(again.train == s.train);
  CHECK(again.test == s.test);
  const Split other = paper_split(ds, {0.70, 0.15, 43});
  CHECK(other.train.size() == s.train.size());
  CHECK(other.train != s.train);
  CHECK(other.test != s.test);
  CHECK_THROWS_AS(paper_split(ds, {0.9, 0.2, 0}), InvalidArgument);
}

TEST_CASE("The official split keeps the data set's test part and carves validation from train", "[data][split]") {
  Dataset ds = mien::testing::synthetic_dataset(kPerClass);
  Dataset test = mien::testing::synthetic_dataset({50, 6, 50, 90, 60, 40, 60});
  test.origin_names = {"test"};
  append(ds, test);
  const std::vector<std::size_t> train_pool = ds.indices_of_origin("train");

  OfficialSplitOptions options;
  options.seed = 7;
  const Split s = official_split(ds, options);
  check_partition(ds, s, ds.size());
  CHECK(s.test == ds.indices_of_origin("test"));
  check_stratified(ds, s.val, train_pool, 0.10);
  check_stratified(ds, s.train, train_pool, 0.90);

  options.val_fraction = 0.2;
  const Split twenty = official_split(ds, options);
  check_stratified(ds, twenty.val, train_pool, 0.20);
  options.val_fraction = 0.0;
  CHECK(official_split(ds, options).val.empty());
  options.seed = 8;
  options.val_fraction = 0.1;
  CHECK(official_split(ds, options).val != s.val);

  // FER2013's CSV protocol: validation and test are named parts.
  options.val_origin = "test";
  options.test_origin = "test";
  CHECK(official_split(ds, options).val == s.test);
  options.test_origin = "PrivateTest";
  try {
    official_split(ds, options);
    FAIL("a missing part was accepted");
  } catch (const InvalidArgument& e) {
    CHECK(std::string(e.what()).find("this data set has: train, test") != std::string::npos);
  }
}

TEST_CASE("Seeded shuffles are permutations drawn from the RandomStream words", "[data][split][rng]") {
  const RandomStream s{5, data_streams::shuffle, 3};
  for (std::uint64_t i = 0; i < 64; ++i) CHECK(uniform_from_bits(random_bits(s, i)) == s.uniform(i));
  std::vector<int> items(1000);
  for (int i = 0; i < 1000; ++i) items[i] = i;
  std::vector<int> shuffled = items;
  seeded_shuffle(shuffled, s);
  CHECK(shuffled != items);
  std::vector<int> sorted = shuffled;
  std::sort(sorted.begin(), sorted.end());
  CHECK(sorted == items);
  std::vector<int> again = items;
  seeded_shuffle(again, s);
  CHECK(again == shuffled);
  for (std::uint64_t i = 0; i < 1000; ++i) CHECK(random_below(s, i, 7) < 7u);
}
