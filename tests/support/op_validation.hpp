#pragma once
// The table-driven argument checks (include/mien/testing/op_cases.hpp), for tests/unit (host tensors) and
// tests/cuda (device tensors): per case, every tensor argument with a wrong shape, every listed out-of-range
// scalar, wrong labels, and where device is the GPU, every argument left on the host, must throw InvalidArgument
// (from ops::, before any backend runs); the unchanged arguments must not throw.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>

#include "mien/testing/op_cases.hpp"

namespace mien::testing {

inline void check_op_case_rejects_bad_arguments(const OpCase& c, Device device) {
  // The case's arguments on `device`, after its preparation (so that the change below is the only one).
  const auto base = [&] {
    OpArgs<float> a = convert_args<float>(host_args(c, ShapeSet::small), device);
    Context ctx;
    if (c.prepare_float) c.prepare_float(ctx, a);
    return a;
  };
  Context ctx;
  {
    INFO(c.title() << ": the arguments as written");
    OpArgs<float> a = base();
    REQUIRE_NOTHROW(c.call_float(ctx, a));
  }
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    const TensorArg& arg = c.inputs[i];
    if (!arg.wrong) continue;
    const Shape wrong = resolve(*arg.wrong, {});
    INFO(c.title() << ": " << arg.name << " of shape " << wrong);
    OpArgs<float> a = base();
    a.in[i] = Tensor<float>::zeros(wrong, device);
    REQUIRE_THROWS_AS(c.call_float(ctx, a), InvalidArgument);
  }
  if (c.classes > 0) {
    INFO(c.title() << ": labels of the wrong length");
    OpArgs<float> a = base();
    a.labels = Tensor<std::int32_t>::zeros(Shape{c.labels_small + 1}, device);
    REQUIRE_THROWS_AS(c.call_float(ctx, a), InvalidArgument);
  }
  for (const auto& [index, value] : c.bad_scalars) {
    INFO(c.title() << ": scalar " << index << " = " << value);
    OpArgs<float> a = base();
    a.scalars[index] = value;
    REQUIRE_THROWS_AS(c.call_float(ctx, a), InvalidArgument);
  }
  if (device != Device::cuda) return;
  // Each argument alone on the host while the others are on the GPU. Empty tensors (no class weights) are on no
  // device in particular; a single tensor argument has nothing to disagree with.
  std::size_t placed = c.classes > 0 ? 1 : 0;
  for (const TensorArg& arg : c.inputs) placed += resolve(arg.small, {}).numel() > 0 ? 1 : 0;
  if (placed < 2) return;
  for (std::size_t i = 0; i < c.inputs.size(); ++i) {
    INFO(c.title() << ": " << c.inputs[i].name << " on the host");
    OpArgs<float> a = base();
    if (a.in[i].empty()) continue;
    a.in[i] = a.in[i].to(Device::cpu);
    REQUIRE_THROWS_AS(c.call_float(ctx, a), InvalidArgument);
  }
  if (c.classes > 0) {
    INFO(c.title() << ": labels on the host");
    OpArgs<float> a = base();
    a.labels = a.labels.to(Device::cpu);
    REQUIRE_THROWS_AS(c.call_float(ctx, a), InvalidArgument);
  }
}

}  // namespace mien::testing
