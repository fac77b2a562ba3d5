// The bundled model (models/fer2013-48.ckpt) gives on the FER2013 test folder the figures its model card states
// (models/fer2013-48-test.json, written by `evaluate --out` when the model was made). Skipped where the model or
// the data archive is absent.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <numeric>
#include <string>

#include <nlohmann/json.hpp>

#include "mien/data/dataset.hpp"
#include "mien/data/loader.hpp"
#include "mien/train/trainer.hpp"
#include "../support/fer2013.hpp"

using namespace mien;

// The sanitizer builds check memory, not the model; 3,589 instrumented forward passes would only cost them time.
#if defined(__SANITIZE_ADDRESS__)
#define MIEN_UNDER_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define MIEN_UNDER_SANITIZER 1
#endif
#endif

TEST_CASE("The bundled model scores on the FER2013 test folder what its model card says", "[bundled][data]") {
#ifdef MIEN_UNDER_SANITIZER
  WARN("skipped under a sanitizer: the plain build runs this test");
  return;
#endif
  const std::filesystem::path models = std::filesystem::path(MIEN_SOURCE_DIR) / "models";
  const std::filesystem::path model_path = models / "fer2013-48.ckpt", card_path = models / "fer2013-48-test.json";
  if (!std::filesystem::exists(model_path)) {
    WARN("skipped: no bundled model at " << model_path.string());
    return;
  }
  std::string why;
  const auto root = testing::fer2013_root(&why);
  if (!root) {
    WARN("skipped: " << why);
    return;
  }
  std::ifstream card_file(card_path);
  REQUIRE(card_file);
  const nlohmann::json card = nlohmann::json::parse(card_file);

  Context ctx(1);
  auto [model, info] = load_model(ctx, model_path.string());
  LoadOptions load;
  load.image_size = info.input_size();
  const Dataset test = load_image_folder(*root, "test", load);
  REQUIRE(test.size() == 3589);
  std::vector<std::size_t> all(test.size());
  std::iota(all.begin(), all.end(), std::size_t{0});
  LoaderOptions opts;
  opts.batch_size = 128;
  opts.shuffle = false;
  opts.mean = info.pixel_mean;
  opts.stddev = info.pixel_stddev;
  BatchLoader loader(test, all, opts);
  const EvaluationReport report = evaluate(ctx, *model, loader, info.class_names);
  INFO(report.table());
  // The card's figure was measured by the same code; a different CPU or thread count may change a few sums'
  // rounding and so flip an image or two near a tie, never more than a tenth of a point.
  CHECK(report.accuracy == Approx(card.at("accuracy").get<double>()).margin(0.001));
  CHECK(report.accuracy > 0.6);
}
