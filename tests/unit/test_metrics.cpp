// Evaluation metrics against values worked out by hand, and the pictures' data files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "../support/temp_dir.hpp"
#include "mien/train/metrics.hpp"
#include "mien/train/plots.hpp"

using namespace mien;

TEST_CASE("Accuracy, precision, recall and F1 of a known confusion matrix", "[metrics]") {
  // true a: 3 samples, predicted a a b;  true b: 2 samples, predicted b a;  true c: 1 sample, predicted b.
  ConfusionMatrix cm({"a", "b", "c"});
  for (auto [t, p] : {std::pair{0, 0}, {0, 0}, {0, 1}, {1, 1}, {1, 0}, {2, 1}}) cm.add(t, p);
  const EvaluationReport r = cm.report(0.5);
  CHECK(r.samples == 6);
  CHECK(r.accuracy == Approx(3.0 / 6));
  // a: predicted 3 times (2 right) -> P 2/3, R 2/3;  b: predicted 3 times (1 right) -> P 1/3, R 1/2;  c: never.
  CHECK(r.per_class[0].precision == Approx(2.0 / 3));
  CHECK(r.per_class[0].recall == Approx(2.0 / 3));
  CHECK(r.per_class[1].precision == Approx(1.0 / 3));
  CHECK(r.per_class[1].recall == Approx(0.5));
  CHECK(r.per_class[1].f1 == Approx(2 * (1.0 / 3) * 0.5 / (1.0 / 3 + 0.5)));
  CHECK(r.per_class[2].precision == 0);
  CHECK(r.per_class[2].f1 == 0);
  CHECK(r.macro_recall == Approx((2.0 / 3 + 0.5 + 0) / 3));
  CHECK(r.weighted_recall == Approx(3.0 / 6 * 2.0 / 3 + 2.0 / 6 * 0.5));  // equals accuracy, as it must
  CHECK(r.weighted_recall == Approx(r.accuracy));
  CHECK(r.confusion[1][0] == 1);
  CHECK(r.confusion_csv() == "true\\predicted,a,b,c\na,2,1,0\nb,1,1,0\nc,0,1,0\n");
  CHECK(r.to_json().at("macro").at("recall").get<double>() == Approx(r.macro_recall));
  CHECK(r.table().find("accuracy 0.5000 over 6 samples") != std::string::npos);
  CHECK_THROWS_AS(cm.add(3, 0), InvalidArgument);
}

TEST_CASE("Plot data files hold the history and the confusion matrix", "[metrics][plots]") {
  testing::TempDir dir("mien-plots");
  std::vector<EpochRecord> history{{1, 1.8, 0.3, 1.7, 0.35, 1e-4, 10, 100}, {2, 1.5, 0.45, 1.6, 0.4, 1e-4, 10, 100}};
  plot_training_curves(dir.path(), history);  // draws curves.png where gnuplot exists; the data file always
  std::ifstream data(dir.path() / "history.dat");
  std::string header, first;
  std::getline(data, header);
  std::getline(data, first);
  CHECK(first == "1 1.800000 0.300000 1.700000 0.350000");
  CHECK(std::filesystem::exists(dir.path() / "curves.gp"));

  ConfusionMatrix cm({"x", "y"});
  cm.add(0, 0);
  cm.add(0, 1);
  cm.add(1, 1);
  plot_confusion_matrix(dir.path(), cm.report());
  std::ifstream conf(dir.path() / "confusion.dat");
  std::getline(conf, header);
  std::getline(conf, first);
  CHECK(first == "0 0 0.500000 1");
}
