#pragma once
// The float attention of the training path, built on gemm_f32: per (sequence,
// head) the score matrix S = Q K^T / sqrt(D) (T x T), the masked softmax P, and
// Y = P V; backward dP = dY V^T, dS = P * (dP - rowsum(P * dP)), dQ = dS K,
// dK = dS^T Q, dV = P^T dY. Blocks of 64 query rows only multiply the key
// columns they can see (causal, packed, windowed), so most of the masked half is
// skipped while everything still runs at matmul speed. Same contract
// (shapes, masking, outputs) as attention_forward/backward in training/ops.h,
// which stay the reference the tests compare this with. With bf16, the four
// products take bf16-rounded inputs (gemm_bf16); softmax and its backward stay f32.
#include "platform/thread_pool.h"
#include "training/ops.h"

namespace edgelm::training {

// P: (B, H, T, T), fully written (zeros outside each row's visible range).
void attention_forward_fast(const AttentionShape& a, const float* q, const float* k, const float* v, const int32_t* first,
                            float* P, float* y, ThreadPool& pool, bool bf16 = false);

// scratch: at least attention_backward_scratch(a, pool) floats.
void attention_backward_fast(const AttentionShape& a, const float* q, const float* k, const float* v,
                             const int32_t* first, const float* P, const float* dy, float* dq, float* dk, float* dv,
                             float* scratch, ThreadPool& pool, bool bf16 = false);
int64_t attention_backward_scratch(const AttentionShape& a, const ThreadPool& pool);

}  // namespace edgelm::training
