// The per-channel gating ops (channel_scale, gated_add) and the element-wise utilities (add, fill,
// count_nonfinite): hand-computed values, float/double agreement and argument errors.
#include <algorithm>
#include <catch2/catch.hpp>
#include <limits>

#include "mien/ops/elementwise.hpp"
#include "mien/ops/gating.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

TEST_CASE("channel_scale multiplies each plane by its sample's channel weight", "[gating]") {
  Context ctx;
  // x [2, 2, 1, 2]; s = [[2, -1], [0.5, 3]].
  const Tensor<double> x(Shape{2, 2, 1, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
  const Tensor<double> s(Shape{2, 2}, {2, -1, 0.5, 3});
  Tensor<double> y, dx, ds;
  ops::channel_scale_forward(ctx, x, s, y);
  CHECK(y.to_vector() == std::vector<double>{2, 4, -3, -4, 2.5, 3, 21, 24});
  // dy = 1 everywhere: dx = s per plane, ds = the plane sums of x.
  ops::channel_scale_backward(ctx, x, s, Tensor<double>::filled(x.shape(), 1.0), dx, ds);
  CHECK(dx.to_vector() == std::vector<double>{2, 2, -1, -1, 0.5, 0.5, 3, 3});
  CHECK(ds.to_vector() == std::vector<double>{3, 7, 11, 15});
}

TEST_CASE("gated_add adds the gated skip to the main path", "[gating]") {
  Context ctx;
  const Tensor<float> main(Shape{1, 2, 2, 1}, {1, 1, 1, 1});
  const Tensor<float> skip(Shape{1, 2, 2, 1}, {2, 3, 4, 5});
  const Tensor<float> gate(Shape{1, 2}, {0.5f, -2});
  Tensor<float> y, dskip, dgate;
  ops::gated_add_forward(ctx, main, skip, gate, y);
  CHECK(y.to_vector() == std::vector<float>{2, 2.5f, -7, -9});
  const Tensor<float> dy(Shape{1, 2, 2, 1}, {1, 2, 3, 4});
  ops::gated_add_backward(ctx, skip, gate, dy, dskip, dgate);
  CHECK(dskip.to_vector() == std::vector<float>{0.5f, 1, -6, -8});
  CHECK(dgate.to_vector() == std::vector<float>{2 + 6, 12 + 20});
}

TEST_CASE("Gating ops agree in float and double on larger maps", "[gating]") {
  Context ctx;
  const Tensor<double> x = testing::random_tensor(Shape{3, 5, 17, 19}, 1), s = testing::random_tensor(Shape{3, 5}, 2);
  const Tensor<double> dy = testing::random_tensor(x.shape(), 3);
  auto to_float = [](const Tensor<double>& t) {
    Tensor<float> f(t.shape());
    for (std::size_t i = 0; i < t.numel(); ++i) f[i] = static_cast<float>(t[i]);
    return f;
  };
  Tensor<double> dx, ds;
  Tensor<float> dxf, dsf;
  ops::channel_scale_backward(ctx, x, s, dy, dx, ds);
  ops::channel_scale_backward(ctx, to_float(x), to_float(s), to_float(dy), dxf, dsf);
  for (std::size_t i = 0; i < ds.numel(); ++i) CHECK(dsf[i] == Approx(ds[i]).margin(1e-4));
  for (std::size_t i = 0; i < dx.numel(); i += 97) CHECK(dxf[i] == Approx(dx[i]).margin(1e-6));
}

TEST_CASE("Gating ops reject gates that do not match the map", "[gating][errors]") {
  Context ctx;
  const Tensor<float> x(Shape{2, 3, 4, 4});
  Tensor<float> y, d1, d2;
  CHECK_THROWS_AS(ops::channel_scale_forward(ctx, x, Tensor<float>(Shape{2, 4}), y), InvalidArgument);
  CHECK_THROWS_AS(ops::channel_scale_forward(ctx, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{2, 3}), y),
                  InvalidArgument);
  CHECK_THROWS_AS(
      ops::channel_scale_backward(ctx, x, Tensor<float>(Shape{2, 3}), Tensor<float>(Shape{2, 3, 4, 5}), d1, d2),
      InvalidArgument);
  CHECK_THROWS_AS(ops::gated_add_forward(ctx, Tensor<float>(Shape{2, 3, 4, 5}), x, Tensor<float>(Shape{2, 3}), y),
                  InvalidArgument);
  CHECK_THROWS_AS(ops::gated_add_backward(ctx, x, Tensor<float>(Shape{3, 2}), x, d1, d2), InvalidArgument);
}

TEST_CASE("add, fill and count_nonfinite", "[elementwise]") {
  Context ctx;
  const Tensor<double> a = testing::random_tensor(Shape{70000}, 4), b = testing::random_tensor(Shape{70000}, 5);
  Tensor<double> y;
  ops::add(ctx, a, b, y);
  std::size_t wrong = 0;
  for (std::size_t i = 0; i < y.numel(); ++i) wrong += y[i] != a[i] + b[i];
  CHECK(wrong == 0);
  CHECK_THROWS_AS(ops::add(ctx, a, Tensor<double>(Shape{70001}), y), InvalidArgument);

  Tensor<float> x(Shape{3, 50000});
  ops::fill(ctx, x, 2.5f);
  CHECK(std::count(x.begin(), x.end(), 2.5f) == 150000);
  CHECK(ops::count_nonfinite(ctx, x) == 0);
  x[7] = std::numeric_limits<float>::quiet_NaN();
  x[123456] = std::numeric_limits<float>::infinity();
  x[149999] = -std::numeric_limits<float>::infinity();
  CHECK(ops::count_nonfinite(ctx, x) == 3);
}
