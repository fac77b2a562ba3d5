// The SGD update on the GPU against the CPU backend: a paper-sized count (the vectorised path) and an odd one (the
// scalar path), plain, classical and Nesterov momentum, with and without decoupled weight decay. Float results
// are compared with the CPU's float results, as for Adam in test_cuda_ops.cu; and the Sgd optimizer on device
// parameters against the same on the CPU.
#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include "mien/ops/sgd.hpp"
#include "mien/optim/sgd.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

TEST_CASE("GPU SGD updates match the CPU", "[cuda][ops][sgd][sanitize]") {
  Context ctx;
  for (const std::int64_t count : {std::int64_t{100003}, std::int64_t{4096}}) {
    for (const float momentum : {0.0f, 0.9f}) {
      for (const bool nesterov : {false, true}) {
        Tensor<float> p = uniform_tensor(Shape{count}, 190), v = uniform_tensor(Shape{count}, 189, -0.1f, 0.1f);
        Tensor<float> pg = p.to(Device::cuda), vg = v.to(Device::cuda);
        for (int step = 0; step < 3; ++step) {
          const Tensor<float> g = uniform_tensor(Shape{count}, 191 + step);
          // Step 2 with decoupled weight decay.
          const ops::SgdStep<float> s{1e-2f * (step + 1), momentum, nesterov, step == 1 ? 0.999f : 1.0f};
          ops::sgd_update(ctx, pg, g.to(Device::cuda), vg, s);
          ops::sgd_update(ctx, p, g, v, s);
        }
        INFO("count " << count << ", momentum " << momentum << ", nesterov " << nesterov);
        MIEN_REQUIRE_CLOSE(pg, p, 1e-6);
        MIEN_REQUIRE_CLOSE(vg, v, 1e-6);
      }
    }
  }
}

TEST_CASE("GPU SGD refuses tensors on different devices", "[cuda][ops][sgd][sanitize]") {
  Context ctx;
  Tensor<float> p = Tensor<float>::zeros(Shape{8}, Device::cuda), g = Tensor<float>::zeros(Shape{8}, Device::cuda);
  Tensor<float> v = Tensor<float>::zeros(Shape{8});
  const ops::SgdStep<float> s{0.1f, 0.9f};
  CHECK_THROWS_WITH(ops::sgd_update(ctx, p, g, v, s),
                    Catch::Contains("sgd_update: tensors are on different devices (cuda, cuda, cpu"));
}

TEST_CASE("The Sgd optimizer steps device parameters as it steps host ones", "[cuda][ops][sgd][sanitize]") {
  Context ctx;
  SgdOptions o;
  o.lr = 0.05;
  o.weight_decay = 0.1;
  Sgd<float> on_cpu(o), on_gpu(o);
  Tensor<float> w = uniform_tensor(Shape{16, 9}, 290), b = uniform_tensor(Shape{16}, 291);
  Tensor<float> wg = w.to(Device::cuda), bg = b.to(Device::cuda);
  for (int step = 0; step < 4; ++step) {
    Tensor<float> gw = uniform_tensor(w.shape(), 292 + step), gb = uniform_tensor(b.shape(), 392 + step);
    Tensor<float> gwg = gw.to(Device::cuda), gbg = gb.to(Device::cuda);
    on_cpu.step(ctx, {{"w", &w, &gw}, {"b", &b, &gb}});
    on_gpu.step(ctx, {{"w", &wg, &gwg}, {"b", &bg, &gbg}});
  }
  MIEN_REQUIRE_CLOSE(wg, w, 1e-6);
  MIEN_REQUIRE_CLOSE(bg, b, 1e-6);
  const auto state = on_gpu.state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].value->device() == Device::cuda);
  MIEN_REQUIRE_CLOSE(*state[0].value, *on_cpu.state()[0].value, 1e-6);
}
