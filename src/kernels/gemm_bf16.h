#pragma once
// General matrix multiply with bf16 inputs and f32 accumulation, the compute
// path of bf16 training (fp32 master weights, bf16 matmuls):
//
//   C = alpha * bf16(op(A)) * bf16(op(B)) + beta * C
//
// Same arguments and layout as gemm_f32 (kernels/gemm.h): A, B and C are f32
// arrays; each element of op(A) and op(B) is rounded to bf16 (round to nearest
// even) while it is packed, so callers keep one f32 copy of everything. Pairs of
// k are multiplied and summed in f32 by AVX512_BF16's vdpbf16ps in the Avx512
// column when the CPU has it (platform/cpu_features.h); elsewhere a portable kernel computes the same
// exact products (a bf16 x bf16 product fits in f32) and sums them in the same
// order, so results agree up to the hardware's internal rounding of the pair sum.
// As with gemm_f32, the split across threads depends only on the shapes and the
// pool size: results are bit-identical from run to run.
#include <cstdint>

#include "platform/cpu_features.h"
#include "platform/thread_pool.h"

namespace edgelm {

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool);

// The reference: inputs rounded to bf16, products summed in double.
void gemm_bf16_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc);

// The same product on the kernel of column `isa` (or the column below it that
// has one; only Avx512 with AVX512-BF16 has its own): tests compare every column.
void gemm_bf16_on(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool);

// The column whose kernel gemm_bf16 uses: Avx512 (vdpbf16ps) or Scalar.
Isa gemm_bf16_isa();

}  // namespace edgelm
