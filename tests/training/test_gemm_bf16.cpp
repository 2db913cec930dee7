// The bf16 GEMM against a reference that rounds the inputs to bf16 and sums in
// double: after rounding, the only error left is f32 summation, bounded by
// K * u * sum |a||b| (u = 2^-24); an input left unrounded would miss by ~2^-9.
#include <gtest/gtest.h>

#include <cmath>
#include <tuple>
#include <vector>

#include "kernels/gemm_bf16.h"
#include "platform/numeric.h"
#include "platform/random.h"

namespace edgelm {
namespace {

struct Bf16Case {
  bool ta, tb;
  int64_t M, N, K;
  float alpha, beta;
};

float to_bf16(float x) { return bf16_to_f32(f32_to_bf16(x)); }

void check_bf16_case(Isa isa, const Bf16Case& c, ThreadPool& pool) {
  Rng rng(uint64_t(c.M * 131 + c.N * 7 + c.K));
  const int64_t lda = (c.ta ? c.M : c.K) + 3, ldb = (c.tb ? c.K : c.N) + 1, ldc = c.N + 5;
  std::vector<float> A(size_t((c.ta ? c.K : c.M) * lda)), B(size_t((c.tb ? c.N : c.K) * ldb)), C(size_t(c.M * ldc));
  for (auto& x : A) x = float(rng.normal());
  for (auto& x : B) x = float(rng.normal() * 3.0);
  for (auto& x : C) x = float(rng.normal());
  std::vector<float> C_ref = C, C_fast = C;
  if (c.beta == 0.0f)
    for (auto& x : C_fast) x = NAN;
  gemm_bf16_ref(c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C_ref.data(), ldc);
  gemm_bf16_on(isa, c.ta, c.tb, c.M, c.N, c.K, c.alpha, A.data(), lda, B.data(), ldb, c.beta, C_fast.data(), ldc, pool);
  const double u = std::ldexp(1.0, -24);
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = 0; j < c.N; ++j) {
      double norm = 0;  // sum |a||b| of the rounded inputs
      for (int64_t k = 0; k < c.K; ++k)
        norm += std::fabs(double(to_bf16(c.ta ? A[k * lda + i] : A[i * lda + k])) *
                          double(to_bf16(c.tb ? B[j * ldb + k] : B[k * ldb + j])));
      const double tol = double(c.K + 2) * u * std::fabs(c.alpha) * norm + 2 * u * std::fabs(c.beta * C[i * ldc + j]) +
                         std::fabs(double(C_ref[i * ldc + j])) * u + 1e-30;
      ASSERT_NEAR(C_fast[i * ldc + j], C_ref[i * ldc + j], tol)
          << "M=" << c.M << " N=" << c.N << " K=" << c.K << " ta=" << c.ta << " tb=" << c.tb << " at " << i << "," << j;
    }
  if (c.beta == 0.0f) return;
  for (int64_t i = 0; i < c.M; ++i)
    for (int64_t j = c.N; j < ldc; ++j) ASSERT_EQ(C_fast[i * ldc + j], C[i * ldc + j]);
}

TEST(GemmBf16, MatchesRoundedReferenceAllTransposes) {
  ThreadPool pool(2);
  for (Isa isa : isa_available()) {
    SCOPED_TRACE(isa_name(isa));
    for (bool ta : {false, true})
      for (bool tb : {false, true})
        for (auto [M, N, K] : {std::tuple{1, 1, 1}, {7, 33, 5}, {17, 65, 300}, {100, 37, 1031}, {9, 2100, 20}, {130, 31, 64}})
          for (auto [alpha, beta] : {std::pair{1.0f, 0.0f}, {0.5f, 1.0f}, {-2.0f, 0.25f}})
            check_bf16_case(isa, {ta, tb, M, N, K, alpha, beta}, pool);
  }
}

// The rounding is really there: inputs that are not bf16-representable give the
// bf16 product, not the f32 one.
TEST(GemmBf16, RoundsInputsToBf16) {
  ThreadPool pool(1);
  const float a = 1.0f + std::ldexp(1.0f, -10), b = 3.0f;  // a is 1 in bf16 (8-bit mantissa)
  float c = 0;
  gemm_bf16(false, false, 1, 1, 1, 1.0f, &a, 1, &b, 1, 0.0f, &c, 1, pool);
  EXPECT_EQ(c, 3.0f);
}

TEST(GemmBf16, SimdAndPortableAgreeAndThreadCountsAreDeterministic) {
  ThreadPool one(1), two(2);
  const int64_t M = 70, N = 90, K = 600;
  Rng rng(5);
  std::vector<float> A(M * K), B(K * N), C1(M * N), C2(M * N), C3(M * N);
  for (auto& x : A) x = float(rng.normal());
  for (auto& x : B) x = float(rng.normal());
  gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C1.data(), N, one);
  gemm_bf16(false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C2.data(), N, two);
  EXPECT_EQ(C1, C2);
  gemm_bf16_on(Isa::Scalar, false, false, M, N, K, 1.0f, A.data(), K, B.data(), N, 0.0f, C3.data(), N, one);
  // Same products, same order of pair sums: only the hardware's rounding inside a pair may differ.
  for (int64_t i = 0; i < M * N; ++i) ASSERT_NEAR(C1[i], C3[i], 1e-4 * (1 + std::fabs(C3[i]))) << i;
}

}  // namespace
}  // namespace edgelm
