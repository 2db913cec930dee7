#pragma once
// The weight-matrix products of a forward pass, dispatched by weight type:
// float weights (F32/F16/BF16) through the kernel table, split by rows over the
// thread pool, several products sharing one input in ONE parallel region;
// quantised weights through quant_matmul.
#include <cstdint>
#include <span>

#include "kernels/kernels.h"
#include "model/model.h"
#include "platform/thread_pool.h"

namespace edgelm {

// One product y = x W^T: y is (n_tokens, w->rows) with row stride ldy.
struct LinearOutput {
  const WeightMatrix* w;
  float* y;
  int64_t ldy;
};

// Computes every output from the same input x (n_tokens, cols), rows dense
// (row stride = cols). With accumulate, adds to y instead of overwriting.
// `tmp` (n_tokens * max rows floats) is needed when a quantised weight must accumulate.
void linear_forward(std::span<const LinearOutput> outputs, const float* x, int64_t n_tokens, bool accumulate,
                    ThreadPool& pool, const Kernels& k, float* tmp);

// Row grain for splitting a product between threads: whole packed panels for
// prompt-sized batches, a few rows for decoding.
inline int64_t linear_row_grain(int64_t n_tokens) { return n_tokens >= 6 ? 32 : 8; }

}  // namespace edgelm
