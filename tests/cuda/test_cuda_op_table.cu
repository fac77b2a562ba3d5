// The op table (mien/testing/op_cases.hpp) on the GPU: every case's device result against the CPU backend in
// double (or, where the case says, in float and bitwise), at the small shapes (odd extents: the scalar paths) and
// the paper network's (batch 2 at 48x48: the vectorized paths and tile edges); every argument check with device
// tensors; and the completeness check, that the table names every op the kernel headers register.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "../support/op_validation.hpp"
#include "mien/testing/op_cases.hpp"
#include "parity.hpp"

using namespace mien;
using namespace mien::testing;

TEST_CASE("The op table has a case for every registered GPU op, and only those", "[cuda][ops][sanitize]") {
  const std::vector<std::string> registered = ops::registered_cuda_ops();
  std::set<std::string> in_table;
  for (const OpCase& c : op_cases()) in_table.insert(c.op);
  for (const std::string& op : registered) {
    INFO(op << " is registered by its kernel header (MIEN_REGISTER_CUDA_OPS) but has no case in op_cases()");
    CHECK(in_table.count(op) == 1);
  }
  for (const std::string& op : in_table) {
    INFO(op << " has a case in op_cases() but no registered GPU implementation");
    CHECK(std::find(registered.begin(), registered.end(), op) != registered.end());
  }
  CHECK(registered.size() >= 30);
}

TEST_CASE("GPU ops match the CPU on every case of the op table", "[cuda][ops][sanitize]") {
  const PaperSize paper{2, 48, 100'003};
  for (const ShapeSet set : {ShapeSet::small, ShapeSet::paper})
    for (const OpCase& c : op_cases()) {
      INFO(c.title() << ", " << (set == ShapeSet::small ? "small" : "paper") << " shapes");
      const OpArgs<float> host = host_args(c, set, paper);
      Context ctx, cpu_ctx;
      OpArgs<float> gpu = convert_args<float>(host, Device::cuda);
      run_case(c, ctx, gpu);
      if (c.float_reference) {
        OpArgs<float> ref = host;
        run_case(c, cpu_ctx, ref);
        for (std::size_t i = 0; i < c.outputs.size(); ++i) {
          INFO("output " << c.outputs[i].name << " (against the CPU in float)");
          MIEN_REQUIRE_CLOSE(gpu.out[i], ref.out[i], c.outputs[i].tolerance);
        }
      } else {
        OpArgs<double> ref = convert_args<double>(host, Device::cpu);
        run_case(c, cpu_ctx, ref);
        for (std::size_t i = 0; i < c.outputs.size(); ++i) {
          INFO("output " << c.outputs[i].name);
          MIEN_REQUIRE_CLOSE(gpu.out[i], ref.out[i], c.outputs[i].tolerance);
        }
      }
    }
}

TEST_CASE("GPU ops reject wrong shapes, devices and scalars (op table)", "[cuda][ops][sanitize]") {
  for (const OpCase& c : op_cases()) check_op_case_rejects_bad_arguments(c, Device::cuda);
}
