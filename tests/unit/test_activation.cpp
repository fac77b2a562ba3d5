// ReLU, tanh and softmax: hand-worked values, stability, gradients, argument checks.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "mien/layers/activation.hpp"
#include "mien/ops/activation.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;
using mien::testing::check_layer;
using mien::testing::random_tensor;

TEST_CASE("relu and tanh forward and backward on a few values", "[activation][op]") {
  Context ctx;
  Tensor<double> x(Shape{5}, {-2, -0.5, 0, 0.5, 2}), y, dx;
  const Tensor<double> dy(Shape{5}, {1, 2, 3, 4, 5});
  ops::relu_forward(ctx, x, y);
  CHECK(y.to_vector() == std::vector<double>{0, 0, 0, 0.5, 2});
  ops::relu_backward(ctx, y, dy, dx);
  CHECK(dx.to_vector() == std::vector<double>{0, 0, 0, 4, 5});  // the kink at 0 passes nothing

  ops::tanh_forward(ctx, x, y);
  for (std::size_t i = 0; i < 5; ++i) CHECK(y[i] == Approx(std::tanh(x[i])));
  ops::tanh_backward(ctx, y, dy, dx);
  for (std::size_t i = 0; i < 5; ++i) CHECK(dx[i] == Approx(dy[i] / (std::cosh(x[i]) * std::cosh(x[i]))));
}

TEST_CASE("Element-wise activations agree across thread blocks on large tensors", "[activation][op]") {
  Context ctx;
  const Tensor<double> xd = random_tensor(Shape{3, 5, 97, 101}, 80, 3.0);
  Tensor<float> x(xd.shape()), y;
  std::copy(xd.begin(), xd.end(), x.begin());
  ops::relu_forward(ctx, x, y);
  bool relu_ok = true, tanh_ok = true;
  for (std::size_t i = 0; i < x.numel(); ++i) relu_ok = relu_ok && y[i] == std::max(x[i], 0.0f);
  CHECK(relu_ok);
  ops::tanh_forward(ctx, x, y);
  for (std::size_t i = 0; i < x.numel(); ++i) tanh_ok = tanh_ok && std::abs(y[i] - std::tanh(x[i])) < 1e-6f;
  CHECK(tanh_ok);
}

TEST_CASE("softmax of a row, worked by hand, and of huge scores", "[activation][op]") {
  Context ctx;
  // e¹ = 2.718281828, e² = 7.389056099, e³ = 20.085536923; sum = 30.192874850
  // -> 0.0900305732, 0.2447284711, 0.6652409558. A row of 1000s would overflow exp without the max shift.
  Tensor<double> x(Shape{2, 3}, {1, 2, 3, 1000, 1000, 1000}), y;
  ops::softmax_forward(ctx, x, y);
  CHECK(y[0] == Approx(0.0900305732).epsilon(1e-9));
  CHECK(y[1] == Approx(0.2447284711).epsilon(1e-9));
  CHECK(y[2] == Approx(0.6652409558).epsilon(1e-9));
  for (std::size_t i = 3; i < 6; ++i) CHECK(y[i] == Approx(1.0 / 3));

  Tensor<float> xf(Shape{1, 4}, {-1e4f, 88.0f, 89.0f, 0.0f}), yf;
  ops::softmax_forward(ctx, xf, yf);
  for (float v : yf) CHECK(std::isfinite(v));
  CHECK(yf[0] + yf[1] + yf[2] + yf[3] == Approx(1.0f));
}

TEST_CASE("Activation layer gradients are correct", "[activation][layer][gradcheck]") {
  Context ctx;
  ReLU<double> relu;
  Tanh<double> tanh_layer;
  Softmax<double> softmax;
  for (Layer<double>* layer : std::vector<Layer<double>*>{&relu, &tanh_layer}) {
    const auto result = check_layer(*layer, ctx, random_tensor(Shape{2, 3, 4, 5}, 90));
    INFO(layer->type() << ": " << result.summary());
    REQUIRE(result.ok);
    CHECK(result.max_rel_error <= 1e-6);
  }
  const auto result = check_layer(softmax, ctx, random_tensor(Shape{4, 7}, 91, 3.0));
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}

TEST_CASE("Activations reject bad arguments", "[activation][errors]") {
  Context ctx;
  Tensor<float> y, dx;
  CHECK_THROWS_AS(ops::softmax_forward(ctx, Tensor<float>(Shape{2, 3, 4}), y), InvalidArgument);
  CHECK_THROWS_AS(ops::relu_backward(ctx, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{3, 2}), dx),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::tanh_backward(ctx, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{6}), dx), InvalidArgument);
  CHECK_THROWS_AS(ops::softmax_backward(ctx, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{2, 4}), dx),
                  InvalidArgument);
  CHECK_THROWS_AS(Softmax<float>().output_shape(Shape{2, 3, 4, 5}), InvalidArgument);
}
