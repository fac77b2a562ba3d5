#pragma once
// Classification metrics as the paper reports them (Tables 4 and 5): accuracy; precision, recall and F1 per
// class, macro-averaged (every class counts the same) and weighted by support; the confusion matrix.
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iomanip>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/core/error.hpp"

namespace mien {

struct ClassMetrics {
  std::string name;
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;  // true samples of this class
};

struct EvaluationReport {
  std::vector<std::string> class_names;
  std::vector<std::vector<std::int64_t>> confusion;  // [true][predicted]
  std::vector<ClassMetrics> per_class;
  std::int64_t samples = 0;
  double accuracy = 0;
  double loss = 0;  // mean loss when the caller provides it
  double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
  double weighted_precision = 0, weighted_recall = 0, weighted_f1 = 0;

  std::string table() const {
    std::ostringstream out;
    out << std::fixed << std::setprecision(4);
    out << "accuracy " << accuracy << " over " << samples << " samples";
    if (loss > 0) out << ", loss " << loss;
    out << "\n\n" << std::left << std::setw(12) << "class" << std::right << std::setw(11) << "precision"
        << std::setw(9) << "recall" << std::setw(9) << "f1" << std::setw(9) << "support" << "\n";
    for (const auto& c : per_class)
      out << std::left << std::setw(12) << c.name << std::right << std::setw(11) << c.precision << std::setw(9)
          << c.recall << std::setw(9) << c.f1 << std::setw(9) << c.support << "\n";
    out << std::left << std::setw(12) << "macro" << std::right << std::setw(11) << macro_precision << std::setw(9)
        << macro_recall << std::setw(9) << macro_f1 << std::setw(9) << samples << "\n";
    out << std::left << std::setw(12) << "weighted" << std::right << std::setw(11) << weighted_precision
        << std::setw(9) << weighted_recall << std::setw(9) << weighted_f1 << std::setw(9) << samples << "\n\n";
    out << "confusion matrix (rows: true, columns: predicted)\n" << std::setw(12) << "";
    for (const auto& n : class_names) out << std::setw(9) << n.substr(0, 8);
    out << "\n";
    for (std::size_t t = 0; t < confusion.size(); ++t) {
      out << std::left << std::setw(12) << class_names[t] << std::right;
      for (std::int64_t v : confusion[t]) out << std::setw(9) << v;
      out << "\n";
    }
    return out.str();
  }

  nlohmann::json to_json() const {
    nlohmann::json classes = nlohmann::json::array();
    for (const auto& c : per_class)
      classes.push_back(
          {{"name", c.name}, {"precision", c.precision}, {"recall", c.recall}, {"f1", c.f1}, {"support", c.support}});
    return {{"samples", samples},
            {"accuracy", accuracy},
            {"loss", loss},
            {"macro", {{"precision", macro_precision}, {"recall", macro_recall}, {"f1", macro_f1}}},
            {"weighted", {{"precision", weighted_precision}, {"recall", weighted_recall}, {"f1", weighted_f1}}},
            {"per_class", classes},
            {"class_names", class_names},
            {"confusion", confusion}};
  }

  // The confusion matrix as CSV with a header row and a label column.
  std::string confusion_csv() const {
    std::ostringstream out;
    out << "true\\predicted";
    for (const auto& n : class_names) out << "," << n;
    out << "\n";
    for (std::size_t t = 0; t < confusion.size(); ++t) {
      out << class_names[t];
      for (std::int64_t v : confusion[t]) out << "," << v;
      out << "\n";
    }
    return out.str();
  }
};

// Accumulates (true, predicted) pairs and turns them into a report.
class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(std::vector<std::string> class_names)
      : names_(std::move(class_names)), counts_(names_.size(), std::vector<std::int64_t>(names_.size(), 0)) {}

  void add(int truth, int predicted) {
    const int k = static_cast<int>(names_.size());
    check_arg(truth >= 0 && truth < k && predicted >= 0 && predicted < k, "ConfusionMatrix::add", "class index out of range (",
              truth, ", ", predicted, ") for ", k, " classes");
    ++counts_[truth][predicted];
  }

  EvaluationReport report(double mean_loss = 0) const {
    EvaluationReport r;
    r.class_names = names_;
    r.confusion = counts_;
    r.loss = mean_loss;
    const std::size_t k = names_.size();
    std::int64_t correct = 0;
    for (std::size_t t = 0; t < k; ++t)
      for (std::size_t p = 0; p < k; ++p) {
        r.samples += counts_[t][p];
        if (t == p) correct += counts_[t][p];
      }
    r.accuracy = r.samples ? static_cast<double>(correct) / static_cast<double>(r.samples) : 0;
    for (std::size_t c = 0; c < k; ++c) {
      std::int64_t predicted = 0, actual = 0;
      for (std::size_t i = 0; i < k; ++i) {
        predicted += counts_[i][c];
        actual += counts_[c][i];
      }
      ClassMetrics m;
      m.name = names_[c];
      m.support = actual;
      // A class never predicted (or never present) scores 0, as scikit-learn's zero_division=0 does.
      m.precision = predicted ? static_cast<double>(counts_[c][c]) / static_cast<double>(predicted) : 0;
      m.recall = actual ? static_cast<double>(counts_[c][c]) / static_cast<double>(actual) : 0;
      m.f1 = m.precision + m.recall > 0 ? 2 * m.precision * m.recall / (m.precision + m.recall) : 0;
      r.per_class.push_back(m);
      r.macro_precision += m.precision / static_cast<double>(k);
      r.macro_recall += m.recall / static_cast<double>(k);
      r.macro_f1 += m.f1 / static_cast<double>(k);
      if (r.samples) {
        const double w = static_cast<double>(actual) / static_cast<double>(r.samples);
        r.weighted_precision += w * m.precision;
        r.weighted_recall += w * m.recall;
        r.weighted_f1 += w * m.f1;
      }
    }
    return r;
  }

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<std::int64_t>> counts_;
};

}  // namespace mien
