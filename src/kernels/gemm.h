#pragma once
// General matrix multiply in f32 (row-major BLAS semantics), used by training
// (every projection's forward and both backward products) and by batched
// prompt evaluation.
//
//   C = alpha * op(A) * op(B) + beta * C
//   op(A) is M x K: A itself (lda >= K) or, with trans_a, the transpose of a K x M matrix (lda >= M).
//   op(B) is K x N: B itself (ldb >= N) or, with trans_b, the transpose of an N x K matrix (ldb >= K).
//   C is M x N with row stride ldc >= N. With beta == 0, C is not read (NaNs in it are ignored).
//
// The fast path packs op(A) and op(B) into cache-sized panels and runs an
// AVX-512 (or AVX2+FMA) microkernel of the column in use (isa_active(),
// platform/cpu_features.h); a portable path builds and runs everywhere. The split of the work
// across threads depends only on the shapes and the pool size, so results are
// bit-identical from run to run (training's resume test relies on it).
#include <cstdint>

#include "platform/cpu_features.h"
#include "platform/thread_pool.h"

namespace edgelm {

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool);

// The plain triple loop (double accumulation), the reference the fast path is tested against.
void gemm_f32_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The same product on the microkernel of column `isa` (or the column below it
// that has one): tests compare every column with the reference.
void gemm_f32_on(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool);

// The column whose microkernel gemm_f32 uses (for benchmarks and reports).
Isa gemm_f32_isa();

}  // namespace edgelm
