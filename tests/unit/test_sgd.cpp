// SGD with momentum: steps worked out by hand (plain, momentum, Nesterov, time-based decay, decoupled weight
// decay), the op against a double reference, convergence, the factory and its errors, and exact resumption of
// SGD and Adam from type(), options_json(), iterations() and state().
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "mien/ops/dense.hpp"
#include "mien/ops/loss.hpp"
#include "mien/ops/sgd.hpp"
#include "mien/optim/make_optimizer.hpp"

using namespace mien;

namespace {

// Two steps of lr 0.1 on p = (1, -2) with the gradients (0.5, -0.1) and (-0.2, 0.3).
struct TwoSteps {
  Tensor<double> p0, p1;  // the parameter after each step
  Tensor<double> velocity;
};

TwoSteps two_steps(const SgdOptions& options) {
  Context ctx;
  Tensor<double> p(Shape{2}, {1.0, -2.0}), g(Shape{2});
  Sgd<double> sgd(options);
  const std::vector<ParamRef<double>> params{{"w", &p, &g}};
  TwoSteps out;
  g = Tensor<double>(Shape{2}, {0.5, -0.1});
  sgd.step(ctx, params);
  out.p0 = p;
  g = Tensor<double>(Shape{2}, {-0.2, 0.3});
  sgd.step(ctx, params);
  out.p1 = p;
  out.velocity = *sgd.state().at(0).value;
  return out;
}

SgdOptions sgd_options(double momentum, bool nesterov, double decay = 0) {
  SgdOptions o;
  o.lr = 0.1;
  o.momentum = momentum;
  o.nesterov = nesterov;
  o.decay = decay;
  return o;
}

}  // namespace

TEST_CASE("Plain SGD steps by -lr g", "[sgd]") {
  // momentum 0: v = g, p = p - 0.1 g. Step 1: (1 - 0.05, -2 + 0.01); step 2: (0.95 + 0.02, -1.99 - 0.03).
  // Nesterov's form gives the same, since g + 0 v = g.
  for (const bool nesterov : {false, true}) {
    const TwoSteps s = two_steps(sgd_options(0, nesterov));
    CHECK(s.p0[0] == Approx(0.95).epsilon(1e-12));
    CHECK(s.p0[1] == Approx(-1.99).epsilon(1e-12));
    CHECK(s.p1[0] == Approx(0.97).epsilon(1e-12));
    CHECK(s.p1[1] == Approx(-2.02).epsilon(1e-12));
  }
}

TEST_CASE("SGD with classical momentum steps by -lr v", "[sgd]") {
  // Step 1: v = g = (0.5, -0.1), p = (0.95, -1.99).
  // Step 2: v = 0.9 (0.5, -0.1) + (-0.2, 0.3) = (0.25, 0.21), p = (0.95 - 0.025, -1.99 - 0.021) = (0.925, -2.011).
  const TwoSteps s = two_steps(sgd_options(0.9, false));
  CHECK(s.p0[0] == Approx(0.95).epsilon(1e-12));
  CHECK(s.p0[1] == Approx(-1.99).epsilon(1e-12));
  CHECK(s.p1[0] == Approx(0.925).epsilon(1e-12));
  CHECK(s.p1[1] == Approx(-2.011).epsilon(1e-12));
  CHECK(s.velocity[0] == Approx(0.25).epsilon(1e-12));
  CHECK(s.velocity[1] == Approx(0.21).epsilon(1e-12));
}

TEST_CASE("SGD with Nesterov momentum steps by -lr (g + momentum v)", "[sgd]") {
  // Step 1: v = (0.5, -0.1), update = g + 0.9 v = (0.95, -0.19), p = (0.905, -1.981).
  // Step 2: v = (0.25, 0.21), update = (-0.2 + 0.225, 0.3 + 0.189) = (0.025, 0.489),
  //         p = (0.905 - 0.0025, -1.981 - 0.0489) = (0.9025, -2.0299).
  const TwoSteps s = two_steps(sgd_options(0.9, true));
  CHECK(s.p0[0] == Approx(0.905).epsilon(1e-12));
  CHECK(s.p0[1] == Approx(-1.981).epsilon(1e-12));
  CHECK(s.p1[0] == Approx(0.9025).epsilon(1e-12));
  CHECK(s.p1[1] == Approx(-2.0299).epsilon(1e-12));
  CHECK(s.velocity[0] == Approx(0.25).epsilon(1e-12));

  // With time-based decay 0.5, step 2's rate is 0.1 / 1.5: p = (0.905 - 0.025 / 15, -1.981 - 0.489 / 15)
  // = (0.9033333333, -2.0136).
  const TwoSteps d = two_steps(sgd_options(0.9, true, 0.5));
  CHECK(d.p0[0] == Approx(0.905).epsilon(1e-12));
  CHECK(d.p1[0] == Approx(0.9033333333333333).epsilon(1e-12));
  CHECK(d.p1[1] == Approx(-2.0136).epsilon(1e-12));
}

TEST_CASE("SGD's decoupled weight decay shrinks weights and filters by 1 - lr * weight_decay, not biases", "[sgd]") {
  Context ctx;
  Tensor<double> w(Shape{2, 2}, {1.0, -2.0, 0.5, 4.0}), b(Shape{2}, {1.0, -1.0});
  Tensor<double> gw = Tensor<double>::zeros(w.shape()), gb = Tensor<double>::zeros(b.shape());
  SgdOptions o = sgd_options(0.9, true, 0.5);
  o.weight_decay = 0.2;
  Sgd<double> sgd(o);
  const std::vector<ParamRef<double>> params{{"w", &w, &gw}, {"b", &b, &gb}};
  // Zero gradients: the velocity stays 0, so only the decay moves the weights, with step 2's decayed rate.
  sgd.step(ctx, params);
  sgd.step(ctx, params);
  const double shrink = (1 - 0.1 * 0.2) * (1 - 0.1 / 1.5 * 0.2);
  CHECK(w[0] == Approx(1.0 * shrink).epsilon(1e-12));
  CHECK(w[3] == Approx(4.0 * shrink).epsilon(1e-12));
  CHECK(b[0] == 1.0);
  CHECK(b[1] == -1.0);

  // With a gradient, the decay is not part of it (nor of the velocity): the step is the one without decay minus
  // lr · weight_decay · p.
  Tensor<double> plain(Shape{2, 2}, {1.0, -2.0, 0.5, 4.0}), decayed = plain;
  const Tensor<double> before = plain;
  Tensor<double> g(Shape{2, 2}, {0.5, -0.1, 0.2, 0.3});
  Sgd<double> without(sgd_options(0.9, true));
  SgdOptions with_decay = sgd_options(0.9, true);
  with_decay.weight_decay = 0.2;
  Sgd<double> with(with_decay);
  without.step(ctx, {{"w", &plain, &g}});
  with.step(ctx, {{"w", &decayed, &g}});
  for (std::size_t i = 0; i < 4; ++i) CHECK(decayed[i] == Approx(plain[i] - 0.1 * 0.2 * before[i]).epsilon(1e-12));
  CHECK((*with.state()[0].value)[0] == (*without.state()[0].value)[0]);
}

TEST_CASE("sgd_update matches a scalar double reference on odd and vector-sized tensors", "[sgd]") {
  Context ctx;
  for (const std::int64_t count : {std::int64_t{1}, std::int64_t{7}, std::int64_t{4096}, std::int64_t{100003}}) {
    for (const bool nesterov : {false, true}) {
      Tensor<float> p(Shape{count}), v(Shape{count}), g(Shape{count});
      std::vector<double> p_ref(count), v_ref(count);
      for (std::int64_t i = 0; i < count; ++i) {
        p[i] = static_cast<float>(((i * 37) % 101) / 50.0 - 1.0);
        v[i] = static_cast<float>(((i * 53) % 97) / 97.0 - 0.5);
        p_ref[i] = p[i];
        v_ref[i] = v[i];
      }
      for (int step = 0; step < 3; ++step) {
        const ops::SgdStep<float> s{0.01f * (step + 1), 0.9f, nesterov, step == 1 ? 0.998f : 1.0f};
        for (std::int64_t i = 0; i < count; ++i) g[i] = static_cast<float>(((i * 29 + step * 11) % 89) / 44.5 - 1.0);
        ops::sgd_update(ctx, p, g, v, s);
        for (std::int64_t i = 0; i < count; ++i) {
          const double gi = g[i], lr = s.lr, momentum = s.momentum;
          v_ref[i] = momentum * v_ref[i] + gi;
          p_ref[i] = static_cast<double>(s.shrink) * p_ref[i] - lr * (nesterov ? gi + momentum * v_ref[i] : v_ref[i]);
        }
      }
      for (std::int64_t i = 0; i < count; ++i) {
        REQUIRE(p[i] == Approx(p_ref[i]).margin(1e-5));
        REQUIRE(v[i] == Approx(v_ref[i]).margin(1e-5));
      }
    }
  }
}

TEST_CASE("sgd_update refuses mismatched shapes and devices", "[sgd][errors]") {
  Context ctx;
  Tensor<float> p = Tensor<float>::zeros(Shape{2, 3}), g = Tensor<float>::zeros(Shape{2, 3}),
                v = Tensor<float>::zeros(Shape{2, 3}), other = Tensor<float>::zeros(Shape{6});
  const ops::SgdStep<float> s{0.1f, 0.9f};
  CHECK_THROWS_WITH(ops::sgd_update(ctx, p, other, v, s), Catch::Contains("gradient [6] does not match parameter"));
  CHECK_THROWS_WITH(ops::sgd_update(ctx, p, g, other, s), Catch::Contains("velocity [6] does not match parameter"));
  CHECK_NOTHROW(ops::sgd_update(ctx, p, g, v, s));
}

TEST_CASE("SGD lowers the loss of a quadratic, faster with momentum", "[sgd]") {
  // f(w) = sum_i a_i (w_i - t_i)² / 2 with curvatures a from 1 to 100. Stability bounds lr by the steepest
  // direction (plain SGD: lr < 2 / 100; Nesterov momentum 0.9: lr < 2 (1 + 0.9) / (1 + 1.8) / 100, about 0.0136,
  // so it diverges at 0.015), and at that lr plain SGD crawls along the flat directions; momentum does not.
  const auto loss_after = [](const SgdOptions& options, int steps) {
    Context ctx;
    Tensor<float> w = Tensor<float>::zeros(Shape{2, 4}), grad(Shape{2, 4});
    const float a[8] = {1, 2, 5, 10, 20, 50, 80, 100}, t[8] = {1, -2, 3, 0.5f, -0.25f, 4, -1, 2};
    Sgd<float> sgd(options);
    double loss = 0;
    for (int step = 0; step <= steps; ++step) {
      loss = 0;
      for (int i = 0; i < 8; ++i) {
        grad[i] = a[i] * (w[i] - t[i]);
        loss += 0.5 * a[i] * (w[i] - t[i]) * (w[i] - t[i]);
      }
      if (step < steps) sgd.step(ctx, {{"w", &w, &grad}});
    }
    return loss;
  };
  SgdOptions plain;
  plain.lr = 0.01;
  plain.momentum = 0;
  SgdOptions nesterov = plain;
  nesterov.momentum = 0.9;
  const double start = loss_after(plain, 0);
  const double plain_loss = loss_after(plain, 100), nesterov_loss = loss_after(nesterov, 100);
  CHECK(plain_loss < start);
  CHECK(nesterov_loss < 1e-3 * start);
  CHECK(nesterov_loss < plain_loss);
  nesterov.nesterov = false;
  CHECK(loss_after(nesterov, 100) < 1e-2 * start);
}

TEST_CASE("SGD trains a tiny softmax classifier (dense layer + cross-entropy)", "[sgd]") {
  // Two separable classes in 3 features: x_0 > 0 is class 1. The loss after 50 steps is far below log 2.
  Context ctx;
  const std::int64_t n = 16;
  Tensor<float> x(Shape{n, 3});
  Tensor<std::int32_t> labels(Shape{n});
  for (std::int64_t i = 0; i < n; ++i) {
    x[i * 3] = (i % 2 ? 1.0f : -1.0f) * (0.5f + 0.1f * static_cast<float>(i % 5));
    x[i * 3 + 1] = 0.3f * static_cast<float>(i % 3) - 0.3f;
    x[i * 3 + 2] = 0.2f * static_cast<float>(i % 4) - 0.3f;
    labels[i] = i % 2;
  }
  Tensor<float> w = Tensor<float>::zeros(Shape{2, 3}), b = Tensor<float>::zeros(Shape{2});
  Tensor<float> y, probs, dy, dx, dw, db;
  const Tensor<float> no_weights;
  SgdOptions o;
  o.lr = 0.5;
  o.weight_decay = 1e-3;
  Sgd<float> sgd(o);
  float first = 0, last = 0;
  for (int step = 0; step < 50; ++step) {
    ops::dense_forward(ctx, x, w, b, y);
    last = ops::softmax_cross_entropy_forward(ctx, y, labels, no_weights, 0.0f, probs);
    if (step == 0) first = last;
    ops::softmax_cross_entropy_backward(ctx, probs, labels, no_weights, 0.0f, dy);
    ops::dense_backward(ctx, x, w, dy, dx, dw, db);
    sgd.step(ctx, {{"dense.w", &w, &dw}, {"dense.b", &b, &db}});
  }
  CHECK(first == Approx(std::log(2.0f)));
  CHECK(last < 0.05f);
  const auto state = sgd.state();
  REQUIRE(state.size() == 2);
  CHECK(state[0].name == "dense.w.velocity");
  CHECK(state[1].name == "dense.b.velocity");
}

TEST_CASE("SGD state is keyed by parameter name and refuses a changed parameter set", "[sgd][errors]") {
  Context ctx;
  Tensor<double> a = Tensor<double>::zeros(Shape{3}), ga = Tensor<double>::filled(Shape{3}, 1.0);
  Tensor<double> b = Tensor<double>::zeros(Shape{2, 2}), gb = Tensor<double>::filled(Shape{2, 2}, -1.0);
  Sgd<double> sgd;
  CHECK(sgd.state().empty());
  sgd.step(ctx, {{"a", &a, &ga}, {"b", &b, &gb}});
  sgd.step(ctx, {{"b", &b, &gb}, {"a", &a, &ga}});  // the order does not matter, the names do
  CHECK(sgd.iterations() == 2);
  CHECK(a[0] < 0);
  CHECK(b[0] > 0);
  CHECK(sgd.state().size() == 2);
  CHECK_THROWS_AS(sgd.step(ctx, {{"a", &a, &ga}}), InvalidArgument);
  CHECK_THROWS_AS(sgd.step(ctx, {{"a", &a, &ga}, {"c", &b, &gb}}), InvalidArgument);
  CHECK_THROWS_AS(sgd.step(ctx, {{"a", &a, &ga}, {"a", &a, &ga}}), InvalidArgument);
  CHECK_THROWS_AS(sgd.step(ctx, {{"a", &b, &gb}, {"b", &a, &ga}}), InvalidArgument);
  Tensor<double> wrong_grad(Shape{4});
  const double a0 = a[0];
  CHECK_THROWS_WITH(sgd.step(ctx, {{"a", &a, &ga}, {"b", &b, &wrong_grad}}),
                    Catch::Contains("Sgd: parameter 'b' [2, 2]") && Catch::Contains("has a gradient [4]"));
  CHECK(a[0] == a0);  // nothing was updated
  CHECK(sgd.iterations() == 2);

  Sgd<double> fresh;
  CHECK_THROWS_WITH(fresh.step(ctx, {{"a", &a, &ga}, {"a", &b, &gb}}),
                    Catch::Contains("parameter name 'a' appears twice"));
  fresh.allocate_state({{"a", &a, &ga}, {"b", &b, &gb}});
  CHECK(fresh.state().size() == 2);
  CHECK(fresh.iterations() == 0);
}

TEST_CASE("SGD refuses bad options", "[sgd][errors]") {
  const SgdOptions defaults;
  CHECK(defaults.lr == 0.01);
  CHECK(defaults.momentum == 0.9);
  CHECK(defaults.decay == 0);
  CHECK(defaults.weight_decay == 0);
  CHECK(defaults.nesterov);
  const auto with = [](auto change) {
    SgdOptions o;
    change(o);
    return o;
  };
  CHECK_THROWS_WITH(Sgd<float>(with([](SgdOptions& o) { o.lr = 0; })),
                    Catch::Contains("learning rate must be positive"));
  CHECK_THROWS_WITH(Sgd<float>(with([](SgdOptions& o) { o.momentum = 1; })), Catch::Contains("momentum must be in"));
  CHECK_THROWS_AS(Sgd<float>(with([](SgdOptions& o) { o.momentum = -0.1; })), InvalidArgument);
  CHECK_THROWS_WITH(Sgd<float>(with([](SgdOptions& o) { o.decay = -1; })), Catch::Contains("decay must not be"));
  CHECK_THROWS_AS(Sgd<float>(with([](SgdOptions& o) { o.weight_decay = -1; })), InvalidArgument);
  CHECK_THROWS_AS(Sgd<float>(with([](SgdOptions& o) { o.weight_decay = 100; })), InvalidArgument);  // lr wd = 1
  CHECK_NOTHROW(Sgd<float>(with([](SgdOptions& o) { o.momentum = 0; })));  // plain SGD, Nesterov or not

  SgdOptions decaying;
  decaying.weight_decay = 10;
  Sgd<float> sgd(decaying);
  CHECK_THROWS_AS(sgd.set_learning_rate(0.1), InvalidArgument);  // 0.1 * 10 = 1: weights would be zeroed
  CHECK_THROWS_AS(sgd.set_learning_rate(-1), InvalidArgument);
  CHECK_THROWS_AS(sgd.set_iterations(-1), InvalidArgument);
  sgd.set_learning_rate(0.05);
  CHECK(sgd.base_learning_rate() == 0.05);
  sgd.set_iterations(4);
  CHECK(sgd.current_lr() == 0.05);  // no decay by default
}

TEST_CASE("The optimizer factory builds either optimizer and lists the valid names", "[sgd][adam][errors]") {
  CHECK(parse_optimizer_kind("adam") == OptimizerKind::adam);
  CHECK(parse_optimizer_kind("sgd") == OptimizerKind::sgd);
  CHECK(std::string(to_string(OptimizerKind::sgd)) == "sgd");
  CHECK_THROWS_AS(parse_optimizer_kind("adm"), InvalidArgument);
  CHECK_THROWS_WITH(parse_optimizer_kind("adm"), Catch::Contains("unknown optimizer 'adm'; valid: adam, sgd"));
  CHECK_THROWS_WITH(parse_optimizer_kind("SGD"), Catch::Contains("valid: adam, sgd"));

  OptimizerSettings settings;
  CHECK(settings.lr == 1e-4);
  CHECK(settings.decay == 1e-6);
  CHECK(settings.momentum == 0.9);
  CHECK(settings.nesterov);
  settings.lr = 0.02;
  settings.weight_decay = 5e-4;
  settings.momentum = 0.8;
  settings.nesterov = false;
  const std::unique_ptr<Optimizer<float>> sgd = make_optimizer<float>(OptimizerKind::sgd, settings);
  CHECK(sgd->type() == "sgd");
  CHECK(sgd->base_learning_rate() == 0.02);
  const nlohmann::json sgd_options = sgd->options_json();
  CHECK(sgd_options.at("momentum").get<double>() == 0.8);
  CHECK(sgd_options.at("nesterov").get<bool>() == false);
  CHECK(sgd_options.at("decay").get<double>() == 1e-6);
  CHECK(sgd_options.at("weight_decay").get<double>() == 5e-4);

  const std::unique_ptr<Optimizer<float>> adam = make_optimizer<float>(OptimizerKind::adam, settings);
  CHECK(adam->type() == "adam");
  const nlohmann::json adam_options = adam->options_json();
  CHECK(adam_options.at("lr").get<double>() == 0.02);
  CHECK(adam_options.at("beta1").get<double>() == 0.9);  // Adam's defaults
  CHECK(adam_options.at("beta2").get<double>() == 0.999);
  CHECK(adam_options.at("eps").get<double>() == 1e-7);
  CHECK(adam_options.at("weight_decay").get<double>() == 5e-4);
  CHECK_FALSE(adam_options.contains("momentum"));

  settings.momentum = 1.5;
  CHECK_THROWS_WITH(make_optimizer<float>(OptimizerKind::sgd, settings), Catch::Contains("momentum must be in"));
  CHECK_NOTHROW(make_optimizer<float>(OptimizerKind::adam, settings));  // Adam has no momentum option

  CHECK_THROWS_WITH(optimizer_from_json<float>("rmsprop", nlohmann::json::object()),
                    Catch::Contains("unknown optimizer 'rmsprop'; valid: adam, sgd"));
  CHECK_THROWS_WITH(optimizer_from_json<float>("sgd", {{"lr", 0.1}, {"momentun", 0.5}}),
                    Catch::Contains("unknown sgd option 'momentun'; valid: lr, momentum, decay, weight_decay, nesterov"));
  CHECK_THROWS_WITH(optimizer_from_json<float>("adam", {{"beta1", "high"}}),
                    Catch::Contains("adam option 'beta1' must be a number"));
  CHECK_THROWS_WITH(optimizer_from_json<float>("sgd", {{"nesterov", 1}}),
                    Catch::Contains("sgd option 'nesterov' must be true or false"));
  CHECK_THROWS_AS(optimizer_from_json<float>("sgd", nlohmann::json::array()), InvalidArgument);
  CHECK_THROWS_AS(optimizer_from_json<float>("sgd", {{"lr", -1.0}}), InvalidArgument);  // the constructor's checks
  // Missing options take the defaults (a checkpoint from before an option existed).
  CHECK(optimizer_from_json<float>("sgd", {{"lr", 0.3}})->options_json() ==
        Sgd<float>(SgdOptions{0.3}).options_json());
}

namespace {

// Parameters of a small network (a weight matrix, a filter bank and a bias) and gradients that depend on them,
// so that a run's result depends on every step's state.
struct Problem {
  Tensor<float> w = Tensor<float>::zeros(Shape{3, 5}), f = Tensor<float>::zeros(Shape{2, 1, 3, 3}),
                b = Tensor<float>::zeros(Shape{5});
  Tensor<float> gw{Shape{3, 5}}, gf{Shape{2, 1, 3, 3}}, gb{Shape{5}};

  Problem() {
    for (std::size_t i = 0; i < w.numel(); ++i) w[i] = 0.1f * static_cast<float>(i % 7) - 0.3f;
    for (std::size_t i = 0; i < f.numel(); ++i) f[i] = 0.05f * static_cast<float>(i % 5) - 0.1f;
  }

  std::vector<ParamRef<float>> params() { return {{"w", &w, &gw}, {"conv.f", &f, &gf}, {"b", &b, &gb}}; }

  // The gradient of sum (p - target)² + sin terms, with a step-dependent term like a minibatch's noise.
  void gradients(int step) {
    const auto fill = [step](const Tensor<float>& p, Tensor<float>& g, float target) {
      for (std::size_t i = 0; i < p.numel(); ++i)
        g[i] = 2 * (p[i] - target) + std::sin(3 * p[i] + static_cast<float>(step * 7 + i)) * 0.5f;
    };
    fill(w, gw, 1.0f);
    fill(f, gf, -0.5f);
    fill(b, gb, 0.25f);
  }
};

// N steps in one run, or k steps, then a new optimizer rebuilt from type() and options_json() with the state and
// iterations copied over, then the remaining N - k: the parameters must be the same bits.
void check_exact_resume(Optimizer<float>& uninterrupted, Optimizer<float>& first_half, int steps, int split) {
  Context ctx;
  Problem a, b;
  for (int step = 0; step < steps; ++step) {
    if (step == split / 2) {  // a schedule's change of lr0 before the split must carry over too
      uninterrupted.set_learning_rate(uninterrupted.base_learning_rate() * 0.5);
      first_half.set_learning_rate(first_half.base_learning_rate() * 0.5);
    }
    a.gradients(step);
    uninterrupted.step(ctx, a.params());
    if (step < split) {
      b.gradients(step);
      first_half.step(ctx, b.params());
    }
  }
  const std::unique_ptr<Optimizer<float>> resumed =
      optimizer_from_json<float>(first_half.type(), nlohmann::json::parse(first_half.options_json().dump()));
  CHECK(resumed->type() == first_half.type());
  CHECK(resumed->options_json() == first_half.options_json());
  resumed->set_iterations(first_half.iterations());
  resumed->allocate_state(b.params());
  const std::vector<BufferRef<float>> saved = first_half.state(), restored = resumed->state();
  REQUIRE(saved.size() == restored.size());
  for (std::size_t i = 0; i < saved.size(); ++i) {
    REQUIRE(restored[i].name == saved[i].name);
    *restored[i].value = *saved[i].value;
  }
  CHECK(resumed->current_lr() == first_half.current_lr());
  for (int step = split; step < steps; ++step) {
    b.gradients(step);
    resumed->step(ctx, b.params());
  }
  CHECK(resumed->iterations() == uninterrupted.iterations());
  for (const auto& [x, y] : {std::pair{&a.w, &b.w}, std::pair{&a.f, &b.f}, std::pair{&a.b, &b.b}})
    for (std::size_t i = 0; i < x->numel(); ++i) REQUIRE((*x)[i] == (*y)[i]);
  const std::vector<BufferRef<float>> end_a = uninterrupted.state(), end_b = resumed->state();
  for (std::size_t i = 0; i < end_a.size(); ++i)
    for (std::size_t j = 0; j < end_a[i].value->numel(); ++j) REQUIRE((*end_a[i].value)[j] == (*end_b[i].value)[j]);
}

}  // namespace

TEST_CASE("SGD resumes exactly from type, options, iterations and state", "[sgd]") {
  for (const bool nesterov : {true, false}) {
    SgdOptions o;
    o.lr = 0.03;
    o.decay = 0.01;  // so that the restored iteration count matters
    o.weight_decay = 0.1;
    o.nesterov = nesterov;
    Sgd<float> uninterrupted(o), first_half(o);
    check_exact_resume(uninterrupted, first_half, 20, 7);
  }
}

TEST_CASE("Adam resumes exactly from type, options, iterations and state", "[sgd][adam]") {
  AdamOptions o;
  o.lr = 0.01;
  o.decay = 0.01;
  o.weight_decay = 0.1;
  Adam<float> uninterrupted(o), first_half(o);
  check_exact_resume(uninterrupted, first_half, 20, 7);
  const auto state = first_half.state();
  REQUIRE(state.size() == 6);
  CHECK(state[0].name == "w.m");
  CHECK(state[1].name == "w.v");
  CHECK(state[2].name == "conv.f.m");
}
