// The CPU backend's matrix products (cpu/gemm.hpp) against a double-precision reference, for every operand
// layout the convolutions and dense layers use: plain and transposed operands, strided maps, assignment and
// accumulation. Run inside a parallel region, where float products go to OpenBLAS when it is in use.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <vector>
#if defined(_OPENMP)
#include <omp.h>
#endif

#include "mien/cpu/eigen.hpp"
#include "mien/cpu/gemm.hpp"
#include "mien/testing/gradcheck.hpp"

using namespace mien;

namespace {

std::vector<float> random_values(std::size_t count, std::uint64_t seed) {
  const Tensor<double> t = testing::random_tensor(Shape{static_cast<std::int64_t>(count)}, seed);
  return std::vector<float>(t.begin(), t.end());
}

}  // namespace

TEST_CASE("matmul and matmul_add match a double reference for every operand layout", "[gemm]") {
  INFO("float products run on: " << cpu::gemm_backend());
  const std::int64_t m = 37, n = 29, k = 45, ld_pad = 3;  // odd sizes; strided operands have rows 3 longer
  for (bool trans_a : {false, true}) {
    for (bool trans_b : {false, true}) {
      for (bool accumulate : {false, true}) {
        CAPTURE(trans_a, trans_b, accumulate);
        // Stored shapes: A is m×k, or k×m when transposed; likewise B; rows ld_pad longer than they need.
        const std::int64_t a_rows = trans_a ? k : m, a_cols = trans_a ? m : k, lda = a_cols + ld_pad;
        const std::int64_t b_rows = trans_b ? n : k, b_cols = trans_b ? k : n, ldb = b_cols + ld_pad;
        const std::int64_t ldc = n + ld_pad;
        const std::vector<float> a = random_values(static_cast<std::size_t>(a_rows * lda), 1);
        const std::vector<float> b = random_values(static_cast<std::size_t>(b_rows * ldb), 2);
        const std::vector<float> c0 = random_values(static_cast<std::size_t>(m * ldc), 3);
        std::vector<float> c = c0;
        const auto a_at = [&](std::int64_t i, std::int64_t p) { return trans_a ? a[p * lda + i] : a[i * lda + p]; };
        const auto b_at = [&](std::int64_t p, std::int64_t j) { return trans_b ? b[j * ldb + p] : b[p * ldb + j]; };

        const auto sa = cpu::as_strided_matrix(a.data(), a_rows, a_cols, lda);
        const auto sb = cpu::as_strided_matrix(b.data(), b_rows, b_cols, ldb);
        auto sc = cpu::as_strided_matrix(c.data(), m, n, ldc);
        const auto run = [&](const auto& lhs, const auto& rhs) {
          if (accumulate)
            cpu::matmul_add(sc, lhs, rhs);
          else
            cpu::matmul(sc, lhs, rhs);
        };
        // A team of two threads, as in the backend's parallel loops; one of them multiplies.
#if defined(_OPENMP)
#pragma omp parallel num_threads(2)
#endif
        {
#if defined(_OPENMP)
          const bool first = omp_get_thread_num() == 0;
#else
          const bool first = true;
#endif
          if (first && trans_a && trans_b) run(sa.transpose(), sb.transpose());
          if (first && trans_a && !trans_b) run(sa.transpose(), sb);
          if (first && !trans_a && trans_b) run(sa, sb.transpose());
          if (first && !trans_a && !trans_b) run(sa, sb);
        }
        double worst = 0;
        for (std::int64_t i = 0; i < m; ++i) {
          for (std::int64_t j = 0; j < n; ++j) {
            double ref = accumulate ? c0[static_cast<std::size_t>(i * ldc + j)] : 0.0;
            for (std::int64_t p = 0; p < k; ++p) ref += static_cast<double>(a_at(i, p)) * b_at(p, j);
            worst = std::max(worst, std::abs(c[static_cast<std::size_t>(i * ldc + j)] - ref));
          }
          // The padding between rows is never written.
          for (std::int64_t j = n; j < ldc; ++j)
            REQUIRE(c[static_cast<std::size_t>(i * ldc + j)] == c0[static_cast<std::size_t>(i * ldc + j)]);
        }
        CHECK(worst < 1e-4);  // sums of 45 products of values about 1 in float
      }
    }
  }
}
