// AVX2 + FMA + F16C kernels (Haswell, Zen 1 and later). The same algorithms as
// the AVX-512 file at 8 lanes; tails that do not fill a vector run scalar.
#include "kernels/kernels.h"

#if !defined(__x86_64__)
#error "an x86-64 column: CMake compiles it only for x86-64 targets"
#endif

// GCC 12 warns about the deliberately undefined lanes inside its own
// intrinsic headers (_mm512_undefined_ps and friends) once they are inlined.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "platform/error.h"
#include "platform/numeric.h"

#define EDGELM_AVX2 __attribute__((target("avx2,fma,f16c")))
// Loops over a tile's registers are unrolled outright, so that accumulator
// arrays are only indexed by constants and live in registers (without it GCC 12
// kept 16-register tiles on the stack, storing every accumulator each step).
#define EDGELM_UNROLL _Pragma("GCC unroll 16")

namespace edgelm {
namespace {

template <TensorType T>
EDGELM_AVX2 inline __m256 load8(const uint8_t* row, int64_t c) {
  if constexpr (T == TensorType::F32) {
    return _mm256_loadu_ps(reinterpret_cast<const float*>(row) + c);
  } else {
    __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(reinterpret_cast<const uint16_t*>(row) + c));
    if constexpr (T == TensorType::F16) return _mm256_cvtph_ps(h);
    else return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
  }
}

template <TensorType T>
inline float load1(const uint8_t* row, int64_t c) {
  if constexpr (T == TensorType::F32) return reinterpret_cast<const float*>(row)[c];
  else if constexpr (T == TensorType::F16) return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
  else return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
}

EDGELM_AVX2 inline float hsum8(__m256 v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

EDGELM_AVX2 inline float hmax8(__m256 v) {
  __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_max_ps(s, _mm_movehl_ps(s, s));
  s = _mm_max_ss(s, _mm_movehdup_ps(s));
  return _mm_cvtss_f32(s);
}

// e^x as in the AVX-512 file; 2^n is built in the exponent bits, so x is
// clamped to the range where n stays a normal exponent.
EDGELM_AVX2 inline __m256 exp8(__m256 x) {
  x = _mm256_max_ps(_mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f)), _mm256_set1_ps(-87.3365478515625f));
  __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693145751953125f), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(1.428606765330187045e-06f), r);
  __m256 p = _mm256_set1_ps(1.0f / 5040);
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 720));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
  __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

// ---- few tokens: dot products ----

template <TensorType T, int R>
EDGELM_AVX2 void dot_rows(const uint8_t* w, int64_t row_bytes, int64_t cols, const float* x, float* out) {
  __m256 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm256_setzero_ps();
  int64_t c = 0;
  // The next R rows follow these in memory: their lines at the same columns
  // are requested R rows ahead of the loads (as in the AVX-512 version; 16
  // columns are one 64-byte line of f32, half of one of f16/bf16).
  constexpr int64_t kElemBytes = T == TensorType::F32 ? 4 : 2;
  const uint8_t* ahead = w + R * row_bytes;
  for (; c + 16 <= cols; c += 16) {
    __m256 x0 = _mm256_loadu_ps(x + c), x1 = _mm256_loadu_ps(x + c + 8);
    for (int r = 0; r < R; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(ahead + r * row_bytes + c * kElemBytes), _MM_HINT_T0);
      acc0[r] = _mm256_fmadd_ps(load8<T>(w + r * row_bytes, c), x0, acc0[r]);
      acc1[r] = _mm256_fmadd_ps(load8<T>(w + r * row_bytes, c + 8), x1, acc1[r]);
    }
  }
  for (; c + 8 <= cols; c += 8) {
    __m256 x0 = _mm256_loadu_ps(x + c);
    for (int r = 0; r < R; ++r) acc0[r] = _mm256_fmadd_ps(load8<T>(w + r * row_bytes, c), x0, acc0[r]);
  }
  for (int r = 0; r < R; ++r) {
    float s = hsum8(_mm256_add_ps(acc0[r], acc1[r]));
    for (int64_t k = c; k < cols; ++k) s += load1<T>(w + r * row_bytes, k) * x[k];
    out[r] = s;
  }
}

template <TensorType T>
EDGELM_AVX2 void matmul_dot(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                            int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  const int64_t row_bytes = kernel_row_bytes(T, cols);
  const uint8_t* w = static_cast<const uint8_t*>(wv);
  constexpr int R = 4;
  float sums[R];
  int64_t r = row_begin;
  for (; r + R <= row_end; r += R) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      dot_rows<T, R>(w + r * row_bytes, row_bytes, cols, x + t * ldx, sums);
      float* out = y + t * ldy + r;
      for (int i = 0; i < R; ++i) out[i] = accumulate ? out[i] + sums[i] : sums[i];
    }
  }
  for (; r < row_end; ++r) {
    for (int64_t t = 0; t < n_tokens; ++t) {
      dot_rows<T, 1>(w + r * row_bytes, row_bytes, cols, x + t * ldx, sums);
      float* out = y + t * ldy + r;
      out[0] = accumulate ? out[0] + sums[0] : sums[0];
    }
  }
}

// ---- many tokens: packed panels (see the AVX-512 file) ----

constexpr int kPanelRows = 16;
constexpr int kMaxTileTokens = 6;

template <int MT>
EDGELM_AVX2 void micro_tile(const float* panel, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                            int n_rows, bool accumulate) {
  __m256 a0[MT], a1[MT];
  for (int t = 0; t < MT; ++t) a0[t] = a1[t] = _mm256_setzero_ps();
  for (int64_t c = 0; c < cols; ++c) {
    __m256 w0 = _mm256_load_ps(panel + c * kPanelRows), w1 = _mm256_load_ps(panel + c * kPanelRows + 8);
    for (int t = 0; t < MT; ++t) {
      __m256 xb = _mm256_broadcast_ss(x + t * ldx + c);
      a0[t] = _mm256_fmadd_ps(w0, xb, a0[t]);
      a1[t] = _mm256_fmadd_ps(w1, xb, a1[t]);
    }
  }
  for (int t = 0; t < MT; ++t) {
    float* out = y + t * ldy;
    if (n_rows == kPanelRows) {
      if (accumulate) {
        a0[t] = _mm256_add_ps(a0[t], _mm256_loadu_ps(out));
        a1[t] = _mm256_add_ps(a1[t], _mm256_loadu_ps(out + 8));
      }
      _mm256_storeu_ps(out, a0[t]);
      _mm256_storeu_ps(out + 8, a1[t]);
    } else {
      alignas(32) float tmp[kPanelRows];
      _mm256_store_ps(tmp, a0[t]);
      _mm256_store_ps(tmp + 8, a1[t]);
      for (int j = 0; j < n_rows; ++j) out[j] = accumulate ? out[j] + tmp[j] : tmp[j];
    }
  }
}

using MicroTile = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int, bool);
constexpr MicroTile kMicroTiles[kMaxTileTokens + 1] = {nullptr,       micro_tile<1>, micro_tile<2>, micro_tile<3>,
                                                       micro_tile<4>, micro_tile<5>, micro_tile<6>};

template <TensorType T>
EDGELM_AVX2 void pack_panel(const uint8_t* w, int64_t row_bytes, int64_t cols, int64_t n_rows, float* panel) {
  alignas(32) float tmp[8];
  for (int64_t j = 0; j < kPanelRows; ++j) {
    if (j >= n_rows) {
      for (int64_t c = 0; c < cols; ++c) panel[c * kPanelRows + j] = 0;
      continue;
    }
    const uint8_t* row = w + j * row_bytes;
    int64_t c = 0;
    for (; c + 8 <= cols; c += 8) {
      _mm256_store_ps(tmp, load8<T>(row, c));
      for (int64_t i = 0; i < 8; ++i) panel[(c + i) * kPanelRows + j] = tmp[i];
    }
    for (; c < cols; ++c) panel[c * kPanelRows + j] = load1<T>(row, c);
  }
}

template <TensorType T>
EDGELM_AVX2 void matmul_packed(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                               int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  const int64_t row_bytes = kernel_row_bytes(T, cols);
  const uint8_t* w = static_cast<const uint8_t*>(wv);
  thread_local std::vector<float> buffer;
  size_t need = size_t(cols) * kPanelRows + 8;
  if (buffer.size() < need) buffer.resize(need);
  float* panel = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buffer.data()) + 31) & ~uintptr_t(31));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
    int n_rows = int(std::min<int64_t>(kPanelRows, row_end - r0));
    pack_panel<T>(w + r0 * row_bytes, row_bytes, cols, n_rows, panel);
    for (int64_t t = 0; t < n_tokens; t += kMaxTileTokens) {
      int mt = int(std::min<int64_t>(kMaxTileTokens, n_tokens - t));
      kMicroTiles[mt](panel, cols, x + t * ldx, ldx, y + t * ldy + r0, ldy, n_rows, accumulate);
    }
  }
}

constexpr int64_t kPackedMinTokens = 6;

EDGELM_AVX2 void matmul(TensorType w_type, const void* w, int64_t cols, const float* x, int64_t ldx, float* y,
                        int64_t ldy, int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  bool packed = n_tokens >= kPackedMinTokens;
  switch (w_type) {
    case TensorType::F32:
      return packed ? matmul_packed<TensorType::F32>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate)
                    : matmul_dot<TensorType::F32>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate);
    case TensorType::F16:
      return packed ? matmul_packed<TensorType::F16>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate)
                    : matmul_dot<TensorType::F16>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate);
    case TensorType::BF16:
      return packed ? matmul_packed<TensorType::BF16>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate)
                    : matmul_dot<TensorType::BF16>(w, cols, x, ldx, y, ldy, n_tokens, row_begin, row_end, accumulate);
    default: fail("the float kernels do not read ", tensor_type_name(w_type), " weights");
  }
}

// ---- vector ops ----

EDGELM_AVX2 float dot(const float* a, const float* b, int64_t n) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
  }
  for (; i + 8 <= n; i += 8) acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  float s = hsum8(_mm256_add_ps(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

EDGELM_AVX2 void axpy(float alpha, const float* x, float* y, int64_t n) {
  __m256 va = _mm256_set1_ps(alpha);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, _mm256_loadu_ps(x + i), _mm256_loadu_ps(y + i)));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

EDGELM_AVX2 void rmsnorm(const float* x, const float* gain, float* y, int64_t n, float eps) {
  __m256 acc = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 v = _mm256_loadu_ps(x + i);
    acc = _mm256_fmadd_ps(v, v, acc);
  }
  float sum_sq = hsum8(acc);
  for (; i < n; ++i) sum_sq += x[i] * x[i];
  float scale = 1.0f / std::sqrt(sum_sq / float(n) + eps);
  __m256 vs = _mm256_set1_ps(scale);
  for (i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_mul_ps(_mm256_loadu_ps(x + i), vs), _mm256_loadu_ps(gain + i)));
  for (; i < n; ++i) y[i] = x[i] * scale * gain[i];
}

EDGELM_AVX2 void softmax(float* x, int64_t n) {
  __m256 vmax = _mm256_set1_ps(-INFINITY);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(x + i));
  float max = hmax8(vmax);
  for (; i < n; ++i) max = std::max(max, x[i]);
  __m256 mx = _mm256_set1_ps(max), sum = _mm256_setzero_ps();
  for (i = 0; i + 8 <= n; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), mx));
    sum = _mm256_add_ps(sum, e);
    _mm256_storeu_ps(x + i, e);
  }
  float total = hsum8(sum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    total += x[i];
  }
  float inv = 1.0f / total;
  __m256 vinv = _mm256_set1_ps(inv);
  for (i = 0; i + 8 <= n; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), vinv));
  for (; i < n; ++i) x[i] *= inv;
}

EDGELM_AVX2 void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const __m256 one = _mm256_set1_ps(1.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 g = _mm256_loadu_ps(gate + i);
    __m256 silu = _mm256_div_ps(g, _mm256_add_ps(one, exp8(_mm256_sub_ps(_mm256_setzero_ps(), g))));
    _mm256_storeu_ps(out + i, _mm256_mul_ps(silu, _mm256_loadu_ps(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

EDGELM_AVX2 void rope(float* x, int64_t n_vec, int64_t dim, const float* cos2, const float* sin2) {
  for (int64_t v = 0; v < n_vec; ++v) {
    float* p = x + v * dim;
    int64_t i = 0;
    for (; i + 8 <= dim; i += 8) {
      __m256 a = _mm256_loadu_ps(p + i);
      __m256 swapped = _mm256_permute_ps(a, 0xB1);
      _mm256_storeu_ps(p + i, _mm256_fmadd_ps(swapped, _mm256_loadu_ps(sin2 + i), _mm256_mul_ps(a, _mm256_loadu_ps(cos2 + i))));
    }
    for (; i < dim; i += 2) {
      float a = p[i], b = p[i + 1];
      p[i] = a * cos2[i] + b * sin2[i];
      p[i + 1] = b * cos2[i + 1] + a * sin2[i + 1];
    }
  }
}

// ---- attention ----

// a[r][c] += x[r * ldx] * y[8c .. 8c + 8) for R rows: one step of either
// attention half (a query component times a key row, or a weight times a value row).
template <int R, int NV>
EDGELM_AVX2 inline __attribute__((always_inline)) void attn_step(__m256 (&a)[R][NV], const float* x, int64_t ldx,
                                                                 const float* y) {
  __m256 yv[NV];
  EDGELM_UNROLL
  for (int c = 0; c < NV; ++c) yv[c] = _mm256_loadu_ps(y + 8 * c);
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m256 xr = _mm256_set1_ps(x[r * ldx]);
    EDGELM_UNROLL
    for (int c = 0; c < NV; ++c) a[r][c] = _mm256_fmadd_ps(xr, yv[c], a[r][c]);
  }
}

// out[r, 8c .. 8c + 8) (+)= sum_k x[r * ldx + k] * y[k * ldy + 8c ..] for R
// rows and NV vectors, k < n: the product both attention halves are made of
// (scores: x the queries, y the transposed keys, k over a head's components;
// values: x the weights, y the value rows, k over the keys). Each y vector
// loaded serves the R rows; with fewer than eight sums, consecutive k
// alternate between two accumulator sets to keep enough FMA chains independent.
template <int R, int NV>
EDGELM_AVX2 void attn_tile(const float* x, int64_t ldx, const float* y, int64_t ldy, int64_t n, float* out,
                           int64_t ldo, bool accumulate) {
  constexpr int U = R * NV < 8 ? 2 : 1;
  __m256 a[U][R][NV] = {};
  if (accumulate) {
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r)
      EDGELM_UNROLL
      for (int c = 0; c < NV; ++c) a[0][r][c] = _mm256_loadu_ps(out + r * ldo + 8 * c);
  }
  int64_t k = 0;
  for (; k + U <= n; k += U)
    EDGELM_UNROLL
    for (int u = 0; u < U; ++u) attn_step<R, NV>(a[u], x + k + u, ldx, y + (k + u) * ldy);
  for (; k < n; ++k) attn_step<R, NV>(a[0], x + k, ldx, y + k * ldy);
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r)
    EDGELM_UNROLL
    for (int c = 0; c < NV; ++c) {
      __m256 sum = a[0][r][c];
      EDGELM_UNROLL
      for (int u = 1; u < U; ++u) sum = _mm256_add_ps(sum, a[u][r][c]);
      _mm256_storeu_ps(out + r * ldo + 8 * c, sum);
    }
}

// attn_tile over `rows` rows, four at a time.
template <int NV>
EDGELM_AVX2 void attn_rows(const float* x, int64_t ldx, int64_t rows, const float* y, int64_t ldy, int64_t n,
                           float* out, int64_t ldo, bool accumulate) {
  for (int64_t r = 0; r < rows; r += 4) {
    const float* xr = x + r * ldx;
    float* o = out + r * ldo;
    switch (std::min<int64_t>(4, rows - r)) {
      case 1: attn_tile<1, NV>(xr, ldx, y, ldy, n, o, ldo, accumulate); break;
      case 2: attn_tile<2, NV>(xr, ldx, y, ldy, n, o, ldo, accumulate); break;
      case 3: attn_tile<3, NV>(xr, ldx, y, ldy, n, o, ldo, accumulate); break;
      default: attn_tile<4, NV>(xr, ldx, y, ldy, n, o, ldo, accumulate); break;
    }
  }
}

EDGELM_AVX2 void attn_scores(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk, int64_t n,
                             float* scores, int64_t lds) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) attn_rows<2>(q, dim, rows, kt + j, ldk, dim, scores + j, lds, false);
  for (; j + 8 <= n; j += 8) attn_rows<1>(q, dim, rows, kt + j, ldk, dim, scores + j, lds, false);
  for (; j < n; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      float sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += q[r * dim + d] * kt[d * ldk + j];
      scores[r * lds + j] = sum;
    }
}

// Keys in blocks of 64, so a block of values stays in L1 over every row and column group.
EDGELM_AVX2 void attn_values(const float* p, int64_t lds, int64_t rows, const float* v, int64_t ldv, int64_t n,
                             int64_t dim, float* out) {
  for (int64_t j = 0; j < n; j += 64) {
    const int64_t keys = std::min<int64_t>(64, n - j);
    const float* pj = p + j;
    const float* vj = v + j * ldv;
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16) attn_rows<2>(pj, lds, rows, vj + i, ldv, keys, out + i, dim, true);
    for (; i + 8 <= dim; i += 8) attn_rows<1>(pj, lds, rows, vj + i, ldv, keys, out + i, dim, true);
    for (; i < dim; ++i)
      for (int64_t r = 0; r < rows; ++r) {
        float sum = 0;
        for (int64_t k = 0; k < keys; ++k) sum += pj[r * lds + k] * vj[k * ldv + i];
        out[r * dim + i] += sum;
      }
  }
}

const Kernels kAvx2 = {Isa::Avx2, matmul, dot, axpy, rmsnorm, softmax, swiglu, rope, attn_scores, attn_values};

}  // namespace

namespace detail {
const Kernels* avx2_kernels() { return &kAvx2; }
}  // namespace detail

}  // namespace edgelm
