#include "training/attention.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

#include "kernels/gemm.h"

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

}  // namespace

void attention_forward_fast(const AttentionShape& a, const float* q, const float* k, const float* v, const int32_t* first,
                            float* P, float* y, ThreadPool& pool) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv, T = a.T;
  const float scale = 1.0f / std::sqrt(float(a.D));
  for_units(pool, a.B * a.H, [&](int64_t u, int) {
    const int64_t b = u / a.H, h = u % a.H, kvh = h / group;
    const float* qb = q + b * T * QD + h * a.D;
    const float* kb = k + b * T * KD + kvh * a.D;
    const float* vb = v + b * T * KD + kvh * a.D;
    float* p = P + u * T * T;
    // S (T, T) = scale * Q (T, D) K^T (D, T)
    gemm_f32(false, true, T, T, a.D, scale, qb, QD, kb, KD, 0.0f, p, T, serial_pool());
    const int32_t* fb = first + b * T;
    for (int64_t t = 0; t < T; ++t) {
      float* row = p + t * T;
      const int64_t lo = attention_lo(fb, t, a.window);
      float mx = -INFINITY;
      for (int64_t s = lo; s <= t; ++s) mx = std::max(mx, row[s]);
      float sum = 0;
      for (int64_t s = lo; s <= t; ++s) {
        row[s] = std::exp(row[s] - mx);
        sum += row[s];
      }
      const float inv = 1.0f / sum;
      std::fill(row, row + lo, 0.0f);
      for (int64_t s = lo; s <= t; ++s) row[s] *= inv;
      std::fill(row + t + 1, row + T, 0.0f);
    }
    // Y (T, D) = P (T, T) V (T, D)
    gemm_f32(false, false, T, a.D, T, 1.0f, p, T, vb, KD, 0.0f, y + b * T * QD + h * a.D, QD, serial_pool());
  });
}

int64_t attention_backward_scratch(const AttentionShape& a, const ThreadPool& pool) {
  return int64_t(pool.size()) * a.T * a.T;
}

void attention_backward_fast(const AttentionShape& a, const float* q, const float* k, const float* v,
                             const int32_t* first, const float* P, const float* dy, float* dq, float* dk, float* dv,
                             float* scratch, ThreadPool& pool) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv, T = a.T;
  const float scale = 1.0f / std::sqrt(float(a.D));
  // Units are (sequence, kv head): the heads of a group add into the same dK, dV rows.
  for_units(pool, a.B * a.Hkv, [&](int64_t u, int ith) {
    const int64_t b = u / a.Hkv, kvh = u % a.Hkv;
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
      // dV (T, D) += P^T (T, T) dY (T, D)
      gemm_f32(true, false, T, a.D, T, 1.0f, p, T, dyb, QD, acc, dvb, KD, serial_pool());
      // dP (T, T) = dY (T, D) V^T (D, T)
      gemm_f32(false, true, T, T, a.D, 1.0f, dyb, QD, vb, KD, 0.0f, ds, T, serial_pool());
      for (int64_t t = 0; t < T; ++t) {
        const float* pr = p + t * T;
        float* dr = ds + t * T;
        float sum = 0;
        for (int64_t s = 0; s <= t; ++s) sum += pr[s] * dr[s];
        for (int64_t s = 0; s <= t; ++s) dr[s] = pr[s] * (dr[s] - sum) * scale;
        std::fill(dr + t + 1, dr + T, 0.0f);
      }
      // dQ (T, D) = dS (T, T) K (T, D);  dK (T, D) += dS^T (T, T) Q (T, D)
      gemm_f32(false, false, T, a.D, T, 1.0f, ds, T, kb, KD, 0.0f, dqb, QD, serial_pool());
      gemm_f32(true, false, T, a.D, T, 1.0f, ds, T, qb, QD, acc, dkb, KD, serial_pool());
    }
  });
}

}  // namespace edgelm::training
