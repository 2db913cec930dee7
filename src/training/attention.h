#pragma once
// The float attention of the training path, built on gemm_f32: per (sequence,
// head) the score matrix S = Q K^T / sqrt(D) (T x T), the masked softmax P, and
// Y = P V; backward dP = dY V^T, dS = P * (dP - rowsum(P * dP)), dQ = dS K,
// dK = dS^T Q, dV = P^T dY. Computing the whole T x T block wastes the masked
// half but runs at matmul speed, far ahead of per-element loops. Same contract
// (shapes, masking, outputs) as attention_forward/backward in training/ops.h,
// which stay the reference the tests compare this with.
#include "platform/thread_pool.h"
#include "training/ops.h"

namespace edgelm::training {

// P: (B, H, T, T), fully written (zeros outside each row's visible range).
void attention_forward_fast(const AttentionShape& a, const float* q, const float* k, const float* v, const int32_t* first,
                            float* P, float* y, ThreadPool& pool);

// scratch: at least attention_backward_scratch(a, pool) floats.
void attention_backward_fast(const AttentionShape& a, const float* q, const float* k, const float* v,
                             const int32_t* first, const float* P, const float* dy, float* dq, float* dk, float* dv,
                             float* scratch, ThreadPool& pool);
int64_t attention_backward_scratch(const AttentionShape& a, const ThreadPool& pool);

}  // namespace edgelm::training
