// The fast GEMM against the plain triple loop, over transposes, edge sizes and alpha/beta.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kernels/gemm.h"
#include "platform/random.h"

namespace edgelm {
namespace {

struct Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
};

void check_case(Isa isa, const Case& c, ThreadPool& pool) {
  Rng rng(uint64_t(c.M * 131 + c.N * 7 + c.K));
  const int64_t lda = (c.ta ? c.M : c.K) + 3, ldb = (c.tb ? c.K : c.N) + 1, ldc = c.N + 5;
  std::vector<float> A(size_t((c.ta ? c.K : c.M) * lda)), B(size_t((c.tb ? c.N : c.K) * ldb)), C(size_t(c.M * ldc));
  for (auto& x : A) x = float(rng.normal());
  for (auto& x : B) x = float(rng.normal());
  for (auto& x : C) x = float(rng.normal());
  std::vector<float> C_ref = C, C_fast = C;
  if (c.beta == 0.0f)  // beta 0 must ignore whatever C holds, NaN included
    for (auto& x : C_fast) x = NAN;
  gemm_f32_ref(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C_ref.data(), ldc);
  gemm_f32_on(isa, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C_fast.data(), ldc, pool);
  const double eps = 1.19e-7;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double norm = 0;  // sum |a||b|: the rounding-error scale of this dot product
      for (int64_t k = 0; k < c.K; ++k)
        norm += std::fabs((c.ta ? A[k * lda + i] : A[i * lda + k]) * (c.tb ? B[j * ldb + k] : B[k * ldb + j]));
      double tol = 20 * eps * (std::fabs(c.alpha) * norm + std::fabs(c.beta * C[i * ldc + j])) + 1e-30;
      ASSERT_NEAR(C_fast[i * ldc + j], C_ref[i * ldc + j], tol)
          << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta << " tb=" << c.tb << " at " << i << "," << j;
    }
  // Columns past N in each row of C are never touched.
  if (c.beta == 0.0f) return;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_EQ(C_fast[i * ldc + j], C[i * ldc + j]);
}

TEST(Gemm, MatchesReferenceAllTransposes) {
  ThreadPool pool(2);
  for (Isa isa : isa_available()) {
    SCOPED_TRACE(isa_name(isa));
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (auto [M, N, K] : {std::tuple{1, 1, 1}, {7, 33, 5}, {17, 65, 300}, {100, 37, 513}, {9, 2100, 20}, {130, 31, 64}})
          for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}})
            check_case(isa, {ta, tb, M, N, K, alpha, beta}, pool);
  }
}

TEST(Gemm, DeterministicAcrossThreadCounts) {
  ThreadPool one(1), two(2);
  const int64_t M = 70, N = 90, K = 600;
  Rng rng(5);
  std::vector<float> A(M * K), B(K * N), C1(M * N), C2(M * N);
  for (auto& x : A) x = float(rng.normal());
  for (auto& x : B) x = float(rng.normal());
  gemm_f32(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C1.data(), N, one);
  gemm_f32(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C2.data(), N, two);
  EXPECT_EQ(C1, C2);
}

TEST(Gemm, ZeroK) {
  ThreadPool pool(1);
  std::vector<float> C = {1, 2, 3, 4};
  gemm_f32(false, false, 2, 2, 0, 1.0f, nullptr, 1, nullptr, 2, 0.5f, C.data(), 2, pool);
  EXPECT_EQ(C, (std::vector<float>{0.5f, 1, 1.5f, 2}));
}

}  // namespace
}  // namespace edgelm
