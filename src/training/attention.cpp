#include "training/attention.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/train_math.h"

namespace edgelm::training {

namespace {

// The per-(sequence, head) products are small; each runs on one thread, and the
// threads share out the heads instead. One single-thread pool per worker thread.
ThreadPool& serial_pool() {
  static thread_local ThreadPool pool(1);
  return pool;
}

// Runs f(unit, thread) over n units split in contiguous ranges over the pool's threads.
template <class F>
void for_units(ThreadPool& pool, int64_t n, F&& f) {
  const int nt = pool.size();
  if (nt == 1 || n == 1) {
    for (int64_t u = 0; u < n; ++u) f(u, 0);
    return;
  }
  pool.run([&](int ith) {
    for (int64_t u = n * ith / nt; u < n * (ith + 1) / nt; ++u) f(u, ith);
  });
}

// One per-head product on the calling thread, in f32 or (bf16 training) bf16 inputs.
void mm(bool bf16, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
        int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (bf16)
    gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, serial_pool());
  else
    gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, serial_pool());
}

}  // namespace

// Causal blocking: rows are taken kRowBlock at a time, and a block only needs the
// key columns [c0, i1): i1 is its last row + 1 (causality) and c0 its smallest
// visible column (packing, sliding window) rounded down to a block boundary. On a
// plain causal T x T this skips about (1 - (T/BS + 1) / (2 T/BS)) of the products
// (37.5% at T = 256) and leaves P's masked entries as written zeros.
constexpr int64_t kRowBlock = 64;

// [c0, i1) for the row block starting at i0; lo is nondecreasing in t, so c0 is too.
inline std::pair<int64_t, int64_t> block_columns(const AttentionShape& a, const int32_t* fb, int64_t i0) {
  const int64_t i1 = std::min(a.T, i0 + kRowBlock);
  const int64_t c0 = attention_lo(fb, i0, a.window) / kRowBlock * kRowBlock;
  return {c0, i1};
}

void attention_forward_fast(const AttentionShape& a, const float* q, const float* k, const float* v, const int32_t* first,
                            float* P, float* y, ThreadPool& pool, bool bf16) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv, T = a.T;
  const float scale = 1.0f / std::sqrt(float(a.D));
  for_units(pool, a.B * a.H, [&](int64_t u, int) {
    const int64_t b = u / a.H, h = u % a.H, kvh = h / group;
    const float* qb = q + b * T * QD + h * a.D;
    const float* kb = k + b * T * KD + kvh * a.D;
    const float* vb = v + b * T * KD + kvh * a.D;
    float* p = P + u * T * T;
    const int32_t* fb = first + b * T;
    for (int64_t i0 = 0; i0 < T; i0 += kRowBlock) {
      const auto [c0, i1] = block_columns(a, fb, i0);
      // S[i0:i1, c0:i1] = scale * Q[i0:i1] (rows, D) K[c0:i1]^T (D, cols)
      mm(bf16, false, true, i1 - i0, i1 - c0, a.D, scale, qb + i0 * QD, QD, kb + c0 * KD, KD, 0.0f, p + i0 * T + c0, T);
      for (int64_t t = i0; t < i1; ++t) {
        float* row = p + t * T;
        const int64_t lo = attention_lo(fb, t, a.window);
        float mx = -INFINITY;
        for (int64_t s = lo; s <= t; ++s) mx = std::max(mx, row[s]);
        const float sum = train_exp_shift_sum(row + lo, t + 1 - lo, mx);
        const float inv = 1.0f / sum;
        std::fill(row, row + lo, 0.0f);
        for (int64_t s = lo; s <= t; ++s) row[s] *= inv;
        std::fill(row + t + 1, row + T, 0.0f);
      }
      // Y[i0:i1] (rows, D) = P[i0:i1, c0:i1] V[c0:i1] (cols, D)
      mm(bf16, false, false, i1 - i0, a.D, i1 - c0, 1.0f, p + i0 * T + c0, T, vb + c0 * KD, KD, 0.0f,
               y + (b * T + i0) * QD + h * a.D, QD);
    }
  });
}

int64_t attention_backward_scratch(const AttentionShape& a, const ThreadPool& pool) {
  return int64_t(pool.size()) * a.T * a.T;
}

void attention_backward_fast(const AttentionShape& a, const float* q, const float* k, const float* v,
                             const int32_t* first, const float* P, const float* dy, float* dq, float* dk, float* dv,
                             float* scratch, ThreadPool& pool, bool bf16) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv, T = a.T;
  const float scale = 1.0f / std::sqrt(float(a.D));
  // Units are (sequence, kv head): the heads of a group add into the same dK, dV rows.
  for_units(pool, a.B * a.Hkv, [&](int64_t u, int ith) {
    const int64_t b = u / a.Hkv, kvh = u % a.Hkv;
    const int32_t* fb = first + b * T;
    const float* kb = k + b * T * KD + kvh * a.D;
    const float* vb = v + b * T * KD + kvh * a.D;
    float* dkb = dk + b * T * KD + kvh * a.D;
    float* dvb = dv + b * T * KD + kvh * a.D;
    float* ds = scratch + int64_t(ith) * T * T;
    for (int64_t g = 0; g < group; ++g) {
      const int64_t h = kvh * group + g;
      const float* p = P + (b * a.H + h) * T * T;
      const float* qb = q + b * T * QD + h * a.D;
      const float* dyb = dy + b * T * QD + h * a.D;
      float* dqb = dq + b * T * QD + h * a.D;
      const float acc = g == 0 ? 0.0f : 1.0f;
      // Row blocks: dS = P * (dP - rowsum(P * dP)) * scale over [c0, i1), then dQ.
      for (int64_t i0 = 0; i0 < T; i0 += kRowBlock) {
        const auto [c0, i1] = block_columns(a, fb, i0);
        // dP[i0:i1, c0:i1] = dY[i0:i1] (rows, D) V[c0:i1]^T (D, cols)
        mm(bf16, false, true, i1 - i0, i1 - c0, a.D, 1.0f, dyb + i0 * QD, QD, vb + c0 * KD, KD, 0.0f,
                 ds + i0 * T + c0, T);
        for (int64_t t = i0; t < i1; ++t) {
          const float* pr = p + t * T;
          float* dr = ds + t * T;
          float sum = 0;
          for (int64_t s = c0; s <= t; ++s) sum += pr[s] * dr[s];
          for (int64_t s = c0; s <= t; ++s) dr[s] = pr[s] * (dr[s] - sum) * scale;  // P is 0 outside [lo, t]
          std::fill(dr + t + 1, dr + i1, 0.0f);
        }
        // dQ[i0:i1] (rows, D) = dS[i0:i1, c0:i1] K[c0:i1] (cols, D)
        mm(bf16, false, false, i1 - i0, a.D, i1 - c0, 1.0f, ds + i0 * T + c0, T, kb + c0 * KD, KD, 0.0f,
                 dqb + i0 * QD, QD);
      }
      // Column blocks: key j is seen by rows t >= j of the row blocks whose c0 <= j0
      // (a prefix, since c0 grows with the block); their dS and P entries are written.
      for (int64_t j0 = 0; j0 < T; j0 += kRowBlock) {
        const int64_t j1 = std::min(T, j0 + kRowBlock);
        int64_t r_end = j1;
        while (r_end < T && block_columns(a, fb, r_end).first <= j0) r_end = std::min(T, r_end + kRowBlock);
        // dV[j0:j1] (+)= P[j0:r_end, j0:j1]^T dY[j0:r_end];  dK[j0:j1] (+)= dS[j0:r_end, j0:j1]^T Q[j0:r_end]
        mm(bf16, true, false, j1 - j0, a.D, r_end - j0, 1.0f, p + j0 * T + j0, T, dyb + j0 * QD, QD, acc,
                 dvb + j0 * KD, KD);
        mm(bf16, true, false, j1 - j0, a.D, r_end - j0, 1.0f, ds + j0 * T + j0, T, qb + j0 * QD, QD, acc,
                 dkb + j0 * KD, KD);
      }
    }
  });
}

}  // namespace edgelm::training
