// Tensor storage and shapes, the Philox generator, and the context's random streams.
#include <catch2/catch.hpp>

#include "mien/core/context.hpp"
#include "mien/core/philox.hpp"
#include "mien/core/tensor.hpp"

using namespace mien;

TEST_CASE("Philox 4x32-10 matches the Random123 known-answer vectors", "[core][rng]") {
  const PhiloxWords zero = philox4x32_10(0, 0, 0, 0, 0, 0);
  CHECK(zero.v[0] == 0x6627e8d5u);
  CHECK(zero.v[1] == 0xe169c58du);
  CHECK(zero.v[2] == 0xbc57ac4cu);
  CHECK(zero.v[3] == 0x9b00dbd8u);
  const PhiloxWords ones = philox4x32_10(~0u, ~0u, ~0u, ~0u, ~0u, ~0u);
  CHECK(ones.v[0] == 0x408f276du);
  CHECK(ones.v[1] == 0x41c83b0eu);
  CHECK(ones.v[2] == 0xa20bc7c6u);
  CHECK(ones.v[3] == 0x6d5451fdu);
}

TEST_CASE("Random streams are reproducible, distinct per stream and step, and uniform", "[core][rng]") {
  const RandomStream a{42, 1, 0}, b{42, 2, 0}, c{42, 1, 1};
  int same_ab = 0, same_ac = 0;
  double sum = 0;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    const float u = a.uniform(i);
    REQUIRE(u >= 0.0f);
    REQUIRE(u < 1.0f);
    CHECK(u == RandomStream{42, 1, 0}.uniform(i));
    same_ab += u == b.uniform(i);
    same_ac += u == c.uniform(i);
    sum += u;
  }
  CHECK(same_ab < 5);
  CHECK(same_ac < 5);
  CHECK(sum / n == Approx(0.5).margin(0.01));
}

TEST_CASE("Tensor copies deeply, moves cheaply and checks its shape", "[core][tensor]") {
  Tensor<float> a(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<float> b = a;
  b[0] = 10;
  CHECK(a[0] == 1);
  CHECK(b.at(1, 2) == 6);
  const float* storage = b.data();
  Tensor<float> c = std::move(b);
  CHECK(c.data() == storage);
  CHECK(c.shape() == Shape({2, 3}));
  CHECK(reinterpret_cast<std::uintptr_t>(c.data()) % 64 == 0);

  c.reshape(Shape{3, 2});
  CHECK(c.shape() == Shape({3, 2}));
  CHECK_THROWS_AS(c.reshape(Shape{4, 2}), InvalidArgument);
  CHECK_THROWS_AS(Tensor<float>(Shape{2}, {1, 2, 3}), InvalidArgument);
  CHECK_THROWS_AS(Shape({2, -1}), InvalidArgument);

  Tensor<double> nchw = Tensor<double>::zeros(Shape{2, 3, 4, 5});
  nchw.at(1, 2, 3, 4) = 7;
  CHECK(nchw[nchw.numel() - 1] == 7);
  CHECK(nchw.shape().per_sample() == 60);
}

TEST_CASE("Tensors on a device need a CUDA build", "[core][tensor]") {
#if !MIEN_WITH_CUDA
  CHECK_THROWS_AS(Tensor<float>(Shape{4}, Device::cuda), DeviceError);
#endif
  CHECK(parse_device("cpu") == Device::cpu);
  CHECK_THROWS_AS(parse_device("tpu"), InvalidArgument);
}

TEST_CASE("Context hands out distinct stream ids and keys streams by step", "[core][context]") {
  Context ctx(7);
  const auto first = ctx.next_stream_id(), second = ctx.next_stream_id();
  CHECK(first != second);
  const RandomStream before = ctx.random_stream(first);
  ctx.advance_step();
  CHECK(ctx.random_stream(first).step == before.step + 1);
  CHECK(ctx.random_stream(first).seed == 7);
}
