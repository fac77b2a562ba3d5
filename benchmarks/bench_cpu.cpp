// CPU benchmark: this machine's GEMM speed (Eigen, all cores) as the yardstick, then each layer of the paper
// network at its real shapes (forward, and forward + backward), then whole training steps of the network
// (batch 32) at 48×48 and 128×128, in images/s and as a fraction of the GEMM speed; the layers and steps that take
// the Winograd path are measured through im2col alone too, for the ratio. Everything is measured
// in one run, so the ratios hold even on a shared, noisy machine. Prints a table; docs/benchmarks.md records it.
// --step-only prints just the whole-network lines, training step and inference at both sizes, one
// "mien <what> <S>x<S> batch 32: <images/s> images/s" line each (benchmarks/reference/compare_speed.sh reads them).
//
//   bench_cpu [--quick] [--step-only]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include <Eigen/Core>
#include <omp.h>

#include "mien/mien.hpp"
#include "seeded_input.hpp"

using namespace mien;
using Clock = std::chrono::steady_clock;

namespace {

// Median seconds of `reps` runs after one warm-up.
double median_seconds(int reps, const std::function<void()>& run) {
  run();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    const auto start = Clock::now();
    run();
    t.push_back(std::chrono::duration<double>(Clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double gemm_gflops(int n, int reps) {
  Eigen::MatrixXf a = Eigen::MatrixXf::Random(n, n), b = Eigen::MatrixXf::Random(n, n), c(n, n);
  const double s = median_seconds(reps, [&] { c.noalias() = a * b; });
  return 2.0 * n * n * n / s / 1e9;
}

void bench_layer(const char* name, Layer<float>& layer, const Shape& in, int reps,
                 CpuConv conv_algorithm = CpuConv::automatic) {
  Context ctx(1);
  ctx.set_cpu_conv(conv_algorithm);
  const Tensor<float> x = bench::seeded_uniform(in, 2);
  const Tensor<float> dy = bench::seeded_uniform(layer.output_shape(in), 3);
  const double flops = 2.0 * static_cast<double>(layer.macs(in));
  const double fwd = median_seconds(reps, [&] { layer.forward(ctx, x, Mode::train); });
  const double both = median_seconds(reps, [&] {
    layer.forward(ctx, x, Mode::train);
    layer.backward(ctx, dy);
  });
  // Backward of a conv or dense layer costs two forward GEMMs (data and filter gradients): 3× in all.
  std::printf("%-30s %-20s %9.2f %9.1f %11.2f %9.1f\n", name, in.str().c_str(), fwd * 1e3, flops ? flops / fwd / 1e9 : 0.0,
              both * 1e3, flops ? 3 * flops / both / 1e9 : 0.0);
}

struct StepResult {
  double images_per_second, gflops;
};

StepResult bench_training_step(std::int64_t input_size, std::int64_t batch, int reps,
                               CpuConv conv_algorithm = CpuConv::automatic) {
  Context ctx(1);
  ctx.set_cpu_conv(conv_algorithm);
  PaperNetConfig config;
  config.input_size = input_size;
  PaperNet<float> model(ctx, config);
  model.set_input_gradient(false);  // as in training, and as the frameworks compared with do
  Adam<float> adam;
  SoftmaxCrossEntropy<float> loss;
  const Tensor<float> x = bench::seeded_uniform(model.input_shape(batch), 4);
  Tensor<std::int32_t> labels(Shape{batch});
  for (std::int64_t i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(i % 7);
  const double s = median_seconds(reps, [&] {
    loss.forward(ctx, model.forward(ctx, x, Mode::train), labels);
    model.backward(ctx, loss.backward(ctx));
    adam.step(ctx, model.params());
    ctx.advance_step();
  });
  const double flops = 3 * 2.0 * static_cast<double>(model.macs(model.input_shape(batch)));
  return {batch / s, flops / s / 1e9};
}

// Inference (batch statistics frozen, no dropout): forward only.
StepResult bench_inference(std::int64_t input_size, std::int64_t batch, int reps) {
  Context ctx(1);
  PaperNetConfig config;
  config.input_size = input_size;
  PaperNet<float> model(ctx, config);
  const Tensor<float> x = bench::seeded_uniform(model.input_shape(batch), 4);
  const double s = median_seconds(reps, [&] { model.forward(ctx, x, Mode::infer); });
  const double flops = 2.0 * static_cast<double>(model.macs(model.input_shape(batch)));
  return {batch / s, flops / s / 1e9};
}

// The whole-network numbers only, in a form scripts can read.
void print_step_lines(int reps) {
  for (std::int64_t size : {48, 128}) {
    const StepResult r = bench_training_step(size, 32, size == 48 ? reps : std::max(2, reps / 2));
    std::printf("mien training step %lldx%lld batch 32: %.2f images/s (%.1f GFLOP/s)\n", static_cast<long long>(size),
                static_cast<long long>(size), r.images_per_second, r.gflops);
  }
  for (std::int64_t size : {48, 128}) {
    const StepResult r = bench_inference(size, 32, reps);
    std::printf("mien inference %lldx%lld batch 32: %.2f images/s (%.1f GFLOP/s)\n", static_cast<long long>(size),
                static_cast<long long>(size), r.images_per_second, r.gflops);
  }
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = false, step_only = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else if (std::strcmp(argv[i], "--step-only") == 0) {
      step_only = true;
    } else {
      std::fprintf(stderr, "unknown argument '%s'\nusage: bench_cpu [--quick] [--step-only]\n", argv[i]);
      return 2;
    }
  }
  const int reps = quick ? 2 : 5;
  std::printf("mien CPU benchmark: %d OpenMP threads, Eigen %d.%d.%d, SIMD: %s, float GEMMs: %s\n",
              omp_get_max_threads(), EIGEN_WORLD_VERSION, EIGEN_MAJOR_VERSION, EIGEN_MINOR_VERSION,
              Eigen::SimdInstructionSetsInUse(), cpu::gemm_backend().c_str());
  if (step_only) {
    print_step_lines(reps);
    return 0;
  }
  const double gemm = gemm_gflops(1024, reps);
  std::printf("yardstick: Eigen SGEMM 1024x1024x1024: %.1f GFLOP/s\n\n", gemm);

  std::printf("%-30s %-20s %9s %9s %11s %9s\n", "layer (batch 32)", "input", "fwd ms", "GFLOP/s", "fwd+bwd ms",
              "GFLOP/s");
  for (std::int64_t size : {48, 128}) {
    if (quick && size == 128) break;
    Context ctx(1);
    const std::int64_t half = size / 2, quarter = size / 4;
    for (int k : {3, 5}) {
      Conv2D<float> c1(ctx, 1, 32, k), c2(ctx, 32, 64, k);
      bench_layer(("stream conv1 " + std::to_string(k) + "x" + std::to_string(k)).c_str(), c1, Shape{32, 1, size, size}, reps);
      bench_layer(("stream conv2 " + std::to_string(k) + "x" + std::to_string(k)).c_str(), c2, Shape{32, 32, half, half},
                  reps);
      if (cpu::winograd::applies(Shape{32, 32, half, half}, c2.weight().shape()))
        bench_layer("stream conv2 3x3, im2col", c2, Shape{32, 32, half, half}, reps, CpuConv::im2col);
    }
    Conv2D<float> res(ctx, 128, 128, 3);
    bench_layer("residual conv 3x3", res, Shape{32, 128, quarter, quarter}, reps);
    // The layers that take the Winograd path, also through im2col alone, for the ratio.
    if (cpu::winograd::applies(Shape{32, 128, quarter, quarter}, res.weight().shape()))
      bench_layer("residual conv 3x3, im2col", res, Shape{32, 128, quarter, quarter}, reps, CpuConv::im2col);
    BatchNorm<float> bn(ctx, 128);
    bench_layer("batch norm", bn, Shape{32, 128, quarter, quarter}, reps);
    ReLU<float> relu;
    bench_layer("relu", relu, Shape{32, 128, quarter, quarter}, reps);
    BatchNormReLU<float> bn_relu(ctx, 128);
    bench_layer("batch norm + relu, fused", bn_relu, Shape{32, 128, quarter, quarter}, reps);
    MaxPool2D<float> pool(2);
    bench_layer("max-pool 2x2", pool, Shape{32, 64, half, half}, reps);
    DynamicAttention<float> attention(ctx, 128);
    bench_layer("dynamic attention", attention, Shape{32, 128, quarter, quarter}, reps);
    const std::int64_t features = 128 * (size / 8) * (size / 8);
    Dense<float> dense(ctx, features, 256);
    bench_layer("dense head 1", dense, Shape{32, features}, reps);
    std::printf("\n");
  }

  std::printf("%-30s %12s %12s %14s\n", "training step (batch 32)", "images/s", "GFLOP/s", "of GEMM speed");
  for (std::int64_t size : {48, 128}) {
    if (quick && size == 128) break;
    const StepResult r = bench_training_step(size, 32, size == 48 ? reps : std::max(2, reps / 2));
    std::printf("paper network %lldx%lld           %12.1f %12.1f %13.0f%%\n", static_cast<long long>(size),
                static_cast<long long>(size), r.images_per_second, r.gflops, 100 * r.gflops / gemm);
    // The same without the Winograd path, for the ratio (GFLOP/s counts direct-convolution MACs).
    const StepResult base = bench_training_step(size, 32, size == 48 ? reps : std::max(2, reps / 2), CpuConv::im2col);
    std::printf("paper network %lldx%lld, im2col %14.1f %12.1f %13.0f%%\n", static_cast<long long>(size),
                static_cast<long long>(size), base.images_per_second, base.gflops, 100 * base.gflops / gemm);
  }
  return 0;
}
