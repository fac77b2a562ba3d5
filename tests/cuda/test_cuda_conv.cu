// GPU convolutions against the CPU reference (computed in double), for every engine (mien fp32, mien TF32,
// cuDNN) and pass, at the paper network's shapes; and mien's kernels against cuDNN at full batch.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "mien/ops/conv2d.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

namespace {

struct ConvCase {
  const char* name;
  int c, size, k, ks;  // input channels, square extent, output channels, kernel extent
};

// The paper network's convolutions at 128x128 input and at 48x48.
const ConvCase paper_cases[] = {
    {"1->32 k3 at 128", 1, 128, 32, 3},   {"1->32 k5 at 128", 1, 128, 32, 5},   {"32->64 k3 at 64", 32, 64, 64, 3},
    {"32->64 k5 at 64", 32, 64, 64, 5},   {"128->128 k3 at 32", 128, 32, 128, 3}, {"1->32 k3 at 48", 1, 48, 32, 3},
    {"1->32 k5 at 48", 1, 48, 32, 5},     {"32->64 k3 at 24", 32, 24, 64, 3},   {"32->64 k5 at 24", 32, 24, 64, 5},
    {"128->128 k3 at 12", 128, 12, 128, 3},
};

const char* backend_name(ConvBackend b) {
  return b == ConvBackend::native ? "native fp32" : b == ConvBackend::native_tf32 ? "native TF32" : "cuDNN";
}

// Inputs of one case, on the host.
struct ConvData {
  Tensor<float> x, w, b, dy;
  ConvData(int batch, const ConvCase& cc)
      : x(uniform_tensor(Shape{batch, cc.c, cc.size, cc.size}, 1)),
        w(uniform_tensor(Shape{cc.k, cc.c, cc.ks, cc.ks}, 2, -0.2f, 0.2f)),
        b(uniform_tensor(Shape{cc.k}, 3)),
        dy(uniform_tensor(Shape{batch, cc.k, cc.size, cc.size}, 4)) {}
};

// The three passes' results, on whatever device computed them.
template <class T>
struct ConvResults {
  Tensor<T> y, dx, dw, db;
};

template <class T>
ConvResults<T> run_passes(Context& ctx, const Tensor<T>& x, const Tensor<T>& w, const Tensor<T>& b,
                          const Tensor<T>& dy) {
  ConvResults<T> r;
  ops::conv2d_forward(ctx, x, w, b, r.y);
  ops::conv2d_backward_data(ctx, dy, w, x.shape(), r.dx);
  r.dw = Tensor<T>(w.shape(), x.device());
  ops::conv2d_backward_filter(ctx, x, dy, r.dw, r.db);
  return r;
}

ConvResults<float> run_gpu(ConvBackend backend, const ConvData& d) {
  Context ctx;
  ctx.set_conv_backend(backend);
  return run_passes(ctx, d.x.to(Device::cuda), d.w.to(Device::cuda), d.b.to(Device::cuda), d.dy.to(Device::cuda));
}

ConvResults<double> run_cpu_double(const ConvData& d) {
  Context ctx;
  return run_passes(ctx, convert<double>(d.x), convert<double>(d.w), convert<double>(d.b), convert<double>(d.dy));
}

template <class Got, class Want>
void require_passes_close(const ConvResults<Got>& got, const ConvResults<Want>& want, double tolerance,
                          double reduction_tolerance) {
  MIEN_REQUIRE_CLOSE(got.y, want.y, tolerance);
  MIEN_REQUIRE_CLOSE(got.dx, want.dx, tolerance);
  MIEN_REQUIRE_CLOSE(got.dw, want.dw, reduction_tolerance);
  MIEN_REQUIRE_CLOSE(got.db, want.db, reduction_tolerance);
}

}  // namespace

TEST_CASE("GPU convolutions match the CPU at the paper's shapes", "[cuda][conv]") {
  // Two images keep the double-precision CPU reference quick; every tile edge case still occurs.
  for (const ConvCase& cc : paper_cases) {
    const ConvData data(2, cc);
    const ConvResults<double> want = run_cpu_double(data);
    for (ConvBackend backend : {ConvBackend::native, ConvBackend::native_tf32, ConvBackend::cudnn}) {
      INFO(cc.name << ", " << backend_name(backend));
      const bool tf32 = backend == ConvBackend::native_tf32;
      require_passes_close(run_gpu(backend, data), want, tf32 ? tf32_tolerance : fp32_tolerance,
                           tf32 ? tf32_tolerance : fp32_reduction_tolerance);
    }
  }
}

TEST_CASE("mien's convolutions match cuDNN at full batch", "[cuda][conv]") {
  if (emulated) {
    WARN("under the CUDA emulator cuDNN is a loop, not a yardstick: this comparison needs a GPU");
    return;
  }
  for (const ConvCase& cc : paper_cases) {
    const ConvData data(32, cc);
    const ConvResults<float> cudnn = run_gpu(ConvBackend::cudnn, data);
    {
      INFO(cc.name << ", native fp32 vs cuDNN");
      // Two fp32 computations, each within fp32_tolerance of the exact result.
      require_passes_close(run_gpu(ConvBackend::native, data), cudnn, 2 * fp32_tolerance,
                           2 * fp32_reduction_tolerance);
    }
    {
      INFO(cc.name << ", native TF32 vs cuDNN");
      require_passes_close(run_gpu(ConvBackend::native_tf32, data), cudnn, tf32_tolerance, tf32_tolerance);
    }
  }
}

TEST_CASE("GPU convolutions handle odd shapes, every kernel extent and doubles", "[cuda][conv][sanitize]") {
  // Extents that fill no tile evenly, planes not divisible by 4 (no vector stores), one-pixel images.
  const ConvCase odd_cases[] = {{"3->6 k1 7x9", 3, 7, 6, 1}, {"5->7 k3 7", 5, 7, 7, 3}, {"2->9 k5 9", 2, 9, 9, 5},
                                {"4->3 k7 11", 4, 11, 3, 7}, {"3->4 k3 1x1", 3, 1, 4, 3}};
  for (const ConvCase& cc : odd_cases) {
    const ConvData data(3, cc);
    const ConvResults<double> want = run_cpu_double(data);
    for (ConvBackend backend : {ConvBackend::native, ConvBackend::native_tf32, ConvBackend::cudnn}) {
      INFO(cc.name << ", " << backend_name(backend));
      const bool tf32 = backend == ConvBackend::native_tf32;
      require_passes_close(run_gpu(backend, data), want, tf32 ? tf32_tolerance : fp32_tolerance,
                           tf32 ? tf32_tolerance : fp32_reduction_tolerance);
    }
    INFO(cc.name << ", double on the GPU");
    Context ctx;
    const ConvResults<double> gpu_double =
        run_passes(ctx, convert<double>(data.x).to(Device::cuda), convert<double>(data.w).to(Device::cuda),
                   convert<double>(data.b).to(Device::cuda), convert<double>(data.dy).to(Device::cuda));
    require_passes_close(gpu_double, want, 1e-12, 1e-12);
  }
}

TEST_CASE("An empty batch gives empty outputs and zero weight gradients", "[cuda][conv][sanitize]") {
  Context ctx;
  const Tensor<float> x(Shape{0, 3, 8, 8}, Device::cuda), dy(Shape{0, 4, 8, 8}, Device::cuda);
  const Tensor<float> w = uniform_tensor(Shape{4, 3, 3, 3}, 5).to(Device::cuda);
  const Tensor<float> b = uniform_tensor(Shape{4}, 6).to(Device::cuda);
  Tensor<float> y, dx, db;
  Tensor<float> dw = uniform_tensor(Shape{4, 3, 3, 3}, 7).to(Device::cuda);
  ops::conv2d_forward(ctx, x, w, b, y);
  ops::conv2d_backward_data(ctx, dy, w, x.shape(), dx);
  ops::conv2d_backward_filter(ctx, x, dy, dw, db);
  CHECK(y.shape() == Shape({0, 4, 8, 8}));
  CHECK(dx.shape() == x.shape());
  for (float v : dw.to_vector()) CHECK(v == 0.0f);
  for (float v : db.to_vector()) CHECK(v == 0.0f);
}
