// Every ops:: function rejects wrong shapes and out-of-range scalars, from the op table (mien/testing/op_cases.hpp);
// tests/cuda/test_cuda_op_table.cu checks the same with device tensors, and wrong devices.
#include <catch2/catch.hpp>

#include "../support/op_validation.hpp"

using namespace mien;
using namespace mien::testing;

TEST_CASE("ops reject wrong shapes and out-of-range scalars (op table)", "[ops]") {
  for (const OpCase& c : op_cases()) check_op_case_rejects_bad_arguments(c, Device::cpu);
}
