// End to end on the GPU: a small paper network trained a few steps on both backends from the same seed gives the
// same losses; and the CUDA state and error reporting (lazy creation, out-of-memory, library and launch errors).
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "mien/kernels/device_state.cuh"
#include "mien/kernels/launch.cuh"
#include "mien/layers/softmax_cross_entropy.hpp"
#include "mien/models/paper_net.hpp"
#include "mien/ops/elementwise.hpp"
#include "mien/optim/adam.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

namespace {

PaperNetConfig small_config() {
  PaperNetConfig config;
  config.input_size = 48;
  config.stream_channels = {8, 16};
  config.residual_blocks = 1;
  config.dense_units = {32};
  config.dropout = 0.25;
  return config;
}

// Losses of `steps` training steps of the small network on one fixed batch, on the given device.
std::vector<float> train_losses(Device device, ConvBackend backend, int steps, Tensor<float>* first_logits) {
  Context ctx(11);
  ctx.set_conv_backend(backend);
  PaperNet<float> model(ctx, small_config());  // weights drawn on the host from the seed
  if (device == Device::cuda) model.to(Device::cuda);
  Adam<float> adam(AdamOptions{1e-3, 0});
  SoftmaxCrossEntropy<float> loss;
  const Tensor<float> x = uniform_tensor(model.input_shape(8), 12).to(device);
  Tensor<std::int32_t> labels(Shape{8});
  for (int i = 0; i < 8; ++i) labels[i] = i % 7;
  const Tensor<std::int32_t> labels_dev = labels.to(device);
  std::vector<float> losses;
  for (int step = 0; step < steps; ++step) {
    const Tensor<float>& logits = model.forward(ctx, x, Mode::train);
    if (step == 0 && first_logits) *first_logits = logits.to(Device::cpu);
    losses.push_back(loss.forward(ctx, logits, labels_dev));
    model.backward(ctx, loss.backward(ctx));
    adam.step(ctx, model.params());
    ctx.advance_step();
  }
  return losses;
}

__global__ void empty_kernel() {}

}  // namespace

TEST_CASE("A few training steps give the same losses on the CPU and the GPU", "[cuda][training]") {
  const int steps = 4;
  Tensor<float> cpu_logits;
  const std::vector<float> cpu = train_losses(Device::cpu, ConvBackend::native, steps, &cpu_logits);
  struct Engine {
    ConvBackend backend;
    const char* name;
    double first, later;  // tolerances on the first step's outputs and on the later losses
  };
  // After the first update the runs drift apart by rounding amplified through Adam's normalized steps (a
  // gradient near zero can take either sign), so later losses get a looser bound.
  for (const Engine& e : {Engine{ConvBackend::native, "native fp32", 1e-4, 2e-3},
                          Engine{ConvBackend::cudnn, "cuDNN", 1e-4, 2e-3},
                          Engine{ConvBackend::native_tf32, "native TF32", 2e-2, 5e-2}}) {
    INFO(e.name);
    Tensor<float> gpu_logits;
    const std::vector<float> gpu = train_losses(Device::cuda, e.backend, steps, &gpu_logits);
    MIEN_REQUIRE_CLOSE(gpu_logits, cpu_logits, e.first);
    for (int s = 0; s < steps; ++s) {
      INFO("step " << s << ": CPU " << cpu[s] << ", GPU " << gpu[s]);
      CHECK(gpu[s] == Approx(cpu[s]).epsilon(s == 0 ? e.first : e.later));
    }
  }
  CHECK(cpu.back() < cpu.front());  // the steps did train
}

TEST_CASE("The CUDA state is created on first use and grows its workspace", "[cuda][state][sanitize]") {
  Context ctx;
  CHECK(!ctx.backend_state());
  Tensor<float> t(Shape{1000}, Device::cuda);
  ops::fill(ctx, t, 1.0f);
  REQUIRE(ctx.backend_state());
  cuda::DeviceState& state = cuda::device_state(ctx);
  CHECK(state.stream() != nullptr);
  CHECK(state.sm_count() > 0);
  void* small = state.workspace(100, "test");
  CHECK(small != nullptr);
  CHECK(state.workspace(50, "test") == small);  // no reallocation for a smaller request
  state.workspace(std::size_t{64} << 20, "test");
  CHECK(state.workspace_bytes() >= (std::size_t{64} << 20));
  CHECK(state.cublas() != nullptr);
  CHECK(state.cudnn() != nullptr);
  CHECK(&cuda::device_state(ctx) == &state);  // one state per context
}

TEST_CASE("Device failures throw errors that name the op and the cause", "[cuda][errors]") {
  SECTION("out of memory names the request and suggests a smaller batch") {
    try {
      Tensor<float> huge(Shape{std::int64_t{1} << 42}, Device::cuda);
      FAIL("a 16 TiB allocation succeeded");
    } catch (const OutOfMemory& e) {
      CHECK_THAT(e.what(), Catch::Contains("out of GPU memory") && Catch::Contains("smaller batch"));
    }
  }
  SECTION("cuBLAS and cuDNN statuses carry the library's message") {
    try {
      cuda::check_cublas(CUBLAS_STATUS_INVALID_VALUE, "dense_forward", "x [2, 3]");
      FAIL("no throw");
    } catch (const DeviceError& e) {
      CHECK_THAT(e.what(), Catch::Contains("dense_forward: x [2, 3]: cuBLAS CUBLAS_STATUS_INVALID_VALUE"));
    }
    try {
      cuda::check_cudnn(CUDNN_STATUS_BAD_PARAM, "conv2d_forward (cuDNN)", "x [1, 1, 4, 4]");
      FAIL("no throw");
    } catch (const DeviceError& e) {
      CHECK_THAT(e.what(), Catch::Contains("conv2d_forward (cuDNN): x [1, 1, 4, 4]: cuDNN CUDNN_STATUS_BAD_PARAM"));
    }
  }
  SECTION("a bad kernel launch is reported by the op that launched it") {
    Context ctx;
    cuda::launch_kernel(empty_kernel, 1, 4096, cuda::stream_of(ctx));  // more threads than a block may have
    try {
      cuda::check_kernel(ctx, "relu_forward", "x [4]");
      FAIL("no throw");
    } catch (const DeviceError& e) {
      CHECK_THAT(e.what(), Catch::Contains("relu_forward: kernel launch for x [4]") &&
                               Catch::Contains("cudaErrorInvalidConfiguration"));
    }
  }
  SECTION("tensors on different devices are refused before any kernel runs") {
    Context ctx;
    Tensor<float> a(Shape{4}, Device::cuda), b(Shape{4}), y;
    CHECK_THROWS_AS(ops::add(ctx, a, b, y), InvalidArgument);
  }
}
