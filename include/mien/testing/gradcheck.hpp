#pragma once
// Numerical gradient checking for any mien layer or composite, in double precision.
//
// The scalar checked is L = sum(y ⊙ r) for a fixed random r, so dL/dy = r and the analytic gradients come from
// one backward(r). Each checked element is compared with a central difference refined by one Richardson step,
//   D(h) = (L(x + h) - L(x - h)) / 2h,   numeric = (4 D(h/2) - D(h)) / 3,
// whose truncation error is O(h⁴): a 1e-6 relative tolerance is then meaningful in double. Where D(h) and
// D(h/2) disagree beyond smooth behaviour, a kink (ReLU at 0, a max tie) lies within h and the element is
// skipped and counted. The context's step is left alone, so dropout draws one mask for every evaluation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"
#include "mien/layers/layer.hpp"

namespace mien::testing {

struct GradcheckOptions {
  double step = 1e-3;               // h
  double rel_tolerance = 1e-6;      // max |analytic - numeric| / max(|analytic|, |numeric|, abs_floor)
  double abs_floor = 1e-3;          // below this magnitude errors are measured absolutely
  double kink_tolerance = 1e-4;     // |D(h) - D(h/2)| / max(|D|, 1) above this marks a kink
  std::size_t max_elements = 400;   // per tensor; larger tensors are sampled (seeded, reproducible)
  std::uint64_t seed = 1234;
};

struct GradcheckResult {
  bool ok = true;
  double max_rel_error = 0;
  std::size_t checked = 0;
  std::size_t skipped_kinks = 0;
  std::string worst;   // where max_rel_error occurred
  std::string report;  // one line per tensor

  std::string summary() const {
    std::ostringstream s;
    s << (ok ? "ok" : "FAILED") << ": max relative error " << max_rel_error << " at " << worst << " (" << checked
      << " elements checked, " << skipped_kinks << " skipped at kinks)\n"
      << report;
    return s.str();
  }
};

// A tensor whose gradient is checked: value is perturbed in place, analytic holds the gradient to verify.
struct GradTarget {
  std::string name;
  Tensor<double>* value;
  const Tensor<double>* analytic;
};

// A random tensor with entries in [-scale, scale], reproducible from the seed.
inline Tensor<double> random_tensor(const Shape& shape, std::uint64_t seed, double scale = 1.0) {
  Tensor<double> t(shape);
  const RandomStream stream{seed, 0x6772u, 0};
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = scale * (2.0 * stream.uniform(i) - 1.0);
  return t;
}

// sum(a ⊙ b)
inline double dot(const Tensor<double>& a, const Tensor<double>& b) {
  double s = 0;
  for (std::size_t i = 0; i < a.numel(); ++i) s += a[i] * b[i];
  return s;
}

// Checks each target's analytic gradient against finite differences of loss(), which must recompute the
// scalar from the targets' current values. The analytic gradients must have been computed beforehand.
inline GradcheckResult check_gradients(const std::function<double()>& loss, const std::vector<GradTarget>& targets,
                                       const GradcheckOptions& opt = {}) {
  GradcheckResult result;
  std::ostringstream report;
  for (const GradTarget& target : targets) {
    Tensor<double>& x = *target.value;
    check_arg(target.analytic->shape() == x.shape(), "check_gradients", target.name, ": gradient shape ",
              target.analytic->shape(), " differs from value shape ", x.shape());
    std::vector<std::size_t> indices(x.numel());
    for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
    if (indices.size() > opt.max_elements) {
      const RandomStream pick{opt.seed, 0x7069u, 0};
      for (std::size_t i = indices.size() - 1; i > 0; --i)
        std::swap(indices[i], indices[static_cast<std::size_t>(pick.uniform(i) * static_cast<float>(i + 1)) % (i + 1)]);
      indices.resize(opt.max_elements);
    }
    double tensor_max = 0;
    std::size_t tensor_checked = 0, tensor_kinks = 0;
    for (std::size_t i : indices) {
      const double original = x[i];
      auto central = [&](double h) {
        x[i] = original + h;
        const double plus = loss();
        x[i] = original - h;
        const double minus = loss();
        x[i] = original;
        return (plus - minus) / (2 * h);
      };
      const double d_h = central(opt.step), d_half = central(opt.step / 2);
      if (std::abs(d_h - d_half) > opt.kink_tolerance * std::max(1.0, std::abs(d_half))) {
        ++tensor_kinks;
        continue;
      }
      const double numeric = (4 * d_half - d_h) / 3;
      const double analytic = (*target.analytic)[i];
      const double err =
          std::abs(analytic - numeric) / std::max({std::abs(analytic), std::abs(numeric), opt.abs_floor});
      ++tensor_checked;
      tensor_max = std::max(tensor_max, err);
      if (err >= result.max_rel_error) {
        result.max_rel_error = err;
        std::ostringstream where;
        where << target.name << "[" << i << "] (analytic " << analytic << ", numeric " << numeric << ")";
        result.worst = where.str();
      }
    }
    result.checked += tensor_checked;
    result.skipped_kinks += tensor_kinks;
    report << "  " << target.name << " " << x.shape() << ": max rel error " << tensor_max << ", " << tensor_checked
           << " checked, " << tensor_kinks << " kinks\n";
  }
  result.report = report.str();
  // A check that skipped most elements proves little; treat it as a failure.
  result.ok = result.max_rel_error <= opt.rel_tolerance && result.checked > 0 &&
              result.skipped_kinks <= result.checked / 4 + 2;
  return result;
}

// Checks a single-input layer: the input gradient and every parameter gradient.
inline GradcheckResult check_layer(Layer<double>& layer, Context& ctx, Tensor<double> x, Mode mode = Mode::train,
                                   const GradcheckOptions& opt = {}) {
  const Tensor<double>& y0 = layer.forward(ctx, x, mode);
  const Tensor<double> r = random_tensor(y0.shape(), opt.seed + 1);
  const Tensor<double> dx = layer.backward(ctx, r);
  std::vector<Tensor<double>> param_grads;
  auto params = layer.params();
  for (auto& p : params) param_grads.push_back(*p.grad);

  std::vector<GradTarget> targets{{"input", &x, &dx}};
  for (std::size_t k = 0; k < params.size(); ++k) targets.push_back({params[k].name, params[k].value, &param_grads[k]});
  // Buffers (running statistics) must not drift while we probe: save and restore them around each forward.
  std::vector<Tensor<double>> saved_buffers;
  for (auto& b : layer.buffers()) saved_buffers.push_back(*b.value);
  auto loss = [&]() {
    const double value = dot(layer.forward(ctx, x, mode), r);
    auto buffers = layer.buffers();
    for (std::size_t k = 0; k < buffers.size(); ++k) *buffers[k].value = saved_buffers[k];
    return value;
  };
  return check_gradients(loss, targets, opt);
}

}  // namespace mien::testing
