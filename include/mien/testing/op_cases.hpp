#pragma once
// The table of op cases: every ops:: function written down once, with its arguments' shapes (a small set with
// odd extents for the tests, and the paper network's for the benchmark), how to fill them, the call, the outputs
// to compare and their tolerances. In the spirit of ggml's tests/test-backend-ops.cpp, it feeds
//
//   - the GPU parity tests (tests/cuda/test_cuda_op_table.cu, on a GPU and on the CUDA emulator): each case runs on
//     device tensors and is compared with the CPU backend computing in double (or in float, bit for bit, where
//     the case says so);
//   - the argument checks (tests/unit/test_op_validation.cpp on the CPU, and the GPU file again with device
//     tensors): for each case and each tensor argument, a wrong shape, and on the GPU a tensor on the wrong
//     device, must throw InvalidArgument; so must each listed out-of-range scalar;
//   - benchmarks/kernels/bench_kernels.cu, which times every case at the paper's shapes;
//   - the completeness check: the ops registered by the kernel headers (ops::registered_cuda_ops()) must be
//     exactly the ops named here, so an op without a case fails the GPU tests.
//
// Adding an op means adding one entry to op_cases() below (and, for its GPU kernel, one name in the
// MIEN_REGISTER_CUDA_OPS line of its kernel header).
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "mien/core/context.hpp"
#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"
#include "mien/ops/activation.hpp"
#include "mien/ops/adam.hpp"
#include "mien/ops/sgd.hpp"
#include "mien/ops/batchnorm.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/conv2d.hpp"
#include "mien/ops/dense.hpp"
#include "mien/ops/dropout.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/pooling.hpp"

namespace mien::testing {

// Extents of a paper-set shape: a number, or one of these placeholders, resolved by resolve() for a batch size
// and an input size (the paper network's maps are S, S/2 and S/4 wide).
namespace dims {
constexpr std::int64_t N = -1, S = -2, S2 = -3, S4 = -4, S3 = -6, P = -5;  // S3: S / 3; P: a parameter count
}  // namespace dims
using Dims = std::vector<std::int64_t>;

struct PaperSize {
  std::int64_t batch = 32, size = 128, params = 8'400'000;  // params: about the paper network's count
};

inline Shape resolve(const Dims& d, const PaperSize& p) {
  std::vector<std::int64_t> out;
  for (std::int64_t v : d)
    out.push_back(v == dims::N ? p.batch : v == dims::S ? p.size : v == dims::S2 ? p.size / 2 : v == dims::S4 ? p.size / 4
                  : v == dims::S3 ? p.size / 3
                  : v == dims::P  ? p.params
                                  : v);
  return Shape::from_range(out.begin(), out.end());
}

// A real-valued tensor argument of the op (input, or input and output), filled uniform in [lo, hi).
struct TensorArg {
  std::string name;
  Dims small, paper;
  float lo = -1.0f, hi = 1.0f;
  // A shape the op must reject for this argument (in the small set), with the others unchanged; nullopt where any
  // shape is acceptable on its own (the other arguments follow it, or there are none).
  std::optional<Dims> wrong;
  // Applied to the host values after filling (e.g. planting NaNs).
  std::function<void(Tensor<float>&)> edit = nullptr;
};

// An output: written by the op (tensors are sized by it) and compared with the reference.
struct OutputArg {
  std::string name;
  double tolerance;  // relative, floored at the reference's RMS (tests/cuda/parity.hpp); 0 = exact
};

// What a case's call sees: the tensor arguments in the order of OpCase::inputs, the outputs in the order of
// OpCase::outputs, the labels, and the scalars.
template <class T>
struct OpArgs {
  std::vector<Tensor<T>> in, out;
  Tensor<std::int32_t> labels;
  std::vector<double> scalars;
  T scalar(std::size_t i) const { return static_cast<T>(scalars[i]); }
  int integer(std::size_t i) const { return static_cast<int>(scalars[i]); }
};

struct OpCase {
  std::string op;       // the ops:: function, as registered by the kernel headers
  std::string variant;  // what tells cases of one op apart (may be empty)
  std::vector<TensorArg> inputs;
  std::vector<OutputArg> outputs;
  // Integer labels [labels_small] / [labels_paper] (loss cases), values i * 5 mod classes; 0 entries: none.
  std::int64_t labels_small = 0;
  Dims labels_paper;
  std::int32_t classes = 0;
  std::vector<double> scalars;
  // Scalar values the op must reject: (index into scalars, value).
  std::vector<std::pair<std::size_t, double>> bad_scalars;
  // The reference is the CPU backend in float, compared bitwise (same Philox stream, same rounding), instead of
  // in double.
  bool float_reference = false;
  // Runs before the call, after the arguments are filled: for arguments computed from others (a max-pool
  // backward's y).
  std::function<void(Context&, OpArgs<float>&)> prepare_float = nullptr;
  std::function<void(Context&, OpArgs<double>&)> prepare_double = nullptr;
  std::function<void(Context&, OpArgs<float>&)> call_float;
  std::function<void(Context&, OpArgs<double>&)> call_double;

  std::string title() const { return variant.empty() ? op : op + " (" + variant + ")"; }
};

namespace detail {

// One generic lambda becomes both the float and the double call.
template <class F>
OpCase make_case(std::string op, std::string variant, std::vector<TensorArg> inputs, std::vector<OutputArg> outputs,
                 F call) {
  OpCase c;
  c.op = std::move(op);
  c.variant = std::move(variant);
  c.inputs = std::move(inputs);
  c.outputs = std::move(outputs);
  c.call_float = call;
  c.call_double = call;
  return c;
}

template <class F>
OpCase with_prepare(OpCase c, F prepare) {
  c.prepare_float = prepare;
  c.prepare_double = prepare;
  return c;
}

template <class T>
Tensor<T> scalar_tensor(T v) {
  return Tensor<T>::filled(Shape{1}, v);
}

inline void plant_nonfinite(Tensor<float>& t) {
  const std::size_t n = t.numel();
  if (n == 0) return;
  t[0] = std::numeric_limits<float>::quiet_NaN();
  t[n / 2] = std::numeric_limits<float>::infinity();
  t[n - 1] = -std::numeric_limits<float>::infinity();
}

}  // namespace detail

// Tolerances (see tests/cuda/parity.hpp for the reasoning): fp32 2e-5, 5e-5 for reductions over every pixel of
// the batch; element-wise maps 1e-6; 0 where the GPU must be exact.
constexpr double tol_exact = 0, tol_map = 1e-6, tol_fp32 = 2e-5, tol_reduce = 5e-5;

// Every op case. Shapes: the small set has extents that fill no vector or tile evenly; the paper set is the
// paper network's (batch N, input S x S), at its first block's maps unless noted.
inline const std::vector<OpCase>& op_cases() {
  using namespace dims;
  using detail::make_case;
  using detail::with_prepare;
  static const std::vector<OpCase> cases = [] {
    std::vector<OpCase> v;
    const auto map = [](const char* name, float lo = -1, float hi = 1) {  // any-shape map input
      return TensorArg{name, {3, 5, 7}, {N, 32, S, S}, lo, hi, std::nullopt};
    };
    const auto like = [](const char* name, float lo = -1, float hi = 1) {  // must match the first argument
      return TensorArg{name, {3, 5, 7}, {N, 32, S, S}, lo, hi, Dims{3, 5, 8}};
    };

    // ---- activations
    v.push_back(make_case("relu_forward", "", {map("x", -3, 3)}, {{"y", tol_exact}},
                          [](Context& c, auto& a) { ops::relu_forward(c, a.in[0], a.out[0]); }));
    v.push_back(make_case("relu_backward", "", {map("y", -3, 3), like("dy")}, {{"dx", tol_exact}},
                          [](Context& c, auto& a) { ops::relu_backward(c, a.in[0], a.in[1], a.out[0]); }));
    v.push_back(make_case("tanh_forward", "", {map("x", -3, 3)}, {{"y", tol_map}},
                          [](Context& c, auto& a) { ops::tanh_forward(c, a.in[0], a.out[0]); }));
    v.push_back(make_case("tanh_backward", "", {map("y"), like("dy")}, {{"dx", tol_map}},
                          [](Context& c, auto& a) { ops::tanh_backward(c, a.in[0], a.in[1], a.out[0]); }));
    v.push_back(make_case("softmax_forward", "", {{"x", {5, 1000}, {N, 7}, -20, 20, Dims{5, 10, 100}}},
                          {{"y", 1e-5}}, [](Context& c, auto& a) { ops::softmax_forward(c, a.in[0], a.out[0]); }));
    v.push_back(make_case("softmax_backward", "",
                          {{"y", {3, 7}, {N, 7}, 0, 1, Dims{3, 7, 1}}, {"dy", {3, 7}, {N, 7}, -1, 1, Dims{3, 8}}},
                          {{"dx", 1e-5}},
                          [](Context& c, auto& a) { ops::softmax_backward(c, a.in[0], a.in[1], a.out[0]); }));

    // ---- pooling
    const Dims pool_small{2, 3, 7, 9}, pool_paper{N, 32, S, S};
    for (const int window : {2, 3}) {
      const std::string w = "window " + std::to_string(window);
      OpCase fwd = make_case("maxpool2d_forward", w, {{"x", pool_small, pool_paper, -1, 1, Dims{2, 3, 7}}},
                             {{"y", tol_exact}},
                             [](Context& c, auto& a) { ops::maxpool2d_forward(c, a.in[0], a.integer(0), a.out[0]); });
      fwd.scalars = {double(window)};
      fwd.bad_scalars = {{0, 0}, {0, 8}};
      v.push_back(fwd);
      const Dims pooled_small{2, 3, 7 / window, 9 / window}, pooled_paper{N, 32, S2, S2};
      OpCase bwd = with_prepare(
          make_case("maxpool2d_backward", w,
                    {{"x", pool_small, pool_paper, -1, 1, Dims{2, 3, 7}},
                     {"y", pooled_small, window == 2 ? pooled_paper : Dims{N, 32, S3, S3}, -1, 1,
                      Dims{2, 3, 1, 1}},
                     {"dy", pooled_small, window == 2 ? pooled_paper : Dims{N, 32, S3, S3}, -1, 1,
                      Dims{2, 3, 1, 1}}},
                    {{"dx", tol_exact}},
                    [](Context& c, auto& a) {
                      ops::maxpool2d_backward(c, a.in[0], a.in[1], a.in[2], a.integer(0), a.out[0]);
                    }),
          // y is the forward's output (the backward routes dy to where x equals it).
          [](Context& c, auto& a) { ops::maxpool2d_forward(c, a.in[0], a.integer(0), a.in[1]); });
      bwd.scalars = {double(window)};
      bwd.bad_scalars = {{0, 0}, {0, 8}, {0, window == 2 ? 3 : 2}};
      v.push_back(bwd);
    }
    v.push_back(make_case("global_avgpool_forward", "", {{"x", {3, 5, 7, 7}, {N, 128, S4, S4}, -1, 1, Dims{3, 5, 7}}},
                          {{"y", tol_fp32}},
                          [](Context& c, auto& a) { ops::global_avgpool_forward(c, a.in[0], a.out[0]); }));
    v.push_back(make_case("global_avgpool_backward", "", {{"dy", {3, 5}, {N, 128}, -1, 1, Dims{3, 5, 2}}},
                          {{"dx", tol_map}}, [](Context& c, auto& a) {
                            const Shape& d = a.in[0].shape();
                            ops::global_avgpool_backward(c, a.in[0], Shape{d[0], d[1], 7, 7}, a.out[0]);
                          }));

    // ---- concatenation
    v.push_back(make_case("concat_channels_forward", "",
                          {{"a", {2, 3, 5, 5}, {N, 32, S2, S2}, -1, 1, Dims{2, 3, 5, 6}},
                           {"b", {2, 2, 5, 5}, {N, 32, S2, S2}, -1, 1, Dims{2, 2, 6, 5}}},
                          {{"y", tol_exact}},
                          [](Context& c, auto& a) { ops::concat_channels_forward(c, a.in[0], a.in[1], a.out[0]); }));
    {
      OpCase bwd = make_case("concat_channels_backward", "", {{"dy", {2, 5, 5, 5}, {N, 64, S2, S2}, -1, 1, Dims{2, 5}}},
                             {{"da", tol_exact}, {"db", tol_exact}}, [](Context& c, auto& a) {
                               ops::concat_channels_backward(c, a.in[0], a.integer(0), a.out[0], a.out[1]);
                             });
      bwd.scalars = {3};
      bwd.bad_scalars = {{0, 0}, {0, 5}};
      v.push_back(bwd);
    }

    // ---- batch normalization: maps with a large mean against their spread (the variance must not cancel),
    // [N, F] features, with and without the fused ReLU.
    for (const bool relu : {false, true})
      for (const bool features : {false, true}) {
        const std::string var = std::string(features ? "features" : "maps") + (relu ? ", fused ReLU" : "");
        const Dims xs = features ? Dims{5, 7} : Dims{3, 5, 7, 7}, xp = features ? Dims{N, 256} : Dims{N, 32, S, S};
        const std::int64_t cs = xs[1], cp = features ? 256 : 32;
        const Dims bad_x = features ? Dims{5, 7, 2} : Dims{3, 5, 7};
        const auto channel = [&](const char* name, float lo, float hi) {
          return TensorArg{name, {cs}, {cp}, lo, hi, Dims{cs + 1}};
        };
        OpCase train = make_case(
            "batchnorm_forward_train", var,
            {{"x", xs, xp, relu ? -1.0f : 4.0f, relu ? 1.0f : 6.0f, bad_x}, channel("gamma", 0.5f, 1.5f),
             channel("beta", -1, 1), channel("running_mean", -1, 1), channel("running_var", 0.5f, 2.0f)},
            {{"y", tol_fp32}, {"saved_mean", 1e-6}, {"saved_invstd", 1e-5}, {"running_mean", 1e-6},
             {"running_var", 1e-5}},
            [relu](Context& c, auto& a) {
              ops::batchnorm_forward_train(c, a.in[0], a.in[1], a.in[2], a.in[3], a.in[4], a.scalar(0), a.scalar(1),
                                           a.out[0], a.out[1], a.out[2], relu);
              a.out[3] = a.in[3];
              a.out[4] = a.in[4];
            });
        train.scalars = {0.99, 1e-3};
        train.bad_scalars = {{0, -0.1}, {0, 1.5}, {1, 0}};
        v.push_back(train);
        OpCase infer = make_case("batchnorm_forward_infer", var,
                                 {{"x", xs, xp, -1, 1, bad_x}, channel("gamma", 0.5f, 1.5f), channel("beta", -1, 1),
                                  channel("running_mean", -1, 1), channel("running_var", 0.5f, 2.0f)},
                                 {{"y", tol_fp32}}, [relu](Context& c, auto& a) {
                                   ops::batchnorm_forward_infer(c, a.in[0], a.in[1], a.in[2], a.in[3], a.in[4],
                                                                a.scalar(0), a.out[0], relu);
                                 });
        infer.scalars = {1e-3};
        infer.bad_scalars = {{0, 0}};
        v.push_back(infer);
        std::vector<TensorArg> bwd_in{{"x", xs, xp, -1, 1, bad_x},
                                      {"dy", xs, xp, -1, 1, bad_x},
                                      channel("gamma", 0.5f, 1.5f),
                                      channel("saved_mean", -0.5f, 0.5f),
                                      channel("saved_invstd", 0.5f, 2.0f)};
        // The fused backward's mask: the forward's output, any values (only their signs matter).
        if (relu) bwd_in.push_back({"relu_output", xs, xp, -1, 1, bad_x});
        v.push_back(make_case("batchnorm_backward", var, bwd_in,
                              {{"dx", tol_reduce}, {"dgamma", tol_reduce}, {"dbeta", tol_reduce}},
                              [relu](Context& c, auto& a) {
                                ops::batchnorm_backward(c, a.in[0], a.in[1], a.in[2], a.in[3], a.in[4], a.out[0],
                                                        a.out[1], a.out[2], relu ? &a.in[5] : nullptr);
                              }));
        std::vector<TensorArg> frozen_in{{"dy", xs, xp, -1, 1, bad_x}, channel("gamma", 0.5f, 1.5f),
                                         channel("running_var", 0.5f, 2.0f)};
        if (relu) frozen_in.push_back({"relu_output", xs, xp, -1, 1, bad_x});
        OpCase frozen = make_case("batchnorm_backward_infer", var, frozen_in, {{"dx", tol_fp32}},
                                  [relu](Context& c, auto& a) {
                                    ops::batchnorm_backward_infer(c, a.in[0], a.in[1], a.in[2], a.scalar(0), a.out[0],
                                                                  relu ? &a.in[3] : nullptr);
                                  });
        frozen.scalars = {1e-3};
        frozen.bad_scalars = {{0, 0}};
        v.push_back(frozen);
      }

    // ---- convolution (the default engine; tests/cuda/test_cuda_conv.cu runs every engine and odd shapes)
    for (const int k : {3, 5}) {
      const std::string var = "k" + std::to_string(k);
      const Dims xs{3, 5, 7, 9}, ws{7, 5, k, k}, ys{3, 7, 7, 9};
      const Dims xp{N, 32, S2, S2}, wp{64, 32, k, k}, yp{N, 64, S2, S2};
      v.push_back(make_case("conv2d_forward", var,
                            {{"x", xs, xp, -1, 1, Dims{3, 4, 7, 9}},
                             {"w", ws, wp, -0.2f, 0.2f, Dims{7, 5, k, k + 2}},
                             {"b", {7}, {64}, -1, 1, Dims{6}}},
                            {{"y", tol_fp32}},
                            [](Context& c, auto& a) { ops::conv2d_forward(c, a.in[0], a.in[1], a.in[2], a.out[0]); }));
      v.push_back(make_case("conv2d_backward_data", var,
                            {{"dy", ys, yp, -1, 1, Dims{3, 6, 7, 9}}, {"w", ws, wp, -0.2f, 0.2f, Dims{6, 5, k, k}}},
                            {{"dx", tol_fp32}}, [](Context& c, auto& a) {
                              const Shape& d = a.in[0].shape();
                              const Shape x{d[0], a.in[1].shape().rank() == 4 ? a.in[1].shape()[1] : 0, d[2], d[3]};
                              ops::conv2d_backward_data(c, a.in[0], a.in[1], x, a.out[0]);
                            }));
      v.push_back(make_case("conv2d_backward_filter", var,
                            {{"x", xs, xp, -1, 1, Dims{3, 5, 7, 8}},
                             {"dy", ys, yp, -1, 1, Dims{2, 7, 7, 9}},
                             {"dw", ws, wp, 0, 1, Dims{7, 5, k, k + 1}}},
                            {{"dw", tol_reduce}, {"db", tol_reduce}}, [](Context& c, auto& a) {
                              ops::conv2d_backward_filter(c, a.in[0], a.in[1], a.in[2], a.out[1]);
                              a.out[0] = a.in[2];
                            }));
    }

    // ---- dense (the paper head's first layer, 8192 -> 256)
    v.push_back(make_case("dense_forward", "",
                          {{"x", {3, 5}, {N, 8192}, -1, 1, Dims{3, 6}},
                           {"w", {7, 5}, {256, 8192}, -0.1f, 0.1f, Dims{7, 4}},
                           {"b", {7}, {256}, -1, 1, Dims{8}}},
                          {{"y", tol_reduce}},
                          [](Context& c, auto& a) { ops::dense_forward(c, a.in[0], a.in[1], a.in[2], a.out[0]); }));
    v.push_back(make_case("dense_backward", "",
                          {{"x", {3, 5}, {N, 8192}, -1, 1, Dims{3, 6}},
                           {"w", {7, 5}, {256, 8192}, -0.1f, 0.1f, Dims{7, 4}},
                           {"dy", {3, 7}, {N, 256}, -1, 1, Dims{3, 8}}},
                          {{"dx", tol_reduce}, {"dw", tol_reduce}, {"db", tol_reduce}}, [](Context& c, auto& a) {
                            ops::dense_backward(c, a.in[0], a.in[1], a.in[2], a.out[0], a.out[1], a.out[2]);
                          }));

    // ---- dropout: the GPU draws the CPU's mask (compared bitwise with the CPU in float)
    for (const bool forward : {true, false}) {
      OpCase d = make_case(forward ? "dropout_forward" : "dropout_backward", "", {map("x")}, {{"y", tol_exact}},
                           [forward](Context& c, auto& a) {
                             const RandomStream stream{42, 3, 7};
                             if (forward)
                               ops::dropout_forward(c, a.in[0], a.scalar(0), stream, a.out[0]);
                             else
                               ops::dropout_backward(c, a.in[0], a.scalar(0), stream, a.out[0]);
                           });
      d.inputs[0].paper = {N, 256};
      d.scalars = {0.3};
      d.bad_scalars = {{0, -0.1}, {0, 1.0}};
      d.float_reference = true;
      v.push_back(d);
    }

    // ---- gating (the merged maps after the two streams)
    const TensorArg gmap{"x", {3, 5, 7, 7}, {N, 128, S4, S4}, -1, 1, Dims{3, 6, 7, 7}};
    const TensorArg gate{"gate", {3, 5}, {N, 128}, 0, 1, Dims{3, 6}};
    v.push_back(make_case("channel_scale_forward", "", {gmap, gate}, {{"y", tol_map}}, [](Context& c, auto& a) {
      ops::channel_scale_forward(c, a.in[0], a.in[1], a.out[0]);
    }));
    v.push_back(make_case("channel_scale_backward", "", {gmap, gate, gmap}, {{"dx", tol_map}, {"ds", tol_fp32}},
                          [](Context& c, auto& a) {
                            ops::channel_scale_backward(c, a.in[0], a.in[1], a.in[2], a.out[0], a.out[1]);
                          }));
    v.push_back(make_case("gated_add_forward", "", {gmap, gmap, gate}, {{"y", tol_map}}, [](Context& c, auto& a) {
      ops::gated_add_forward(c, a.in[0], a.in[1], a.in[2], a.out[0]);
    }));
    v.push_back(make_case("gated_add_backward", "", {gmap, gate, gmap}, {{"dskip", tol_map}, {"dgate", tol_fp32}},
                          [](Context& c, auto& a) {
                            ops::gated_add_backward(c, a.in[0], a.in[1], a.in[2], a.out[0], a.out[1]);
                          }));

    // ---- softmax cross-entropy, weighted and smoothed (the unweighted path: tests/cuda/test_cuda_ops.cu)
    for (const bool forward : {true, false}) {
      OpCase l = make_case(
          forward ? "softmax_cross_entropy_forward" : "softmax_cross_entropy_backward", "weighted, smoothed",
          {{forward ? "logits" : "probs", {11, 7}, {N, 7}, forward ? -5.0f : 0.0f, forward ? 5.0f : 1.0f,
            Dims{11, 7, 1}},
           {"class_weights", {7}, {7}, 0.5f, 2.0f, Dims{6}}},
          forward ? std::vector<OutputArg>{{"probs", 1e-5}, {"loss", 1e-5}} : std::vector<OutputArg>{{"dlogits", 1e-5}},
          [forward](Context& c, auto& a) {
            if (forward)
              a.out[1] = detail::scalar_tensor(
                  ops::softmax_cross_entropy_forward(c, a.in[0], a.labels, a.in[1], a.scalar(0), a.out[0]));
            else
              ops::softmax_cross_entropy_backward(c, a.in[0], a.labels, a.in[1], a.scalar(0), a.out[0]);
          });
      l.labels_small = 11;
      l.labels_paper = {N};
      l.classes = 7;
      l.scalars = {0.1};
      l.bad_scalars = {{0, -0.1}, {0, 1.0}};
      v.push_back(l);
    }

    // ---- Adam (the paper network's parameter count; compared with the CPU in float)
    {
      const auto param = [](const char* name, float lo, float hi) {
        return TensorArg{name, {4099}, {P}, lo, hi, Dims{4098}};
      };
      OpCase adam = make_case("adam_update", "AdamW shrink",
                              {param("param", -1, 1), param("grad", -1, 1), param("m", -0.1f, 0.1f),
                               param("v", 0, 0.01f)},
                              {{"param", 1e-6}, {"m", 1e-6}, {"v", 1e-6}}, [](Context& c, auto& a) {
                                using T = std::decay_t<decltype(a.scalar(0))>;
                                const ops::AdamStep<T> s{a.scalar(0), a.scalar(1), a.scalar(2), a.scalar(3),
                                                         a.scalar(4)};
                                ops::adam_update(c, a.in[0], a.in[1], a.in[2], a.in[3], s);
                                a.out[0] = a.in[0];
                                a.out[1] = a.in[2];
                                a.out[2] = a.in[3];
                              });
      adam.scalars = {1e-3, 0.9, 0.999, 1e-7, 0.999};
      adam.bad_scalars = {{1, 1.0}, {2, -0.5}, {3, -1.0}};
      adam.float_reference = true;
      v.push_back(adam);
    }

    // ---- SGD with Nesterov momentum and decoupled weight decay (same parameter count as Adam's row)
    {
      const auto param = [](const char* name, float lo, float hi) {
        return TensorArg{name, {4099}, {P}, lo, hi, Dims{4098}};
      };
      OpCase sgd = make_case("sgd_update", "Nesterov, shrink",
                             {param("param", -1, 1), param("grad", -1, 1), param("velocity", -0.1f, 0.1f)},
                             {{"param", 1e-6}, {"velocity", 1e-6}}, [](Context& c, auto& a) {
                               using T = std::decay_t<decltype(a.scalar(0))>;
                               const ops::SgdStep<T> s{a.scalar(0), a.scalar(1), true, a.scalar(2)};
                               ops::sgd_update(c, a.in[0], a.in[1], a.in[2], s);
                               a.out[0] = a.in[0];
                               a.out[1] = a.in[2];
                             });
      sgd.scalars = {1e-2, 0.9, 0.999};
      sgd.bad_scalars = {{1, 1.0}, {1, -0.5}};
      sgd.float_reference = true;
      v.push_back(sgd);
    }

    // ---- element-wise utilities
    v.push_back(make_case("add", "", {map("a"), like("b")}, {{"y", tol_map}},
                          [](Context& c, auto& a) { ops::add(c, a.in[0], a.in[1], a.out[0]); }));
    {
      OpCase f = make_case("fill", "", {map("x")}, {{"x", tol_exact}}, [](Context& c, auto& a) {
        ops::fill(c, a.in[0], a.scalar(0));
        a.out[0] = a.in[0];
      });
      f.scalars = {2.5};
      v.push_back(f);
    }
    {
      TensorArg x = map("x");
      x.edit = detail::plant_nonfinite;
      v.push_back(make_case("count_nonfinite", "", {x}, {{"count", tol_exact}}, [](Context& c, auto& a) {
        using T = std::decay_t<decltype(a.scalar(0))>;
        a.out[0] = detail::scalar_tensor(static_cast<T>(ops::count_nonfinite(c, a.in[0])));
      }));
    }
    return v;
  }();
  return cases;
}

// ---- Running a case ---------------------------------------------------------------------------------------------

enum class ShapeSet { small, paper };

inline Shape arg_shape(const Dims& small, const Dims& paper, ShapeSet set, const PaperSize& size) {
  return set == ShapeSet::small ? resolve(small, size) : resolve(paper, size);
}

// Host float values of one argument (the same on every machine: a Philox stream per case and argument).
inline Tensor<float> fill_arg(const TensorArg& arg, const Shape& shape, std::uint64_t seed) {
  Tensor<float> t(shape);
  const RandomStream stream{seed, 0x0bca5e5u, 0};
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = arg.lo + (arg.hi - arg.lo) * stream.uniform(i);
  if (arg.edit) arg.edit(t);
  return t;
}

// The arguments of case c, on the host in float (what the device copies and the references derive from).
inline OpArgs<float> host_args(const OpCase& c, ShapeSet set, const PaperSize& size = {}) {
  OpArgs<float> a;
  std::uint64_t seed = std::hash<std::string>{}(c.title());
  for (const TensorArg& arg : c.inputs) a.in.push_back(fill_arg(arg, arg_shape(arg.small, arg.paper, set, size), ++seed));
  a.out.resize(c.outputs.size());
  if (c.classes > 0) {
    a.labels = Tensor<std::int32_t>(set == ShapeSet::small ? Shape{c.labels_small} : resolve(c.labels_paper, size));
    for (std::size_t i = 0; i < a.labels.numel(); ++i) a.labels[i] = static_cast<std::int32_t>((i * 5) % c.classes);
  }
  a.scalars = c.scalars;
  return a;
}

// The same arguments as another element type, on a device.
template <class To>
OpArgs<To> convert_args(const OpArgs<float>& from, Device device) {
  OpArgs<To> a;
  for (const Tensor<float>& t : from.in) {
    Tensor<To> c(t.shape());
    for (std::size_t i = 0; i < t.numel(); ++i) c[i] = static_cast<To>(t[i]);
    a.in.push_back(c.to(device));
  }
  a.out.resize(from.out.size());
  a.labels = from.labels.to(device);
  a.scalars = from.scalars;
  return a;
}

template <class T>
void run_case(const OpCase& c, Context& ctx, OpArgs<T>& a) {
  if constexpr (std::is_same_v<T, float>) {
    if (c.prepare_float) c.prepare_float(ctx, a);
    c.call_float(ctx, a);
  } else {
    if (c.prepare_double) c.prepare_double(ctx, a);
    c.call_double(ctx, a);
  }
}

}  // namespace mien::testing
