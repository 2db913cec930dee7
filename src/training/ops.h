#pragma once
// Forward and backward of every non-matmul op of the Llama-family decoder, as
// templates: the trainer runs them in float, the finite-difference gradient
// checks run the very same code in double.
//
// Legend: N = tokens in the batch (B*T rows), C = model dim, D = head_dim,
// H = query heads, Hkv = key/value heads, F = ffn dim, V = vocab.
// Backward functions ACCUMULATE (+=) into parameter gradients; into
// activation gradients they write (=) unless the name says "accumulate".
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "kernels/train_math.h"
#include "platform/thread_pool.h"

namespace edgelm::training {

// Runs f(begin, end) over [0, n), on the pool when there is one and the work
// (n items of about `item_cost` flops each) is worth waking the other threads for.
template <class F>
void for_range(ThreadPool* pool, int64_t n, F&& f, int64_t item_cost = 64) {
  if (pool && pool->size() > 1 && n > 1 && n * item_cost >= (int64_t(1) << 15))
    pool->parallel_for(n, f);
  else if (n > 0)
    f(int64_t(0), n);
}

template <class T>
inline T dot(const T* a, const T* b, int64_t n) {
  // Four partial sums let the compiler keep several lanes busy without reassociating.
  T s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < n; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

// ---------------------------------------------------------------- RMSNorm
// y = x / sqrt(mean(x^2) + eps) * g.   x, y: (N, C); g: (C); rstd: (N) kept for backward.
template <class T>
void rmsnorm_forward(const T* x, const T* g, T* y, T* rstd, int64_t N, int64_t C, T eps, ThreadPool* pool = nullptr) {
  for_range(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* xr = x + n * C;
      T ms = dot(xr, xr, C) / T(C);
      T r = T(1) / std::sqrt(ms + eps);
      rstd[n] = r;
      T* yr = y + n * C;
      for (int64_t c = 0; c < C; ++c) yr[c] = xr[c] * r * g[c];
    }
  }, 3 * C);
}

// dx += rstd * (g*dy - xhat * mean(g*dy*xhat)); dg += sum_n dy * xhat (xhat = x * rstd).
// dg is summed serially over rows so that the result does not depend on the thread count; null: not computed.
template <class T>
void rmsnorm_backward(const T* dy, const T* x, const T* g, const T* rstd, T* dx_accumulate, T* dg, int64_t N, int64_t C,
                      ThreadPool* pool = nullptr) {
  for_range(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* xr = x + n * C;
      const T* dyr = dy + n * C;
      T r = rstd[n];
      T sum = 0;
      for (int64_t c = 0; c < C; ++c) sum += dyr[c] * g[c] * xr[c];
      T mean = sum * r / T(C);
      T* dxr = dx_accumulate + n * C;
      for (int64_t c = 0; c < C; ++c) dxr[c] += r * (g[c] * dyr[c] - xr[c] * r * mean);
    }
  }, 6 * C);
  if (!dg) return;  // a frozen gain (LoRA): no gradient kept
  for (int64_t n = 0; n < N; ++n) {
    const T* xr = x + n * C;
    const T* dyr = dy + n * C;
    T r = rstd[n];
    for (int64_t c = 0; c < C; ++c) dg[c] += dyr[c] * xr[c] * r;
  }
}

// ---------------------------------------------------------------- RoPE
// Rotates adjacent pairs (x[2i], x[2i+1]) of each head by pos * theta_i, in place.
// x: (N, n_heads * D); pos: (N); cos_sin: (max_pos, D/2, 2) table of (cos, sin).
// sign = -1 applies the inverse rotation, which is the backward pass (a rotation's
// Jacobian is its transpose).
template <class T>
void rope_apply(T* x, const int32_t* pos, int64_t N, int64_t n_heads, int64_t D, const T* cos_sin, T sign,
                ThreadPool* pool = nullptr) {
  const int64_t half = D / 2;
  for_range(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      const T* cs = cos_sin + int64_t(pos[n]) * half * 2;
      for (int64_t h = 0; h < n_heads; ++h) {
        T* v = x + (n * n_heads + h) * D;
        for (int64_t i = 0; i < half; ++i) {
          T c = cs[2 * i], s = sign * cs[2 * i + 1];
          T a = v[2 * i], b = v[2 * i + 1];
          v[2 * i] = a * c - b * s;
          v[2 * i + 1] = a * s + b * c;
        }
      }
    }
  }, 3 * n_heads * D);
}

// theta_i = rope_theta^(-2i/D); table[p][i] = (cos(p*theta_i), sin(p*theta_i)), computed in double.
template <class T>
void rope_table(T* cos_sin, int64_t max_pos, int64_t D, double rope_theta) {
  for (int64_t p = 0; p < max_pos; ++p)
    for (int64_t i = 0; i < D / 2; ++i) {
      double angle = double(p) * std::pow(rope_theta, -2.0 * double(i) / double(D));
      cos_sin[(p * (D / 2) + i) * 2] = T(std::cos(angle));
      cos_sin[(p * (D / 2) + i) * 2 + 1] = T(std::sin(angle));
    }
}

// ---------------------------------------------------------------- attention
// Grouped-query causal attention over B sequences of T tokens. Token t of a
// sequence sees tokens s with first[t] <= s <= t, where first[t] is the start
// of its packed example (examples never see each other), further limited to the
// last `window` positions when window > 0.
//
// q: (B*T, H*D); k, v: (B*T, Hkv*D); y: (B*T, H*D); P: (B, H, T, T) softmax
// probabilities kept for backward (only s in [lo, t] of row t is written).
struct AttentionShape {
  int64_t B, T, H, Hkv, D, window;
};

inline int64_t attention_lo(const int32_t* first, int64_t t, int64_t window) {
  int64_t lo = first[t];
  if (window > 0) lo = std::max(lo, t - window + 1);
  return lo;
}

template <class T>
void attention_forward(const AttentionShape& a, const T* q, const T* k, const T* v, const int32_t* first, T* P, T* y,
                       ThreadPool* pool = nullptr) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv;
  const T scale = T(1) / std::sqrt(T(a.D));
  for_range(pool, a.B * a.H, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t b = i / a.H, h = i % a.H, kvh = h / group;
      const int32_t* fb = first + b * a.T;
      for (int64_t t = 0; t < a.T; ++t) {
        const T* qt = q + (b * a.T + t) * QD + h * a.D;
        T* p = P + ((b * a.H + h) * a.T + t) * a.T;
        const int64_t lo = attention_lo(fb, t, a.window);
        T mx = -INFINITY;
        for (int64_t s = lo; s <= t; ++s) {
          p[s] = scale * dot(qt, k + (b * a.T + s) * KD + kvh * a.D, a.D);
          mx = std::max(mx, p[s]);
        }
        T sum = 0;
        for (int64_t s = lo; s <= t; ++s) {
          p[s] = std::exp(p[s] - mx);
          sum += p[s];
        }
        T inv = T(1) / sum;
        T* yt = y + (b * a.T + t) * QD + h * a.D;
        std::fill(yt, yt + a.D, T(0));
        for (int64_t s = lo; s <= t; ++s) {
          p[s] *= inv;
          const T* vs = v + (b * a.T + s) * KD + kvh * a.D;
          for (int64_t d = 0; d < a.D; ++d) yt[d] += p[s] * vs[d];
        }
      }
    }
  }, a.T * a.T * a.D * 2);
}

// dq (B*T, H*D) is written; dk, dv (B*T, Hkv*D) are written (zeroed here, then summed over
// the heads of each group). Work is split by (sequence, kv head) so no two threads touch
// the same dk/dv rows. scratch: per thread T values, pool->size() (or 1) * T in all.
template <class T>
void attention_backward(const AttentionShape& a, const T* q, const T* k, const T* v, const int32_t* first, const T* P,
                        const T* dy, T* dq, T* dk, T* dv, T* scratch, ThreadPool* pool = nullptr) {
  const int64_t QD = a.H * a.D, KD = a.Hkv * a.D, group = a.H / a.Hkv;
  const T scale = T(1) / std::sqrt(T(a.D));
  const int64_t n_units = a.B * a.Hkv;
  auto work = [&](int64_t u0, int64_t u1, T* dp) {
    for (int64_t u = u0; u < u1; ++u) {
      const int64_t b = u / a.Hkv, kvh = u % a.Hkv;
      const int32_t* fb = first + b * a.T;
      for (int64_t t = 0; t < a.T; ++t) {
        std::fill(dk + (b * a.T + t) * KD + kvh * a.D, dk + (b * a.T + t) * KD + (kvh + 1) * a.D, T(0));
        std::fill(dv + (b * a.T + t) * KD + kvh * a.D, dv + (b * a.T + t) * KD + (kvh + 1) * a.D, T(0));
      }
      for (int64_t h = kvh * group; h < (kvh + 1) * group; ++h) {
        for (int64_t t = 0; t < a.T; ++t) {
          const T* p = P + ((b * a.H + h) * a.T + t) * a.T;
          const T* dyt = dy + (b * a.T + t) * QD + h * a.D;
          const T* qt = q + (b * a.T + t) * QD + h * a.D;
          T* dqt = dq + (b * a.T + t) * QD + h * a.D;
          const int64_t lo = attention_lo(fb, t, a.window);
          T sum = 0;
          for (int64_t s = lo; s <= t; ++s) {
            dp[s] = dot(dyt, v + (b * a.T + s) * KD + kvh * a.D, a.D);
            sum += p[s] * dp[s];
          }
          std::fill(dqt, dqt + a.D, T(0));
          for (int64_t s = lo; s <= t; ++s) {
            const T ds = p[s] * (dp[s] - sum) * scale;
            const T* ks = k + (b * a.T + s) * KD + kvh * a.D;
            T* dks = dk + (b * a.T + s) * KD + kvh * a.D;
            T* dvs = dv + (b * a.T + s) * KD + kvh * a.D;
            for (int64_t d = 0; d < a.D; ++d) {
              dqt[d] += ds * ks[d];
              dks[d] += ds * qt[d];
              dvs[d] += p[s] * dyt[d];
            }
          }
        }
      }
    }
  };
  if (pool && pool->size() > 1 && a.B * a.H * a.T * a.T * a.D >= (int64_t(1) << 15)) {
    const int nt = pool->size();
    pool->run([&](int ith) {
      int64_t u0 = n_units * ith / nt, u1 = n_units * (ith + 1) / nt;
      if (u0 < u1) work(u0, u1, scratch + int64_t(ith) * a.T);
    });
  } else {
    work(0, n_units, scratch);
  }
}

// ---------------------------------------------------------------- SwiGLU
// h = silu(gate) * up, elementwise over n values.
template <class T>
void swiglu_forward(const T* gate, const T* up, T* h, int64_t n, ThreadPool* pool = nullptr) {
  for_range(pool, n, [&](int64_t i0, int64_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      train_swiglu_forward(gate + i0, up + i0, h + i0, i1 - i0);
      return;
    }
    for (int64_t i = i0; i < i1; ++i) {
      T g = gate[i];
      h[i] = g / (T(1) + std::exp(-g)) * up[i];
    }
  }, 16);
}

template <class T>
void swiglu_backward(const T* dh, const T* gate, const T* up, T* dgate, T* dup, int64_t n, ThreadPool* pool = nullptr) {
  for_range(pool, n, [&](int64_t i0, int64_t i1) {
    if constexpr (std::is_same_v<T, float>) {
      train_swiglu_backward(dh + i0, gate + i0, up + i0, dgate + i0, dup + i0, i1 - i0);
      return;
    }
    for (int64_t i = i0; i < i1; ++i) {
      T g = gate[i];
      T sig = T(1) / (T(1) + std::exp(-g));
      T silu = g * sig;
      dup[i] = dh[i] * silu;
      dgate[i] = dh[i] * up[i] * sig * (T(1) + g * (T(1) - sig));
    }
  }, 24);
}

// ---------------------------------------------------------------- cross-entropy
// For each row n with weight w[n] != 0: nll[n] = logsumexp(logits[n]) - logits[n][target[n]]
// (0 where w[n] == 0). The logits are then overwritten IN PLACE by their gradient,
// (softmax - onehot) * w[n] * grad_scale; rows with zero weight get zeros.
// logits: (N, V). Returns the weighted sum of nll (in double, summed in row order).
template <class T>
double cross_entropy_forward_backward(T* logits, const int32_t* target, const T* w, T* nll, int64_t N, int64_t V,
                                      T grad_scale, ThreadPool* pool = nullptr) {
  for_range(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      T* row = logits + n * V;
      if (w[n] == T(0)) {
        nll[n] = 0;
        std::fill(row, row + V, T(0));
        continue;
      }
      T mx = row[0];
      for (int64_t i = 1; i < V; ++i) mx = std::max(mx, row[i]);
      const int64_t tg = target[n];
      const T shifted_target = row[tg] - mx;  // before exp: a tiny probability must not underflow the log
      T sum = 0;
      if constexpr (std::is_same_v<T, float>) {
        sum = train_exp_shift_sum(row, V, mx);
      } else {
        for (int64_t i = 0; i < V; ++i) {
          row[i] = std::exp(row[i] - mx);
          sum += row[i];
        }
      }
      nll[n] = std::log(sum) - shifted_target;
      const T f = w[n] * grad_scale / sum;
      for (int64_t i = 0; i < V; ++i) row[i] *= f;
      row[tg] -= w[n] * grad_scale;
    }
  }, 8 * V);
  double total = 0;
  for (int64_t n = 0; n < N; ++n) total += double(w[n]) * double(nll[n]);
  return total;
}

// ---------------------------------------------------------------- Target log-probability
// logp[n] = log softmax(logits[n])[target[n]] where w[n] != 0, else 0; the logits are left
// as they are (DPO reads them between forward and backward).
template <class T>
void target_logprob(const T* logits, const int32_t* target, const T* w, T* logp, int64_t N, int64_t V,
                    ThreadPool* pool = nullptr) {
  for_range(pool, N, [&](int64_t n0, int64_t n1) {
    for (int64_t n = n0; n < n1; ++n) {
      if (w[n] == T(0)) {
        logp[n] = 0;
        continue;
      }
      const T* row = logits + n * V;
      T mx = row[0];
      for (int64_t i = 1; i < V; ++i) mx = std::max(mx, row[i]);
      T sum = 0;
      for (int64_t i = 0; i < V; ++i) sum += std::exp(row[i] - mx);
      logp[n] = (row[target[n]] - mx) - std::log(sum);
    }
  }, 4 * V);
}

// Dropout on a residual branch (GPT-2's residual dropout): y += keep_i * branch_i / (1 - p),
// where keep_i is 0 with probability p. The mask is a pure function of (key, offset + i),
// stateless: the forward, a recomputed forward and the backward draw the same
// one, and a resumed run the same as a straight one.
inline bool dropout_keeps(uint64_t key, int64_t i, uint32_t threshold) {
  uint64_t z = key + uint64_t(i) * 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return uint32_t((z ^ (z >> 31)) >> 32) >= threshold;
}
inline uint32_t dropout_threshold(double p) { return uint32_t(std::min(p, 1.0) * 4294967296.0); }

// f(i, s) for i in [0, n): s = 1 / (1 - p) where value offset + i is kept, 0 where it is dropped.
template <class T, class F>
void for_each_dropout_scale(int64_t n, double p, uint64_t key, int64_t offset, ThreadPool* pool, F&& f) {
  const uint32_t threshold = dropout_threshold(p);
  const T scale = T(1) / T(1 - p);
  for_range(pool, n, [&](int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; ++i) f(i, dropout_keeps(key, offset + i, threshold) ? scale : T(0));
  }, 8);
}

template <class T>
void dropout_residual_forward(const T* branch, T* y, int64_t n, double p, uint64_t key, int64_t offset = 0,
                              ThreadPool* pool = nullptr) {
  for_each_dropout_scale<T>(n, p, key, offset, pool, [&](int64_t i, T s) {
    if (s != T(0)) y[i] += branch[i] * s;
  });
}

// The branch's gradient from the residual's: dbranch = keep * dy / (1 - p).
template <class T>
void dropout_backward(const T* dy, T* dbranch, int64_t n, double p, uint64_t key, int64_t offset = 0,
                      ThreadPool* pool = nullptr) {
  for_each_dropout_scale<T>(n, p, key, offset, pool, [&](int64_t i, T s) { dbranch[i] = s != T(0) ? dy[i] * s : T(0); });
}

}  // namespace edgelm::training
