#pragma once
// Pictures of a run, drawn by gnuplot (Debian's gnuplot-nox): the training curves (like the paper's Figure 3),
// the per-class metrics chart (like its Figure 4) and the confusion matrix. Each picture is a data file plus a
// gnuplot script written into the run folder, so it can be redrawn or restyled by hand; when gnuplot is
// missing the scripts stay and a warning says how to draw them.
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "mien/core/error.hpp"
#include "mien/train/metrics.hpp"

namespace mien {

struct EpochRecord {
  int epoch = 0;
  double train_loss = 0, train_accuracy = 0, val_loss = 0, val_accuracy = 0;
  double learning_rate = 0, seconds = 0, images_per_second = 0;
};

namespace detail {

inline void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  if (!out) throw IoError("cannot write '" + path.string() + "'");
}

// Runs gnuplot on a script; returns false (and says why on stderr) when it cannot.
inline bool run_gnuplot(const std::filesystem::path& script) {
  if (std::system("command -v gnuplot >/dev/null 2>&1") != 0) {
    std::fprintf(stderr, "warning: gnuplot not found; draw the picture later with: gnuplot %s\n", script.c_str());
    return false;
  }
  const std::string cmd = "cd '" + script.parent_path().string() + "' && gnuplot '" + script.filename().string() + "'";
  if (std::system(cmd.c_str()) != 0) {
    std::fprintf(stderr, "warning: gnuplot failed on %s\n", script.c_str());
    return false;
  }
  return true;
}

}  // namespace detail

// history.dat + curves.gp -> curves.png: accuracy and loss per epoch, training against validation.
inline bool plot_training_curves(const std::filesystem::path& dir, const std::vector<EpochRecord>& history) {
  std::string data = "# epoch train_loss train_accuracy val_loss val_accuracy\n";
  for (const EpochRecord& r : history) {
    char line[160];
    std::snprintf(line, sizeof line, "%d %.6f %.6f %.6f %.6f\n", r.epoch, r.train_loss, r.train_accuracy, r.val_loss,
                  r.val_accuracy);
    data += line;
  }
  detail::write_text(dir / "history.dat", data);
  detail::write_text(dir / "curves.gp", R"gp(set terminal pngcairo size 1200,450 font ",11"
set output "curves.png"
set multiplot layout 1,2
set grid
set key bottom right
set xlabel "epoch"
set ylabel "accuracy"
set title "Accuracy"
plot "history.dat" using 1:3 with linespoints pt 7 ps 0.5 title "train", \
     "history.dat" using 1:5 with linespoints pt 7 ps 0.5 title "validation"
set key top right
set ylabel "loss"
set title "Loss"
plot "history.dat" using 1:2 with linespoints pt 7 ps 0.5 title "train", \
     "history.dat" using 1:4 with linespoints pt 7 ps 0.5 title "validation"
unset multiplot
)gp");
  return detail::run_gnuplot(dir / "curves.gp");
}

// class_metrics.dat + class_metrics.gp -> class_metrics.png: precision, recall and F1 per class.
inline bool plot_class_metrics(const std::filesystem::path& dir, const EvaluationReport& report) {
  std::string data = "# class precision recall f1\n";
  for (const ClassMetrics& c : report.per_class) {
    char line[160];
    std::snprintf(line, sizeof line, "\"%s\" %.6f %.6f %.6f\n", c.name.c_str(), c.precision, c.recall, c.f1);
    data += line;
  }
  detail::write_text(dir / "class_metrics.dat", data);
  detail::write_text(dir / "class_metrics.gp", R"gp(set terminal pngcairo size 900,450 font ",11"
set output "class_metrics.png"
set style data histograms
set style histogram clustered gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set yrange [0:1]
set grid ytics
set key outside right
set title "Per-class precision, recall and F1 (test)"
plot "class_metrics.dat" using 2:xtic(1) title "precision", "" using 3 title "recall", "" using 4 title "F1"
)gp");
  return detail::run_gnuplot(dir / "class_metrics.gp");
}

// confusion.dat + confusion.gp -> confusion.png: row-normalised heat map with the counts written in.
inline bool plot_confusion_matrix(const std::filesystem::path& dir, const EvaluationReport& report) {
  const std::size_t k = report.class_names.size();
  std::string data = "# true predicted fraction_of_row count\n";
  for (std::size_t t = 0; t < k; ++t) {
    std::int64_t row = 0;
    for (std::int64_t v : report.confusion[t]) row += v;
    for (std::size_t p = 0; p < k; ++p) {
      char line[128];
      std::snprintf(line, sizeof line, "%zu %zu %.6f %lld\n", t, p,
                    row ? static_cast<double>(report.confusion[t][p]) / static_cast<double>(row) : 0.0,
                    static_cast<long long>(report.confusion[t][p]));
      data += line;
    }
    data += "\n";
  }
  detail::write_text(dir / "confusion.dat", data);
  std::string tics;
  for (std::size_t i = 0; i < k; ++i) tics += (i ? ", \"" : "\"") + report.class_names[i] + "\" " + std::to_string(i);
  detail::write_text(dir / "confusion.gp", "set terminal pngcairo size 700,600 font \",11\"\n"
                                           "set output \"confusion.png\"\n"
                                           "set title \"Confusion matrix (rows: true class, normalised)\"\n"
                                           "set xlabel \"predicted\"\nset ylabel \"true\"\n"
                                           "set xtics (" + tics + ") rotate by 30 right\n"
                                           "set ytics (" + tics + ")\n"
                                           "set yrange [" + std::to_string(k) + "-0.5:-0.5]\n"
                                           "set xrange [-0.5:" + std::to_string(k) + "-0.5]\n"
                                           "set cbrange [0:1]\nset palette defined (0 \"white\", 1 \"#08306b\")\n"
                                           "plot \"confusion.dat\" using 2:1:3 with image notitle, \\\n"
                                           "     \"\" using 2:1:(sprintf(\"%d\", $4)) with labels tc rgb \"#d95f02\" notitle\n");
  return detail::run_gnuplot(dir / "confusion.gp");
}

}  // namespace mien
