// mien_bench_kernels: times mien's CUDA kernels at the paper network's shapes (batch 32 unless --batch says
// otherwise, 128x128 and 48x48 inputs) beside cuDNN / cuBLAS and the CPU path, and prints markdown tables.
//
//   convolutions   every layer and pass with mien fp32, mien TF32, cuDNN fp32 (FMA math) and cuDNN with TF32
//                  allowed; TFLOP/s; speed relative to cuDNN fp32 and to cuDNN's fastest (either math); the
//                  largest deviation from cuDNN fp32 as a sanity check.
//   memory-bound   batch norm, activations, pooling, concatenation, gating, dropout, loss, Adam: GB/s of the
//                  bytes each op must move, against the device-to-device copy bandwidth measured first.
//   dense          cuBLAS at the paper head's sizes.
//   op table       every case of mien/testing/op_cases.hpp (every ops:: function) at the paper's shapes, GPU and
//                  CPU, with GB/s counting each argument and output once.
//   network        the whole paper network: training step (forward, backward, Adam) and inference in images/s,
//                  per convolution engine; also as "mien-cuda-<engine> <training step|inference> <S>x<S> batch <N>:
//                  <images/s> images/s" lines, which scripts/gpu-check.sh sets beside PyTorch's.
// Times are means over --reps runs after warm-up, measured with CUDA events on the op stream; the CPU column runs
// --cpu-reps times (0 skips it).
//
//   mien_bench_kernels [--reps N] [--cpu-reps N] [--sizes 128,48] [--batch 32] [--quick]
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "mien/kernels/cudnn_conv.cuh"
#include "mien/kernels/device_state.cuh"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/models/paper_net.hpp"
#include "mien/optim/adam.hpp"
#include "mien/ops/activation.hpp"
#include "mien/ops/adam.hpp"
#include "mien/ops/batchnorm.hpp"
#include "mien/ops/concat.hpp"
#include "mien/ops/conv2d.hpp"
#include "mien/ops/dense.hpp"
#include "mien/ops/dropout.hpp"
#include "mien/ops/gating.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/pooling.hpp"
#include "mien/testing/op_cases.hpp"

using namespace mien;

namespace {

struct Options {
  int reps = 20;
  int cpu_reps = 1;
  std::vector<int> sizes = {128, 48};
  int batch = 32;
};

Options parse(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--reps") {
      o.reps = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--cpu-reps") {
      o.cpu_reps = std::max(0, std::atoi(value().c_str()));
    } else if (a == "--sizes") {
      o.sizes.clear();
      const std::string list = value();
      for (std::size_t p = 0; p < list.size();) {
        const std::size_t comma = list.find(',', p);
        o.sizes.push_back(std::atoi(list.substr(p, comma - p).c_str()));
        p = comma == std::string::npos ? list.size() : comma + 1;
      }
    } else if (a == "--batch") {
      o.batch = std::max(1, std::atoi(value().c_str()));
    } else if (a == "--quick") {
      o.reps = 5;
      o.cpu_reps = 0;
    } else {
      std::fprintf(stderr,
                   "usage: mien_bench_kernels [--reps N] [--cpu-reps N] [--sizes 128,48] [--batch 32] [--quick]\n");
      std::exit(a == "--help" || a == "-h" ? 0 : 2);
    }
  }
  return o;
}

Tensor<float> random_tensor(const Shape& shape, std::uint64_t seed, float lo = -1.0f, float hi = 1.0f) {
  Tensor<float> t(shape);
  const RandomStream s{seed, 1, 0};
  for (std::size_t i = 0; i < t.numel(); ++i) t[i] = lo + (hi - lo) * s.uniform(i);
  return t;
}

// Mean milliseconds of one call of fn on the GPU, after warm-up (which also lets cuDNN find its algorithms).
double time_gpu(Context& ctx, const std::function<void()>& fn, int reps) {
  const cudaStream_t stream = cuda::stream_of(ctx);
  for (int i = 0; i < 3; ++i) fn();
  cudaEvent_t start, stop;
  cuda::check(cudaEventCreate(&start), "bench", "cudaEventCreate");
  cuda::check(cudaEventCreate(&stop), "bench", "cudaEventCreate");
  cuda::check(cudaEventRecord(start, stream), "bench", "cudaEventRecord");
  for (int i = 0; i < reps; ++i) fn();
  cuda::check(cudaEventRecord(stop, stream), "bench", "cudaEventRecord");
  cuda::check(cudaEventSynchronize(stop), "bench", "cudaEventSynchronize");
  float ms = 0;
  cuda::check(cudaEventElapsedTime(&ms, start, stop), "bench", "cudaEventElapsedTime");
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / reps;
}

double time_cpu(const std::function<void()>& fn, int reps) {
  if (reps <= 0) return 0;
  fn();  // warm-up: first-touch allocation of the outputs
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < reps; ++i) fn();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count() / reps;
}

// Largest |a - b| over the largest |b|: a quick check that two engines computed the same thing.
double deviation(const Tensor<float>& a, const Tensor<float>& b) {
  const std::vector<float> x = a.to_vector(), y = b.to_vector();
  double diff = 0, scale = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    diff = std::max(diff, static_cast<double>(std::abs(x[i] - y[i])));
    scale = std::max(scale, static_cast<double>(std::abs(y[i])));
  }
  return scale > 0 ? diff / scale : diff;
}

// Device-to-device copy bandwidth, counting bytes read and written: the memory-bound yardstick.
double copy_bandwidth_gbs(Context& ctx) {
  const std::size_t bytes = std::size_t{512} << 20;
  Tensor<float> a(Shape{static_cast<std::int64_t>(bytes / 4)}, Device::cuda), b(a.shape(), Device::cuda);
  a.set_zero();
  const double ms = time_gpu(
      ctx, [&] { cuda::check(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, cuda::stream_of(ctx)), "bench", "copy"); },
      10);
  return 2.0 * static_cast<double>(bytes) / (ms * 1e6);
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

// ---- Convolutions -------------------------------------------------------------------------------------------------

struct ConvLayer {
  const char* name;
  int c, size, k, ks;
};

std::vector<ConvLayer> paper_layers(int input) {
  const int a = input, b = input / 2, c = input / 4;
  return {{"stream k3 conv1", 1, a, 32, 3},  {"stream k5 conv1", 1, a, 32, 5}, {"stream k3 conv2", 32, b, 64, 3},
          {"stream k5 conv2", 32, b, 64, 5}, {"residual conv", 128, c, 128, 3}};
}

enum class Pass { forward, backward_data, backward_filter };
const char* pass_name(Pass p) {
  return p == Pass::forward ? "forward" : p == Pass::backward_data ? "bwd data" : "bwd filter";
}

struct ConvTensors {
  Tensor<float> x, w, b, dy, y, dx, dw, db;
};

void run_pass(Context& ctx, Pass pass, ConvTensors& t) {
  switch (pass) {
    case Pass::forward: return ops::conv2d_forward(ctx, t.x, t.w, t.b, t.y);
    case Pass::backward_data: return ops::conv2d_backward_data(ctx, t.dy, t.w, t.x.shape(), t.dx);
    case Pass::backward_filter: return ops::conv2d_backward_filter(ctx, t.x, t.dy, t.dw, t.db);
  }
}

void run_cudnn_tf32(Context& ctx, Pass pass, ConvTensors& t) {
  switch (pass) {
    case Pass::forward: return cuda::cudnn::conv2d_forward(ctx, t.x, t.w, t.b, t.y, true);
    case Pass::backward_data: return cuda::cudnn::conv2d_backward_data(ctx, t.dy, t.w, t.dx, true);
    case Pass::backward_filter: return cuda::cudnn::conv2d_backward_filter(ctx, t.x, t.dy, t.dw, t.db, true);
  }
}

const Tensor<float>& pass_output(Pass pass, const ConvTensors& t) {
  return pass == Pass::forward ? t.y : pass == Pass::backward_data ? t.dx : t.dw;
}

void bench_convolutions(const Options& o, int input, std::vector<double>& speed_vs_cudnn) {
  std::printf("\n### Convolutions, batch %d, %dx%d input\n\n", o.batch, input, input);
  std::printf("| layer | pass | mien fp32 ms | mien TF32 ms | cuDNN fp32 ms | cuDNN TF32 ms | CPU ms | mien fp32 TFLOP/s | "
              "fp32 speed vs cuDNN fp32 | TF32 speed vs cuDNN best | fp32 dev. | TF32 dev. |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const ConvLayer& layer : paper_layers(input)) {
    const int n = o.batch;
    ConvTensors host{random_tensor(Shape{n, layer.c, layer.size, layer.size}, 1),
                     random_tensor(Shape{layer.k, layer.c, layer.ks, layer.ks}, 2, -0.1f, 0.1f),
                     random_tensor(Shape{layer.k}, 3),
                     random_tensor(Shape{n, layer.k, layer.size, layer.size}, 4),
                     {}, {}, Tensor<float>(Shape{layer.k, layer.c, layer.ks, layer.ks}), {}};
    ConvTensors dev{host.x.to(Device::cuda), host.w.to(Device::cuda), host.b.to(Device::cuda), host.dy.to(Device::cuda),
                    {}, {}, Tensor<float>(host.dw.shape(), Device::cuda), {}};
    const double flops = 2.0 * n * layer.size * layer.size * layer.k * layer.c * layer.ks * layer.ks;
    for (Pass pass : {Pass::forward, Pass::backward_data, Pass::backward_filter}) {
      Context ctx;
      ctx.set_conv_backend(ConvBackend::cudnn);
      const double t_cudnn = time_gpu(ctx, [&] { run_pass(ctx, pass, dev); }, o.reps);
      const Tensor<float> reference = pass_output(pass, dev);
      const double t_cudnn_tf32 = time_gpu(ctx, [&] { run_cudnn_tf32(ctx, pass, dev); }, o.reps);
      ctx.set_conv_backend(ConvBackend::native);
      const double t_fp32 = time_gpu(ctx, [&] { run_pass(ctx, pass, dev); }, o.reps);
      const double dev_fp32 = deviation(pass_output(pass, dev), reference);
      ctx.set_conv_backend(ConvBackend::native_tf32);
      const double t_tf32 = time_gpu(ctx, [&] { run_pass(ctx, pass, dev); }, o.reps);
      const double dev_tf32 = deviation(pass_output(pass, dev), reference);
      Context cpu_ctx;
      const double t_cpu = time_cpu([&] { run_pass(cpu_ctx, pass, host); }, o.cpu_reps);
      const double best = std::min(t_cudnn, t_cudnn_tf32);
      speed_vs_cudnn.push_back(t_cudnn / t_fp32);
      std::printf("| %s %d->%d k%d at %d | %s | %.3f | %.3f | %.3f | %.3f | %s | %.1f | %.2f | %.2f | %.1e | %.1e |\n",
                  layer.name, layer.c, layer.k, layer.ks, layer.size, pass_name(pass), t_fp32, t_tf32, t_cudnn,
                  t_cudnn_tf32, o.cpu_reps > 0 ? fmt("%.1f", t_cpu).c_str() : "-", flops / (t_fp32 * 1e9),
                  t_cudnn / t_fp32, best / t_tf32, dev_fp32, dev_tf32);
      std::fflush(stdout);
    }
  }
}

// ---- Memory-bound ops -----------------------------------------------------------------------------------------------

struct MemoryRow {
  std::string op, shape;
  double bytes;
  std::function<void(Context&)> gpu;
  std::function<void(Context&)> cpu;
};

void bench_memory_bound(const Options& o, int input, double copy_gbs) {
  const int n = o.batch, s1 = input, s2 = input / 2, s3 = input / 4;
  std::printf("\n### Memory-bound ops, batch %d, %dx%d input (copy bandwidth %.0f GB/s)\n\n", n, input, input,
              copy_gbs);
  std::printf("| op | shape | GPU ms | GB/s | of copy bandwidth | CPU ms |\n|---|---|---:|---:|---:|---:|\n");
  // Host and device copies of every operand, kept alive for the closures below.
  struct Both {
    Tensor<float> h, d;
    explicit Both(Tensor<float> t) : h(std::move(t)), d(h.to(Device::cuda)) {}
  };
  const Shape map1{n, 32, s1, s1}, map2{n, 64, s2, s2}, merged{n, 128, s3, s3};
  auto x1 = std::make_shared<Both>(random_tensor(map1, 10)), g1 = std::make_shared<Both>(random_tensor(map1, 11));
  auto xm = std::make_shared<Both>(random_tensor(merged, 12)), gm = std::make_shared<Both>(random_tensor(merged, 13));
  auto a2 = std::make_shared<Both>(random_tensor(map2, 14)), b2 = std::make_shared<Both>(random_tensor(map2, 15));
  auto gamma = std::make_shared<Both>(random_tensor(Shape{32}, 16, 0.5f, 1.5f));
  auto beta = std::make_shared<Both>(random_tensor(Shape{32}, 17));
  auto rm = std::make_shared<Both>(random_tensor(Shape{32}, 18)), rv = std::make_shared<Both>(random_tensor(Shape{32}, 19, 0.5f, 2));
  auto gate = std::make_shared<Both>(random_tensor(Shape{n, 128}, 20, 0, 1));
  auto head = std::make_shared<Both>(random_tensor(Shape{n, 256}, 21));
  auto logits = std::make_shared<Both>(random_tensor(Shape{n, 7}, 22, -3, 3));
  const std::int64_t adam_count = 8'400'000;  // about the paper network's parameter count
  auto p = std::make_shared<Both>(random_tensor(Shape{adam_count}, 23)), pg = std::make_shared<Both>(random_tensor(Shape{adam_count}, 24));
  auto pm = std::make_shared<Both>(random_tensor(Shape{adam_count}, 25)), pv = std::make_shared<Both>(random_tensor(Shape{adam_count}, 26, 0, 1));
  auto labels = std::make_shared<Tensor<std::int32_t>>(Shape{n});
  for (int i = 0; i < n; ++i) (*labels)[i] = i % 7;
  auto labels_d = std::make_shared<Tensor<std::int32_t>>(labels->to(Device::cuda));
  auto no_weights = std::make_shared<Both>(Tensor<float>(Shape{0}));
  struct Outputs {
    Tensor<float> y, y2, mean, invstd, dx, dgamma, dbeta;
  };
  auto out_d = std::make_shared<Outputs>(), out_h = std::make_shared<Outputs>();
  const double m1 = static_cast<double>(map1.numel()) * 4, mm = static_cast<double>(merged.numel()) * 4,
               mp2 = static_cast<double>(map2.numel()) * 4;
  const RandomStream stream{5, 9, 0};

  // Each row runs on the device copies (d) or the host copies (h), selected by the closure's argument.
  auto both = [](auto f) {
    return std::pair<std::function<void(Context&)>, std::function<void(Context&)>>{[f](Context& c) { f(c, true); },
                                                                                   [f](Context& c) { f(c, false); }};
  };
  auto pick = [](const std::shared_ptr<Both>& t, bool on_gpu) -> Tensor<float>& { return on_gpu ? t->d : t->h; };
  std::vector<MemoryRow> rows;
  auto add = [&](std::string op, Shape shape, double bytes, auto f) {
    auto [g, c] = both(f);
    rows.push_back({std::move(op), shape.str(), bytes, g, c});
  };
  // Bytes: forward reads x twice (statistics, normalize) and writes y; backward reads x and dy twice and
  // writes dx.
  add("batchnorm forward (train)", map1, 3 * m1, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    ops::batchnorm_forward_train(c, pick(x1, d), pick(gamma, d), pick(beta, d), pick(rm, d), pick(rv, d), 0.99f, 1e-3f,
                                 o.y, o.mean, o.invstd);
  });
  add("batchnorm forward + backward", map1, 8 * m1, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    ops::batchnorm_forward_train(c, pick(x1, d), pick(gamma, d), pick(beta, d), pick(rm, d), pick(rv, d), 0.99f, 1e-3f,
                                 o.y, o.mean, o.invstd);
    ops::batchnorm_backward(c, pick(x1, d), pick(g1, d), pick(gamma, d), o.mean, o.invstd, o.dx, o.dgamma, o.dbeta);
  });
  // Fused with the ReLU: the backward also reads y in both passes. Against the unfused pair (the two rows above
  // plus the ReLU rows below), it saves the ReLU's separate passes.
  add("batchnorm+relu forward + backward (fused)", map1, 10 * m1, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    ops::batchnorm_forward_train(c, pick(x1, d), pick(gamma, d), pick(beta, d), pick(rm, d), pick(rv, d), 0.99f, 1e-3f,
                                 o.y, o.mean, o.invstd, true);
    ops::batchnorm_backward(c, pick(x1, d), pick(g1, d), pick(gamma, d), o.mean, o.invstd, o.dx, o.dgamma, o.dbeta,
                            &o.y);
  });
  add("relu forward", map1, 2 * m1, [=](Context& c, bool d) { ops::relu_forward(c, pick(x1, d), (d ? out_d : out_h)->y); });
  add("relu backward", map1, 3 * m1, [=](Context& c, bool d) {
    ops::relu_backward(c, pick(x1, d), pick(g1, d), (d ? out_d : out_h)->y);
  });
  add("maxpool 2x2 forward", map1, 1.25 * m1, [=](Context& c, bool d) {
    ops::maxpool2d_forward(c, pick(x1, d), 2, (d ? out_d : out_h)->y);
  });
  // Forward reads x and writes y (a quarter); backward reads x, y, dy and writes dx.
  add("maxpool 2x2 forward + backward", map1, 3.75 * m1, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    ops::maxpool2d_forward(c, pick(x1, d), 2, o.y2);
    ops::maxpool2d_backward(c, pick(x1, d), o.y2, o.y2, 2, o.y);  // dy = y: any values do
  });
  add("concat forward", map2, 4 * mp2, [=](Context& c, bool d) {
    ops::concat_channels_forward(c, pick(a2, d), pick(b2, d), (d ? out_d : out_h)->y);
  });
  add("channel scale forward", merged, 2 * mm, [=](Context& c, bool d) {
    ops::channel_scale_forward(c, pick(xm, d), pick(gate, d), (d ? out_d : out_h)->y);
  });
  add("channel scale backward", merged, 3 * mm, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    ops::channel_scale_backward(c, pick(xm, d), pick(gate, d), pick(gm, d), o.y, o.y2);
  });
  add("gated add forward", merged, 3 * mm, [=](Context& c, bool d) {
    ops::gated_add_forward(c, pick(xm, d), pick(gm, d), pick(gate, d), (d ? out_d : out_h)->y);
  });
  add("global avg pool forward", merged, mm, [=](Context& c, bool d) {
    ops::global_avgpool_forward(c, pick(xm, d), (d ? out_d : out_h)->y);
  });
  add("dropout forward", Shape{n, 256}, 2.0 * n * 256 * 4, [=](Context& c, bool d) {
    ops::dropout_forward(c, pick(head, d), 0.5f, stream, (d ? out_d : out_h)->y);
  });
  add("softmax cross-entropy fwd+bwd", Shape{n, 7}, 3.0 * n * 7 * 4, [=](Context& c, bool d) {
    auto& o = d ? *out_d : *out_h;
    (void)ops::softmax_cross_entropy_forward(c, pick(logits, d), d ? *labels_d : *labels, pick(no_weights, d), 0.0f,
                                             o.y);
    ops::softmax_cross_entropy_backward(c, o.y, d ? *labels_d : *labels, pick(no_weights, d), 0.0f, o.y2);
  });
  add("adam update", Shape{adam_count}, 7.0 * adam_count * 4, [=](Context& c, bool d) {
    ops::adam_update(c, pick(p, d), pick(pg, d), pick(pm, d), pick(pv, d), ops::AdamStep<float>{1e-7f, 0.9f, 0.999f, 1e-7f});
  });

  for (const MemoryRow& row : rows) {
    Context ctx, cpu_ctx;
    const double ms = time_gpu(ctx, [&] { row.gpu(ctx); }, o.reps);
    const double gbs = row.bytes / (ms * 1e6);
    const double cpu_ms = time_cpu([&] { row.cpu(cpu_ctx); }, o.cpu_reps);
    std::printf("| %s | %s | %.4f | %.0f | %.0f%% | %s |\n", row.op.c_str(), row.shape.c_str(), ms, gbs,
                100.0 * gbs / copy_gbs, o.cpu_reps > 0 ? fmt("%.2f", cpu_ms).c_str() : "-");
    std::fflush(stdout);
  }
}

// ---- Dense (cuBLAS) -------------------------------------------------------------------------------------------------

void bench_dense(const Options& o) {
  std::printf("\n### Dense layers (cuBLAS), batch %d\n\n", o.batch);
  std::printf("| layer | forward ms | backward ms | forward TFLOP/s | CPU forward ms |\n|---|---:|---:|---:|---:|\n");
  struct Case {
    int f, out;
  };
  for (const Case& c : {Case{8192, 256}, Case{256, 128}, Case{128, 7}}) {
    const int n = o.batch;
    const Tensor<float> x = random_tensor(Shape{n, c.f}, 30), w = random_tensor(Shape{c.out, c.f}, 31, -0.05f, 0.05f);
    const Tensor<float> b = random_tensor(Shape{c.out}, 32), dy = random_tensor(Shape{n, c.out}, 33);
    const Tensor<float> xd = x.to(Device::cuda), wd = w.to(Device::cuda), bd = b.to(Device::cuda), dyd = dy.to(Device::cuda);
    Tensor<float> y, dx, dw, db, yh;
    Context ctx, cpu_ctx;
    const double fwd = time_gpu(ctx, [&] { ops::dense_forward(ctx, xd, wd, bd, y); }, o.reps);
    const double bwd = time_gpu(ctx, [&] { ops::dense_backward(ctx, xd, wd, dyd, dx, dw, db); }, o.reps);
    const double cpu = time_cpu([&] { ops::dense_forward(cpu_ctx, x, w, b, yh); }, o.cpu_reps);
    std::printf("| %d -> %d | %.4f | %.4f | %.2f | %s |\n", c.f, c.out, fwd, bwd, 2.0 * n * c.f * c.out / (fwd * 1e9),
                o.cpu_reps > 0 ? fmt("%.2f", cpu).c_str() : "-");
  }
}

// ---- The op table ---------------------------------------------------------------------------------------------------

// Every case of the op table at the paper network's shapes (batch --batch, maps at the input size and its halves
// and quarters), on the GPU and the CPU. The same cases the parity and argument tests run.
void bench_op_table(const Options& o, int input) {
  std::printf("\n### Every op (mien/testing/op_cases.hpp), batch %d, %dx%d input\n\n", o.batch, input, input);
  std::printf("| op | arguments | GPU ms | GB/s (each tensor once) | CPU ms |\n|---|---|---:|---:|---:|\n");
  const testing::PaperSize size{o.batch, input, 8'400'000};
  for (const testing::OpCase& c : testing::op_cases()) {
    const testing::OpArgs<float> host = testing::host_args(c, testing::ShapeSet::paper, size);
    testing::OpArgs<float> dev = testing::convert_args<float>(host, Device::cuda), cpu = host;
    Context ctx, cpu_ctx;
    if (c.prepare_float) {
      c.prepare_float(ctx, dev);
      c.prepare_float(cpu_ctx, cpu);
    }
    const double ms = time_gpu(ctx, [&] { c.call_float(ctx, dev); }, o.reps);
    const double cpu_ms = time_cpu([&] { c.call_float(cpu_ctx, cpu); }, o.cpu_reps);
    double bytes = 0;
    std::string shapes;
    for (const Tensor<float>& t : dev.in) {
      bytes += static_cast<double>(t.bytes());
      shapes += (shapes.empty() ? "" : " ") + t.shape().str();
    }
    for (const Tensor<float>& t : dev.out) bytes += static_cast<double>(t.bytes());
    std::printf("| %s | %s | %.4f | %.0f | %s |\n", c.title().c_str(), shapes.c_str(), ms, bytes / (ms * 1e6),
                o.cpu_reps > 0 ? fmt("%.2f", cpu_ms).c_str() : "-");
    std::fflush(stdout);
  }
}

// The paper network (default configuration) at one input size, per convolution engine. The loss is read back to
// the host every step (as a training loop does to print it), so each step ends in a synchronisation.
void bench_network(const Options& o, int size) {
  std::printf("\n### Whole network, %dx%d, batch %d\n\n", size, size, o.batch);
  std::printf("| convolution engine | training step ms | images/s | inference ms | images/s |\n|---|---:|---:|---:|---:|\n");
  struct Engine {
    const char* name;
    ConvBackend backend;
  };
  std::vector<std::string> lines;
  for (const Engine& e : {Engine{"fp32", ConvBackend::native}, Engine{"tf32", ConvBackend::native_tf32},
                          Engine{"cudnn", ConvBackend::cudnn}}) {
    Context ctx(1);
    ctx.set_conv_backend(e.backend);
    PaperNetConfig config;
    config.input_size = size;
    PaperNet<float> model(ctx, config);
    model.to(Device::cuda);
    Adam<float> adam;
    SoftmaxCrossEntropy<float> loss;
    const std::int64_t batch = o.batch;
    const Tensor<float> x = random_tensor(model.input_shape(batch), 4).to(Device::cuda);
    Tensor<std::int32_t> labels(Shape{batch});
    for (std::int64_t i = 0; i < batch; ++i) labels[i] = static_cast<std::int32_t>(i % 7);
    const Tensor<std::int32_t> labels_dev = labels.to(Device::cuda);
    const double step_ms = time_gpu(ctx, [&] {
      loss.forward(ctx, model.forward(ctx, x, Mode::train), labels_dev);
      model.backward(ctx, loss.backward(ctx));
      adam.step(ctx, model.params());
      ctx.advance_step();
    }, o.reps);
    const double infer_ms = time_gpu(ctx, [&] { model.forward(ctx, x, Mode::infer); }, o.reps);
    const double step_ips = batch / (step_ms / 1e3), infer_ips = batch / (infer_ms / 1e3);
    std::printf("| mien %s | %.3f | %.0f | %.3f | %.0f |\n", e.name, step_ms, step_ips, infer_ms, infer_ips);
    for (const auto& [what, ips] : {std::pair<const char*, double>{"training step", step_ips}, {"inference", infer_ips}}) {
      char line[160];
      std::snprintf(line, sizeof line, "mien-cuda-%s %s %dx%d batch %d: %.1f images/s", e.name, what, size, size,
                    o.batch, ips);
      lines.push_back(line);
    }
  }
  // After the table: gpu-check.sh's summary reads the table up to the first of these lines, then every line
  // of this form (mien's and PyTorch's) for its ratio table.
  std::printf("\n");
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
  for (const std::string& line : lines) std::printf("%s\n", line.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = parse(argc, argv);
  if (!cuda::device_available()) {
    std::printf("no CUDA device: kernel benchmarks skipped\n");
    return 77;
  }
  try {
    cudaDeviceProp prop{};
    cuda::check(cudaGetDeviceProperties(&prop, 0), "bench", "cudaGetDeviceProperties");
    int cudnn_version = static_cast<int>(cudnnGetVersion());
    int cublas_version = 0;
    {
      Context ctx;
      cuda::check_cublas(cublasGetVersion(cuda::device_state(ctx).cublas(), &cublas_version), "bench", "cublasGetVersion");
    }
    std::printf("## mien kernel benchmarks\n\n%s, %d SMs, compute capability %d.%d; cuDNN %d, cuBLAS %d; %d reps "
                "(CPU %d)\n",
                prop.name, prop.multiProcessorCount, prop.major, prop.minor, cudnn_version, cublas_version, o.reps,
                o.cpu_reps);
    Context ctx;
    const double copy_gbs = copy_bandwidth_gbs(ctx);
    std::printf("\nDevice-to-device copy: %.0f GB/s (bytes read + written)\n", copy_gbs);
    std::vector<double> speed;
    for (int size : o.sizes) bench_convolutions(o, size, speed);
    for (int size : o.sizes) bench_memory_bound(o, size, copy_gbs);
    bench_dense(o);
    for (int size : o.sizes) bench_op_table(o, size);
    for (int size : o.sizes) bench_network(o, size);
    if (!speed.empty()) {
      std::sort(speed.begin(), speed.end());
      std::printf("\nmien fp32 convolution speed relative to cuDNN fp32: min %.2f, median %.2f, max %.2f over %zu "
                  "layer passes (target >= 0.8)\n",
                  speed.front(), speed[speed.size() / 2], speed.back(), speed.size());
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "mien_bench_kernels: %s\n", e.what());
    return 1;
  }
  return 0;
}
