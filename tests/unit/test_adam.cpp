// Adam: two steps worked out by hand (decay and bias correction), the learning-rate schedule, convergence on a
// quadratic, the checkpoint state, and changed parameter sets.
#include <catch2/catch.hpp>
#include <cmath>

#include "mien/optim/adam.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

TEST_CASE("Adam takes Keras' legacy steps with decay and bias correction", "[adam]") {
  Context ctx;
  Tensor<double> p(Shape{2}, {1.0, -2.0}), g(Shape{2});
  Adam<double> adam(AdamOptions{0.1, 0.5, 0.9, 0.999, 1e-7});
  const std::vector<ParamRef<double>> params{{"w", &p, &g}};

  // Step 1 (iterations 0): lr = 0.1, t = 1, step_size = 0.1 * sqrt(1 - 0.999) / (1 - 0.9) = 0.0316227766.
  // g = (0.5, -0.1): m = 0.1 g = (0.05, -0.01), v = 0.001 g² = (2.5e-4, 1e-5), sqrt v = (0.0158113883, 0.0031622777)
  // p0 = 1 - 0.0316227766 * 0.05 / (0.0158113883 + 1e-7) = 0.9000006325
  // p1 = -2 - 0.0316227766 * (-0.01) / (0.0031622777 + 1e-7) = -1.9000031622
  g = Tensor<double>(Shape{2}, {0.5, -0.1});
  CHECK(adam.current_lr() == Approx(0.1));
  adam.step(ctx, params);
  CHECK(p[0] == Approx(0.9000006324515321).epsilon(1e-12));
  CHECK(p[1] == Approx(-1.9000031621776634).epsilon(1e-12));
  CHECK(adam.iterations() == 1);

  // Step 2 (iterations 1): lr = 0.1 / (1 + 0.5) = 0.0666667, t = 2,
  // step_size = 0.0666667 * sqrt(1 - 0.999²) / (1 - 0.9²) = 0.0156877817.
  // g = (-0.2, 0.3): m = 0.9 m + 0.1 g = (0.025, 0.021), v = 0.999 v + 0.001 g² = (2.8975e-4, 9.999e-5)
  // p0 = 0.9000006325 - 0.0156877817 * 0.025 / (sqrt(2.8975e-4) + 1e-7) = 0.8769603779
  // p1 = -1.9000031622 - 0.0156877817 * 0.021 / (sqrt(9.999e-5) + 1e-7) = -1.9329488216
  g = Tensor<double>(Shape{2}, {-0.2, 0.3});
  CHECK(adam.current_lr() == Approx(0.1 / 1.5).epsilon(1e-12));
  adam.step(ctx, params);
  CHECK(p[0] == Approx(0.8769603779460813).epsilon(1e-12));
  CHECK(p[1] == Approx(-1.9329488215910675).epsilon(1e-12));
  const auto state = adam.state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].name == "w.m");
  CHECK(state[1].name == "w.v");
  CHECK((*state[0].value)[1] == Approx(0.021).epsilon(1e-12));
  CHECK((*state[1].value)[0] == Approx(2.8975e-4).epsilon(1e-12));
}

TEST_CASE("Decoupled weight decay shrinks weights and filters by 1 - lr * weight_decay, not biases", "[adam]") {
  Context ctx;
  Tensor<double> w(Shape{2, 2}, {1.0, -2.0, 0.5, 4.0}), b(Shape{2}, {1.0, -1.0});
  Tensor<double> gw = Tensor<double>::zeros(w.shape()), gb = Tensor<double>::zeros(b.shape());
  AdamOptions o{0.1, 0.5, 0.9, 0.999, 1e-7};
  o.weight_decay = 0.2;
  Adam<double> adam(o);
  const std::vector<ParamRef<double>> params{{"w", &w, &gw}, {"b", &b, &gb}};
  // Zero gradients: the Adam term is 0 / (0 + eps) = 0, so only the decay moves the weights; step 2's rate is
  // decayed in time (0.1 / 1.5), and the shrink follows it.
  adam.step(ctx, params);
  adam.step(ctx, params);
  const double shrink = (1 - 0.1 * 0.2) * (1 - 0.1 / 1.5 * 0.2);
  CHECK(w[0] == Approx(1.0 * shrink).epsilon(1e-12));
  CHECK(w[3] == Approx(4.0 * shrink).epsilon(1e-12));
  CHECK(b[0] == 1.0);
  CHECK(b[1] == -1.0);

  // With a gradient, the decay comes first and the Adam step is the one without decay.
  Tensor<double> plain(Shape{2, 2}, {1.0, -2.0, 0.5, 4.0}), decayed = plain;
  Tensor<double> g(Shape{2, 2}, {0.5, -0.1, 0.2, 0.3});
  Adam<double> without(AdamOptions{0.1, 0, 0.9, 0.999, 1e-7});
  AdamOptions with_decay{0.1, 0, 0.9, 0.999, 1e-7};
  with_decay.weight_decay = 0.2;
  Adam<double> with(with_decay);
  without.step(ctx, {{"w", &plain, &g}});
  with.step(ctx, {{"w", &decayed, &g}});
  const Tensor<double> before(Shape{2, 2}, {1.0, -2.0, 0.5, 4.0});
  for (std::size_t i = 0; i < 4; ++i) CHECK(decayed[i] == Approx(plain[i] - 0.1 * 0.2 * before[i]).epsilon(1e-12));

  AdamOptions bad;
  bad.weight_decay = -1;
  CHECK_THROWS_AS(Adam<float>(bad), InvalidArgument);
}

TEST_CASE("Adam defaults are the paper's and Keras', and its schedule resumes", "[adam]") {
  const AdamOptions defaults;
  CHECK(defaults.lr == 1e-4);
  CHECK(defaults.decay == 1e-6);
  CHECK(defaults.beta1 == 0.9);
  CHECK(defaults.beta2 == 0.999);
  CHECK(defaults.eps == 1e-7);
  CHECK(defaults.weight_decay == 0);
  Adam<float> adam;
  adam.set_iterations(1000000);
  CHECK(adam.current_lr() == Approx(1e-4 / 2));
  CHECK_THROWS_AS(adam.set_iterations(-1), InvalidArgument);
  CHECK_THROWS_AS(Adam<float>(AdamOptions{-1.0}), InvalidArgument);
  CHECK_THROWS_AS(Adam<float>(AdamOptions{1e-3, 0, 1.0}), InvalidArgument);
}

TEST_CASE("Adam minimizes a quadratic", "[adam]") {
  Context ctx;
  const Tensor<float> target(Shape{2, 3}, {1, -2, 3, 0.5f, -0.25f, 4});
  Tensor<float> w = Tensor<float>::zeros(Shape{2, 3}), grad(Shape{2, 3}), b = Tensor<float>::zeros(Shape{1}),
                grad_b(Shape{1});
  Adam<float> adam(AdamOptions{0.05, 0.0});
  for (int step = 0; step < 2000; ++step) {
    for (std::size_t i = 0; i < w.numel(); ++i) grad[i] = 2 * (w[i] - target[i]);  // d/dw (w - target)²
    grad_b[0] = 2 * (b[0] - 7);
    adam.step(ctx, {{"w", &w, &grad}, {"b", &b, &grad_b}});
  }
  for (std::size_t i = 0; i < w.numel(); ++i) CHECK(w[i] == Approx(target[i]).margin(1e-3));
  CHECK(b[0] == Approx(7).margin(1e-3));
}

TEST_CASE("Adam state is keyed by parameter name and refuses a changed parameter set", "[adam][errors]") {
  Context ctx;
  Tensor<double> a = Tensor<double>::zeros(Shape{3}), ga = Tensor<double>::filled(Shape{3}, 1.0);
  Tensor<double> b = Tensor<double>::zeros(Shape{2, 2}), gb = Tensor<double>::filled(Shape{2, 2}, -1.0);
  Adam<double> adam;
  CHECK(adam.state().empty());
  adam.step(ctx, {{"a", &a, &ga}, {"b", &b, &gb}});
  // The order of the list does not matter, the names do.
  adam.step(ctx, {{"b", &b, &gb}, {"a", &a, &ga}});
  CHECK(adam.iterations() == 2);
  CHECK(a[0] < 0);
  CHECK(b[0] > 0);
  CHECK(adam.state().size() == 4);
  CHECK_THROWS_AS(adam.step(ctx, {{"a", &a, &ga}}), InvalidArgument);
  CHECK_THROWS_AS(adam.step(ctx, {{"a", &a, &ga}, {"c", &b, &gb}}), InvalidArgument);
  CHECK_THROWS_AS(adam.step(ctx, {{"a", &a, &ga}, {"a", &a, &ga}}), InvalidArgument);
  CHECK_THROWS_AS(adam.step(ctx, {{"a", &b, &gb}, {"b", &a, &ga}}), InvalidArgument);
  Tensor<double> wrong_grad(Shape{4});
  const double a0 = a[0];
  CHECK_THROWS_AS(adam.step(ctx, {{"a", &a, &ga}, {"b", &b, &wrong_grad}}), InvalidArgument);
  CHECK(a[0] == a0);  // nothing was updated
  CHECK(adam.iterations() == 2);

  Adam<double> fresh;
  CHECK_THROWS_AS(fresh.step(ctx, {{"a", &a, &ga}, {"a", &b, &gb}}), InvalidArgument);
  fresh.allocate_state({{"a", &a, &ga}, {"b", &b, &gb}});
  CHECK(fresh.state().size() == 4);
  CHECK(fresh.iterations() == 0);
}

TEST_CASE("Adam reports its type and options through the Optimizer interface", "[adam]") {
  AdamOptions o{0.02, 1e-3, 0.8, 0.99, 1e-8, 0.01};
  Adam<float> adam(o);
  Optimizer<float>& optimizer = adam;
  CHECK(optimizer.type() == "adam");
  CHECK(optimizer.base_learning_rate() == 0.02);
  const nlohmann::json options = optimizer.options_json();
  CHECK(options == nlohmann::json{{"lr", 0.02}, {"decay", 1e-3}, {"beta1", 0.8}, {"beta2", 0.99}, {"eps", 1e-8},
                                  {"weight_decay", 0.01}});
  optimizer.set_learning_rate(0.01);
  optimizer.set_iterations(1000);
  CHECK(adam.options().lr == 0.01);
  CHECK(optimizer.current_lr() == Approx(0.01 / 2));
}
