#pragma once
// What gemm_f32 and gemm_bf16 share around their blocked products: the
// product-free shapes, and the split of C between threads.
#include <algorithm>
#include <cstdint>

#include "platform/thread_pool.h"

namespace edgelm::gemm_detail {

// C = beta * C, for K == 0 or alpha == 0; with beta == 0, C is not read.
inline void scale_c(int64_t M, int64_t N, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
}

// Runs region(i_begin, i_end, j_begin, j_end) over bands of the M x N result.
// Below ~a quarter million multiply-adds, waking other threads costs more than
// it saves: one region on the calling thread. Otherwise one parallel region per
// product, each thread a band of C that it computes on its own, packing what it
// needs; splitting the longer side (in whole mr-row or nr-column tiles) keeps
// the duplicated packing of the other operand small next to the work. On a busy
// machine this matters: every extra fork-join waits for the slowest thread. The
// split depends only on the shapes and the pool size, so results are
// bit-identical from run to run.
template <class Region>
void for_each_band(int64_t M, int64_t N, int64_t K, int64_t mr, int64_t nr, ThreadPool& pool, Region&& region) {
  const int nt = M * N * K < (int64_t(1) << 18) ? 1 : pool.size();
  if (nt == 1) {
    region(int64_t(0), M, int64_t(0), N);
    return;
  }
  const bool split_rows = M >= N || N < int64_t(nt) * nr;
  const int64_t unit = split_rows ? mr : nr;
  const int64_t n_units = ((split_rows ? M : N) + unit - 1) / unit;
  pool.run([&](int ith) {
    const int64_t u0 = n_units * ith / nt, u1 = n_units * (ith + 1) / nt;
    if (u0 >= u1) return;
    if (split_rows)
      region(u0 * unit, std::min(M, u1 * unit), int64_t(0), N);
    else
      region(int64_t(0), M, u0 * unit, std::min(N, u1 * unit));
  });
}

}  // namespace edgelm::gemm_detail
