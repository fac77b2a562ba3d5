// Dense and Flatten: hand-worked values, gradients, argument checks, and proof that the gradient checker
// catches a wrong backward.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "mien/layers/dense.hpp"
#include "mien/layers/flatten.hpp"
#include "mien/ops/dense.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;
using mien::testing::check_gradients;
using mien::testing::check_layer;
using mien::testing::random_tensor;

TEST_CASE("dense: y = x wᵀ + b and its gradients, worked by hand", "[dense][op]") {
  Context ctx;
  Tensor<double> x(Shape{2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor<double> w(Shape{2, 3}, {1, 0, -1, 0.5, 0.5, 0.5});
  Tensor<double> b(Shape{2}, {10, 20});
  Tensor<double> y;
  ops::dense_forward(ctx, x, w, b, y);
  // Row 0: (1 - 3) + 10 = 8,  (0.5 + 1 + 1.5) + 20 = 23;  row 1: (4 - 6) + 10 = 8,  7.5 + 20 = 27.5
  CHECK(y.to_vector() == std::vector<double>{8, 23, 8, 27.5});

  Tensor<double> dy(Shape{2, 2}, {1, 2, 3, 4}), dx, dw, db;
  ops::dense_backward(ctx, x, w, dy, dx, dw, db);
  // dx = dy w:   [1·1 + 2·0.5, 1·0 + 2·0.5, -1 + 1] = [2, 1, 0];  [3 + 2, 0 + 2, -3 + 2] = [5, 2, -1]
  // dw = dyᵀ x:  [1·1 + 3·4, 1·2 + 3·5, 1·3 + 3·6] = [13, 17, 21];  [2 + 16, 4 + 20, 6 + 24] = [18, 24, 30]
  // db = column sums of dy: [4, 6]
  CHECK(dx.to_vector() == std::vector<double>{2, 1, 0, 5, 2, -1});
  CHECK(dw.to_vector() == std::vector<double>{13, 17, 21, 18, 24, 30});
  CHECK(db.to_vector() == std::vector<double>{4, 6});
}

TEST_CASE("Dense gradients are correct", "[dense][layer][gradcheck]") {
  Context ctx(2);
  Dense<double> dense(ctx, 7, 5);
  dense.bias() = random_tensor(Shape{5}, 50);
  const auto result = check_layer(dense, ctx, random_tensor(Shape{4, 7}, 51));
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
  CHECK(result.checked == 4 * 7 + 5 * 7 + 5);
}

TEST_CASE("The gradient checker reports a wrong analytic gradient", "[dense][gradcheck]") {
  Context ctx(2);
  Dense<double> dense(ctx, 4, 3);
  Tensor<double> x = random_tensor(Shape{2, 4}, 60);
  const Tensor<double> r = random_tensor(Shape{2, 3}, 61);
  dense.forward(ctx, x, Mode::train);
  Tensor<double> dx = dense.backward(ctx, r);
  auto loss = [&] { return mien::testing::dot(dense.forward(ctx, x, Mode::train), r); };
  REQUIRE(check_gradients(loss, {{"input", &x, &dx}}).ok);
  dx[5] *= 1.001;  // a 0.1% error in one element
  const auto result = check_gradients(loss, {{"input", &x, &dx}});
  INFO(result.summary());
  CHECK_FALSE(result.ok);
  CHECK(result.worst.rfind("input[5]", 0) == 0);
}

TEST_CASE("Dense initializes Glorot-uniform weights and counts its MACs", "[dense][layer]") {
  Context ctx(1);
  Dense<float> dense(ctx, 30, 10);
  REQUIRE(dense.weight().shape() == Shape({10, 30}));
  const double limit = std::sqrt(6.0 / 40);
  for (float v : dense.weight()) CHECK(std::abs(v) <= limit);
  for (float v : dense.bias()) CHECK(v == 0);
  CHECK(dense.macs(Shape{8, 30}) == 8 * 30 * 10);
  CHECK(dense.output_shape(Shape{8, 30}) == Shape({8, 10}));
}

TEST_CASE("Dense rejects bad arguments", "[dense][errors]") {
  Context ctx;
  Tensor<float> y, dx, dw, db;
  const Tensor<float> w(Shape{2, 3}), b(Shape{2});
  CHECK_THROWS_AS(ops::dense_forward(ctx, Tensor<float>(Shape{4, 4}), w, b, y), InvalidArgument);
  CHECK_THROWS_AS(ops::dense_forward(ctx, Tensor<float>(Shape{4, 3, 1, 1}), w, b, y), InvalidArgument);
  CHECK_THROWS_AS(ops::dense_forward(ctx, Tensor<float>(Shape{4, 3}), w, Tensor<float>(Shape{3}), y),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::dense_backward(ctx, Tensor<float>(Shape{4, 3}), w, Tensor<float>(Shape{4, 3}), dx, dw, db),
                  InvalidArgument);
  CHECK_THROWS_AS(Dense<float>(ctx, 0, 3), InvalidArgument);
  Dense<float> dense(ctx, 3, 2);
  CHECK_THROWS_AS(dense.backward(ctx, Tensor<float>(Shape{1, 2})), InvalidArgument);
  CHECK_THROWS_AS(dense.output_shape(Shape{1, 4}), InvalidArgument);
}

TEST_CASE("Flatten reshapes NCHW to [N, C·H·W] and back", "[flatten][layer][gradcheck]") {
  Context ctx;
  Flatten<double> flatten;
  const Tensor<double> x = random_tensor(Shape{2, 3, 4, 5}, 70);
  const Tensor<double>& y = flatten.forward(ctx, x, Mode::train);
  REQUIRE(y.shape() == Shape({2, 60}));
  CHECK(y.to_vector() == x.to_vector());
  CHECK(flatten.output_shape(x.shape()) == Shape({2, 60}));
  const Tensor<double> dy = random_tensor(Shape{2, 60}, 71);
  const Tensor<double>& dx = flatten.backward(ctx, dy);
  CHECK(dx.shape() == x.shape());
  CHECK(dx.to_vector() == dy.to_vector());
  CHECK_THROWS_AS(flatten.backward(ctx, Tensor<double>(Shape{2, 59})), InvalidArgument);

  const auto result = check_layer(flatten, ctx, x);
  INFO(result.summary());
  REQUIRE(result.ok);
  CHECK(result.max_rel_error <= 1e-6);
}
