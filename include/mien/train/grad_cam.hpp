#pragma once
// Grad-CAM (Selvaraju et al., "Grad-CAM: Visual Explanations from Deep Networks via Gradient-based Localization",
// ICCV 2017) for any Model with a convolutional feature map: for image n and class k, with A the model's last
// NCHW feature map (Model::feature_map) and y_k the class's logit,
//   alpha_c = mean over (h, w) of dy_k / dA_c(h, w),   map = ReLU(sum_c alpha_c A_c),
// normalised to [0, 1]. The gradient comes from one inference-mode backward of the one-hot logits: in inference
// every image's output depends on that image alone, so a whole batch is explained in one pass.
//
// explain_images() picks images across the true classes, explains each for its predicted class, and writes one
// picture per image (the face with the map blended over it) and a labelled grid (gnuplot) of all of them.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "mien/data/dataset.hpp"
#include "mien/layers/activation.hpp"
#include "mien/models/ensemble.hpp"
#include "mien/models/model.hpp"
#include "mien/train/attention_map.hpp"
#include "mien/train/checkpointing.hpp"
#include "mien/train/plots.hpp"

namespace mien {

struct GradCam {
  std::vector<float> map;  // [height, width], in [0, 1]
  int height = 0, width = 0;
  int explained_class = 0;  // the class the map is for
  int predicted_class = 0;
  std::vector<float> probabilities;
};

// Explains each image of `images` ([N, C, H, W], on the model's device) for classes[n], or for its predicted class
// where classes is empty or classes[n] < 0.
inline std::vector<GradCam> grad_cam(Context& ctx, Model<float>& model, const Tensor<float>& images,
                                     const std::vector<int>& classes = {});

// An ensemble's map: its members' maps for the class the ensemble explains (its prediction, unless given), averaged
// and normalised again; the probabilities are the ensemble's.
inline std::vector<GradCam> ensemble_grad_cam(Context& ctx, Ensemble<float>& ensemble, const Tensor<float>& images,
                                              const std::vector<int>& classes) {
  Softmax<float> softmax;
  const Tensor<float> probs = softmax.forward(ctx, ensemble.forward(ctx, images, Mode::infer), Mode::infer).to(Device::cpu);
  const std::int64_t k = probs.shape()[1];
  std::vector<GradCam> out(static_cast<std::size_t>(images.shape().n()));
  std::vector<int> explained;
  for (std::size_t n = 0; n < out.size(); ++n) {
    GradCam& g = out[n];
    g.probabilities.assign(probs.data() + n * k, probs.data() + (n + 1) * k);
    g.predicted_class = static_cast<int>(std::max_element(g.probabilities.begin(), g.probabilities.end()) -
                                         g.probabilities.begin());
    g.explained_class = classes.empty() || classes[n] < 0 ? g.predicted_class : classes[n];
    explained.push_back(g.explained_class);
  }
  for (std::size_t m = 0; m < ensemble.size(); ++m) {
    const std::vector<GradCam> member = grad_cam(ctx, ensemble.member(m), images, explained);
    for (std::size_t n = 0; n < out.size(); ++n) {
      GradCam& g = out[n];
      if (m == 0) {
        g.height = member[n].height;
        g.width = member[n].width;
        g.map.assign(member[n].map.size(), 0.0f);
      }
      check_arg(member[n].map.size() == g.map.size(), "grad_cam", "the ensemble's members have feature maps of ",
                "different sizes (", g.height, "x", g.width, " and ", member[n].height, "x", member[n].width, ")");
      for (std::size_t i = 0; i < g.map.size(); ++i) g.map[i] += member[n].map[i];
    }
  }
  for (GradCam& g : out) {
    const float hi = g.map.empty() ? 0.0f : *std::max_element(g.map.begin(), g.map.end());
    if (hi > 0)
      for (float& v : g.map) v /= hi;
  }
  return out;
}

inline std::vector<GradCam> grad_cam(Context& ctx, Model<float>& model, const Tensor<float>& images,
                                     const std::vector<int>& classes) {
  const std::int64_t n_images = images.shape().n();
  check_arg(classes.empty() || static_cast<std::int64_t>(classes.size()) == n_images, "grad_cam", "got ",
            classes.size(), " classes for ", n_images, " images");
  if (auto* ensemble = dynamic_cast<Ensemble<float>*>(&model)) return ensemble_grad_cam(ctx, *ensemble, images, classes);
  const Tensor<float>& logits = model.forward(ctx, images, Mode::infer);
  check_arg(model.feature_map() != nullptr, "grad_cam", "the model (", model.type(),
            ") has no convolutional feature map to explain");
  Softmax<float> softmax;
  const Tensor<float> probs = softmax.forward(ctx, logits, Mode::infer).to(Device::cpu);
  const std::int64_t k = probs.shape()[1];
  std::vector<GradCam> out(static_cast<std::size_t>(n_images));
  Tensor<float> one_hot = Tensor<float>::zeros(logits.shape());
  for (std::int64_t n = 0; n < n_images; ++n) {
    GradCam& g = out[static_cast<std::size_t>(n)];
    g.probabilities.assign(probs.data() + n * k, probs.data() + (n + 1) * k);
    g.predicted_class = static_cast<int>(std::max_element(g.probabilities.begin(), g.probabilities.end()) -
                                         g.probabilities.begin());
    g.explained_class = classes.empty() || classes[n] < 0 ? g.predicted_class : classes[n];
    check_arg(g.explained_class < k, "grad_cam", "class ", g.explained_class, " of a model with ", k, " classes");
    one_hot.at(n, g.explained_class) = 1.0f;
  }
  model.backward(ctx, one_hot.to(logits.device()));
  check_arg(model.feature_map_gradient() != nullptr, "grad_cam", "the model gave no feature-map gradient");
  const Tensor<float> a = model.feature_map()->to(Device::cpu);
  const Tensor<float> da = model.feature_map_gradient()->to(Device::cpu);
  const Shape& s = a.shape();
  for (std::int64_t n = 0; n < n_images; ++n) {
    GradCam& g = out[static_cast<std::size_t>(n)];
    g.height = static_cast<int>(s.h());
    g.width = static_cast<int>(s.w());
    g.map.assign(static_cast<std::size_t>(s.h() * s.w()), 0.0f);
    for (std::int64_t c = 0; c < s.c(); ++c) {
      double alpha = 0;
      for (std::int64_t y = 0; y < s.h(); ++y)
        for (std::int64_t x = 0; x < s.w(); ++x) alpha += da.at(n, c, y, x);
      alpha /= static_cast<double>(s.h() * s.w());
      for (std::int64_t y = 0; y < s.h(); ++y)
        for (std::int64_t x = 0; x < s.w(); ++x)
          g.map[static_cast<std::size_t>(y * s.w() + x)] += static_cast<float>(alpha) * a.at(n, c, y, x);
    }
    float hi = 0;
    for (float& v : g.map) hi = std::max(hi, v = std::max(v, 0.0f));
    if (hi > 0)
      for (float& v : g.map) v /= hi;
  }
  return out;
}

// Up to `count` of `indices`, taken round-robin over the true classes (one of each class first, in index order
// within a class), so that a handful of pictures shows every emotion instead of the first class folder.
inline std::vector<std::size_t> pick_across_classes(const Dataset& data, const std::vector<std::size_t>& indices,
                                                    std::size_t count) {
  std::vector<std::vector<std::size_t>> by_class(data.class_names.size());
  for (std::size_t i : indices) by_class[static_cast<std::size_t>(data.labels[i])].push_back(i);
  std::vector<std::size_t> picked;
  for (std::size_t round = 0; picked.size() < count; ++round) {
    bool any = false;
    for (const auto& members : by_class)
      if (round < members.size() && picked.size() < count) {
        picked.push_back(members[round]);
        any = true;
      }
    if (!any) break;
  }
  return picked;
}

// One line under a picture: "true happy / predicted happy 0.93".
inline std::string explanation_label(const std::vector<std::string>& names, int true_class, const GradCam& g) {
  char p[16];
  std::snprintf(p, sizeof p, "%.2f", g.probabilities[static_cast<std::size_t>(g.predicted_class)]);
  return "true " + names[static_cast<std::size_t>(true_class)] + " / predicted " +
         names[static_cast<std::size_t>(g.predicted_class)] + " " + p;
}

// Explains images of `data` (picked across classes from `indices`) with the model and writes into `dir`:
// <index>_<true>_as_<predicted>.png for each and grid.png (gnuplot), every picture labelled with the true and the
// predicted emotion and its probability. The images are fed as the model was trained to see them (info's
// normalisation; data's images must have the model's input size). Returns the pictures' paths.
inline std::vector<std::filesystem::path> explain_images(Context& ctx, Model<float>& model, const ModelInfo& info,
                                                         const Dataset& data, const std::vector<std::size_t>& indices,
                                                         std::size_t count, const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const std::vector<std::size_t> picked = pick_across_classes(data, indices, count);
  if (picked.empty()) return {};
  check_arg(data.height == model.input_size() && data.width == model.input_size(), "explain_images", "images are ",
            data.width, "x", data.height, ", the model reads ", model.input_size(), "x", model.input_size());
  fs::create_directories(dir);
  const std::int64_t side = model.input_size(), pixels = side * side;
  Tensor<float> host(Shape{static_cast<std::int64_t>(picked.size()), 1, side, side});
  for (std::size_t j = 0; j < picked.size(); ++j)
    for (std::int64_t p = 0; p < pixels; ++p)
      host[j * pixels + p] = (data.image(picked[j])[p] / 255.0f - info.pixel_mean) / info.pixel_stddev;
  const std::vector<GradCam> maps = grad_cam(ctx, model, host.to(ctx.device()));

  std::vector<fs::path> paths;
  std::string plots;
  const std::size_t columns = std::min<std::size_t>(picked.size(), 7);
  const std::size_t rows = (picked.size() + columns - 1) / columns;
  for (std::size_t j = 0; j < picked.size(); ++j) {
    const std::size_t idx = picked[j];
    const int truth = data.labels[idx];
    const std::string name = std::to_string(idx) + "_" + data.class_names[static_cast<std::size_t>(truth)] + "_as_" +
                             data.class_names[static_cast<std::size_t>(maps[j].predicted_class)] + ".png";
    write_attention_overlay(dir / name, data.image(idx), data.height, data.width, maps[j].map, maps[j].height,
                            maps[j].width);
    paths.push_back(dir / name);
    plots += "set title \"" + explanation_label(data.class_names, truth, maps[j]) + "\" noenhanced\n"
             "plot \"" + name + "\" binary filetype=png with rgbimage notitle\n";
  }
  const int w = static_cast<int>(columns) * 230, h = static_cast<int>(rows) * 250;
  detail::write_text(dir / "grid.gp", "set terminal pngcairo size " + std::to_string(w) + "," + std::to_string(h) +
                                          " font \",9\"\nset output \"grid.png\"\n"
                                          "unset border\nunset xtics\nunset ytics\nunset key\nunset colorbox\n"
                                          "set size ratio -1\n"
                                          "set multiplot layout " + std::to_string(rows) + "," +
                                          std::to_string(columns) + " title \"Grad-CAM: where the network looks "
                                          "(red: most), for its predicted class\" noenhanced\n" +
                                          plots + "unset multiplot\n");
  detail::run_gnuplot(dir / "grid.gp");
  return paths;
}

}  // namespace mien
