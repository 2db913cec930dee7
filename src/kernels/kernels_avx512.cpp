// AVX-512 kernels (Zen 4, Ice Lake and later). Every function carries the
// target attribute, so the rest of the build stays at the x86-64 baseline and
// this code only runs after kernels() has seen the CPU support it.
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

#include "kernels/exp_avx512.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "platform/error.h"

#define EDGELM_AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,fma,f16c,avx2")))
// Loops over a tile's registers are unrolled outright, so that accumulator
// arrays are only indexed by constants and live in registers (without it GCC 12
// kept 16-register tiles on the stack, storing every accumulator each step).
#define EDGELM_UNROLL _Pragma("GCC unroll 16")

namespace edgelm {
namespace {

// ---- loads: 16 weights of any float type, widened to f32 ----

template <TensorType T>
EDGELM_AVX512 inline __m512 load16(const uint8_t* row, int64_t c) {
  if constexpr (T == TensorType::F32) {
    return _mm512_loadu_ps(reinterpret_cast<const float*>(row) + c);
  } else {
    __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(reinterpret_cast<const uint16_t*>(row) + c));
    if constexpr (T == TensorType::F16) return _mm512_cvtph_ps(h);
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

template <TensorType T>
EDGELM_AVX512 inline __m512 load16_mask(const uint8_t* row, int64_t c, __mmask16 m) {
  if constexpr (T == TensorType::F32) {
    return _mm512_maskz_loadu_ps(m, reinterpret_cast<const float*>(row) + c);
  } else {
    __m256i h = _mm256_maskz_loadu_epi16(m, reinterpret_cast<const uint16_t*>(row) + c);
    if constexpr (T == TensorType::F16) return _mm512_cvtph_ps(h);
    else return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
  }
}

EDGELM_AVX512 inline __mmask16 tail_mask(int64_t n) { return __mmask16((1u << n) - 1u); }

using simd::exp16;

// ---- decode-shaped products: a few tokens, one dot product per (row, token) ----

// R rows against one x vector; two accumulators per row keep 2R FMA chains in flight.
template <TensorType T, int R>
EDGELM_AVX512 void dot_rows(const uint8_t* w, int64_t row_bytes, int64_t cols, const float* x, float* out) {
  __m512 acc0[R], acc1[R];
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = _mm512_setzero_ps();
  int64_t c = 0;
  // The next R rows follow these in memory: ask for their lines at the same
  // columns, R rows (a few KiB) ahead of the loads, so that DRAM latency is
  // hidden by the time the next call reaches them.
  constexpr int64_t kElemBytes = T == TensorType::F32 ? 4 : 2;
  const uint8_t* ahead = w + R * row_bytes;
  for (; c + 32 <= cols; c += 32) {
    __m512 x0 = _mm512_loadu_ps(x + c), x1 = _mm512_loadu_ps(x + c + 16);
    for (int r = 0; r < R; ++r) {
      _mm_prefetch(reinterpret_cast<const char*>(ahead + r * row_bytes + c * kElemBytes), _MM_HINT_T0);
      if constexpr (kElemBytes == 4)
        _mm_prefetch(reinterpret_cast<const char*>(ahead + r * row_bytes + c * kElemBytes + 64), _MM_HINT_T0);
      acc0[r] = _mm512_fmadd_ps(load16<T>(w + r * row_bytes, c), x0, acc0[r]);
      acc1[r] = _mm512_fmadd_ps(load16<T>(w + r * row_bytes, c + 16), x1, acc1[r]);
    }
  }
  for (; c + 16 <= cols; c += 16) {
    __m512 x0 = _mm512_loadu_ps(x + c);
    for (int r = 0; r < R; ++r) acc0[r] = _mm512_fmadd_ps(load16<T>(w + r * row_bytes, c), x0, acc0[r]);
  }
  if (c < cols) {
    __mmask16 m = tail_mask(cols - c);
    __m512 x0 = _mm512_maskz_loadu_ps(m, x + c);
    for (int r = 0; r < R; ++r) acc1[r] = _mm512_fmadd_ps(load16_mask<T>(w + r * row_bytes, c, m), x0, acc1[r]);
  }
  for (int r = 0; r < R; ++r) out[r] = _mm512_reduce_add_ps(_mm512_add_ps(acc0[r], acc1[r]));
}

template <TensorType T>
EDGELM_AVX512 void matmul_dot(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
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

// ---- prompt-shaped products: many tokens, packed weight panels ----
//
// A panel holds kPanelRows rows of W transposed to column-major f32
// (panel[c * kPanelRows + j] = W[r0 + j, c]), so the micro-kernel multiplies
// two weight vectors by one broadcast activation per step and writes
// contiguous outputs with no horizontal sums. Packing converts f16/bf16 once
// per panel and is amortised over all the tokens.

constexpr int kPanelRows = 32;
constexpr int kMaxTileTokens = 8;

template <int MT>
EDGELM_AVX512 void micro_tile(const float* panel, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                              __mmask16 m0, __mmask16 m1, bool accumulate) {
  __m512 a0[MT], a1[MT];
  for (int t = 0; t < MT; ++t) a0[t] = a1[t] = _mm512_setzero_ps();
  for (int64_t c = 0; c < cols; ++c) {
    __m512 w0 = _mm512_load_ps(panel + c * kPanelRows), w1 = _mm512_load_ps(panel + c * kPanelRows + 16);
    for (int t = 0; t < MT; ++t) {
      __m512 xb = _mm512_set1_ps(x[t * ldx + c]);
      a0[t] = _mm512_fmadd_ps(w0, xb, a0[t]);
      a1[t] = _mm512_fmadd_ps(w1, xb, a1[t]);
    }
  }
  for (int t = 0; t < MT; ++t) {
    float* out = y + t * ldy;
    if (accumulate) {
      a0[t] = _mm512_add_ps(a0[t], _mm512_maskz_loadu_ps(m0, out));
      a1[t] = _mm512_add_ps(a1[t], _mm512_maskz_loadu_ps(m1, out + 16));
    }
    _mm512_mask_storeu_ps(out, m0, a0[t]);
    _mm512_mask_storeu_ps(out + 16, m1, a1[t]);
  }
}

using MicroTile = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, __mmask16, __mmask16, bool);
constexpr MicroTile kMicroTiles[kMaxTileTokens + 1] = {nullptr,        micro_tile<1>, micro_tile<2>, micro_tile<3>,
                                                       micro_tile<4>,  micro_tile<5>, micro_tile<6>, micro_tile<7>,
                                                       micro_tile<8>};

template <TensorType T>
EDGELM_AVX512 void pack_panel(const uint8_t* w, int64_t row_bytes, int64_t cols, int64_t n_rows, float* panel) {
  alignas(64) float tmp[16];
  for (int64_t j = 0; j < kPanelRows; ++j) {
    if (j >= n_rows) {
      for (int64_t c = 0; c < cols; ++c) panel[c * kPanelRows + j] = 0;
      continue;
    }
    const uint8_t* row = w + j * row_bytes;
    int64_t c = 0;
    for (; c < cols; c += 16) {
      int64_t n = std::min<int64_t>(16, cols - c);
      _mm512_store_ps(tmp, n == 16 ? load16<T>(row, c) : load16_mask<T>(row, c, tail_mask(n)));
      for (int64_t i = 0; i < n; ++i) panel[(c + i) * kPanelRows + j] = tmp[i];
    }
  }
}

template <TensorType T>
EDGELM_AVX512 void matmul_packed(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                                 int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  const int64_t row_bytes = kernel_row_bytes(T, cols);
  const uint8_t* w = static_cast<const uint8_t*>(wv);
  // One buffer per thread, grown on demand: no allocation in steady state.
  thread_local std::vector<float, std::allocator<float>> buffer;
  size_t need = size_t(cols) * kPanelRows + 16;
  if (buffer.size() < need) buffer.resize(need);
  float* panel = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(buffer.data()) + 63) & ~uintptr_t(63));
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
    int64_t n_rows = std::min<int64_t>(kPanelRows, row_end - r0);
    pack_panel<T>(w + r0 * row_bytes, row_bytes, cols, n_rows, panel);
    __mmask16 m0 = n_rows >= 16 ? __mmask16(0xffff) : tail_mask(n_rows);
    __mmask16 m1 = n_rows >= 32 ? __mmask16(0xffff) : n_rows > 16 ? tail_mask(n_rows - 16) : __mmask16(0);
    for (int64_t t = 0; t < n_tokens; t += kMaxTileTokens) {
      int mt = int(std::min<int64_t>(kMaxTileTokens, n_tokens - t));
      kMicroTiles[mt](panel, cols, x + t * ldx, ldx, y + t * ldy + r0, ldy, m0, m1, accumulate);
    }
  }
}

// Below this many tokens, packing costs more than it saves.
constexpr int64_t kPackedMinTokens = 6;

EDGELM_AVX512 void matmul(TensorType w_type, const void* w, int64_t cols, const float* x, int64_t ldx, float* y,
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

EDGELM_AVX512 float dot(const float* a, const float* b, int64_t n) {
  __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i), _mm512_loadu_ps(b + i), acc0);
    acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(a + i + 16), _mm512_loadu_ps(b + i + 16), acc1);
  }
  for (; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, a + i), _mm512_maskz_loadu_ps(m, b + i), acc0);
  }
  return _mm512_reduce_add_ps(_mm512_add_ps(acc0, acc1));
}

EDGELM_AVX512 void axpy(float alpha, const float* x, float* y, int64_t n) {
  __m512 va = _mm512_set1_ps(alpha);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(y + i, m, _mm512_fmadd_ps(va, _mm512_maskz_loadu_ps(m, x + i), _mm512_maskz_loadu_ps(m, y + i)));
  }
}

EDGELM_AVX512 void rmsnorm(const float* x, const float* gain, float* y, int64_t n, float eps) {
  __m512 acc = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    __m512 v = _mm512_maskz_loadu_ps(m, x + i);
    acc = _mm512_fmadd_ps(v, v, acc);
  }
  float scale = 1.0f / std::sqrt(_mm512_reduce_add_ps(acc) / float(n) + eps);
  __m512 vs = _mm512_set1_ps(scale);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), vs);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(v, _mm512_maskz_loadu_ps(m, gain + i)));
  }
}

EDGELM_AVX512 void softmax(float* x, int64_t n) {
  __m512 vmax = _mm512_set1_ps(-INFINITY);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    vmax = _mm512_mask_max_ps(vmax, m, vmax, _mm512_maskz_loadu_ps(m, x + i));
  }
  __m512 mx = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    __m512 e = exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), mx));
    e = _mm512_maskz_mov_ps(m, e);
    sum = _mm512_add_ps(sum, e);
    _mm512_mask_storeu_ps(x + i, m, e);
  }
  __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(sum));
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    _mm512_mask_storeu_ps(x + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, x + i), inv));
  }
}

EDGELM_AVX512 void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    __mmask16 m = n - i >= 16 ? __mmask16(0xffff) : tail_mask(n - i);
    __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
    __m512 silu = _mm512_div_ps(g, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
    _mm512_mask_storeu_ps(out + i, m, _mm512_mul_ps(silu, _mm512_maskz_loadu_ps(m, up + i)));
  }
}

EDGELM_AVX512 void rope(float* x, int64_t n_vec, int64_t dim, const float* cos2, const float* sin2) {
  for (int64_t v = 0; v < n_vec; ++v) {
    float* p = x + v * dim;
    for (int64_t i = 0; i < dim; i += 16) {
      __mmask16 m = dim - i >= 16 ? __mmask16(0xffff) : tail_mask(dim - i);
      __m512 a = _mm512_maskz_loadu_ps(m, p + i);
      __m512 swapped = _mm512_permute_ps(a, 0xB1);  // (x[2i+1], x[2i]) in each pair
      __m512 r = _mm512_fmadd_ps(swapped, _mm512_maskz_loadu_ps(m, sin2 + i),
                                 _mm512_mul_ps(a, _mm512_maskz_loadu_ps(m, cos2 + i)));
      _mm512_mask_storeu_ps(p + i, m, r);
    }
  }
}

// ---- attention ----

// a[r][c] += x[r * ldx] * y[16c .. 16c + 16) (masked by m[c]) for R rows: one
// step of either attention half (a query component times a key row, or a
// weight times a value row).
template <int R, int NV>
EDGELM_AVX512 inline __attribute__((always_inline)) void attn_step(__m512 (&a)[R][NV], const float* x, int64_t ldx,
                                                                   const float* y, const __mmask16* m) {
  __m512 yv[NV];
  EDGELM_UNROLL
  for (int c = 0; c < NV; ++c) yv[c] = _mm512_maskz_loadu_ps(m[c], y + 16 * c);
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r) {
    const __m512 xr = _mm512_set1_ps(x[r * ldx]);
    EDGELM_UNROLL
    for (int c = 0; c < NV; ++c) a[r][c] = _mm512_fmadd_ps(xr, yv[c], a[r][c]);
  }
}

// out[r, 16c .. 16c + 16) (+)= sum_k x[r * ldx + k] * y[k * ldy + 16c ..] for
// R rows and NV vectors (vector c masked by m[c]), k < n: the product both
// attention halves are made of (scores: x the queries, y the transposed keys,
// k over a head's components; values: x the weights, y the value rows, k over
// the keys). Each y vector loaded serves the R rows; with fewer than eight
// sums, consecutive k alternate between two accumulator sets, so that enough
// independent FMA chains hide the FMA latency.
template <int R, int NV>
EDGELM_AVX512 void attn_tile(const float* x, int64_t ldx, const float* y, int64_t ldy, int64_t n, const __mmask16* m,
                             float* out, int64_t ldo, bool accumulate) {
  constexpr int U = R * NV < 8 ? 2 : 1;
  __m512 a[U][R][NV] = {};
  if (accumulate) {
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r)
      EDGELM_UNROLL
      for (int c = 0; c < NV; ++c) a[0][r][c] = _mm512_maskz_loadu_ps(m[c], out + r * ldo + 16 * c);
  }
  int64_t k = 0;
  for (; k + U <= n; k += U)
    EDGELM_UNROLL
    for (int u = 0; u < U; ++u) attn_step<R, NV>(a[u], x + k + u, ldx, y + (k + u) * ldy, m);
  for (; k < n; ++k) attn_step<R, NV>(a[0], x + k, ldx, y + k * ldy, m);
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r)
    EDGELM_UNROLL
    for (int c = 0; c < NV; ++c) {
      __m512 sum = a[0][r][c];
      EDGELM_UNROLL
      for (int u = 1; u < U; ++u) sum = _mm512_add_ps(sum, a[u][r][c]);
      _mm512_mask_storeu_ps(out + r * ldo + 16 * c, m[c], sum);
    }
}

// attn_tile over `rows` rows, four at a time.
template <int NV>
EDGELM_AVX512 void attn_rows(const float* x, int64_t ldx, int64_t rows, const float* y, int64_t ldy, int64_t n,
                             const __mmask16* m, float* out, int64_t ldo, bool accumulate) {
  for (int64_t r = 0; r < rows; r += 4) {
    const float* xr = x + r * ldx;
    float* o = out + r * ldo;
    switch (std::min<int64_t>(4, rows - r)) {
      case 1: attn_tile<1, NV>(xr, ldx, y, ldy, n, m, o, ldo, accumulate); break;
      case 2: attn_tile<2, NV>(xr, ldx, y, ldy, n, m, o, ldo, accumulate); break;
      case 3: attn_tile<3, NV>(xr, ldx, y, ldy, n, m, o, ldo, accumulate); break;
      default: attn_tile<4, NV>(xr, ldx, y, ldy, n, m, o, ldo, accumulate); break;
    }
  }
}

// Vector c of a block of 64 starting at `begin` of n, masked to what lies below n.
EDGELM_AVX512 inline void block_masks(int64_t begin, int64_t n, __mmask16 (&m)[4]) {
  for (int c = 0; c < 4; ++c) {
    const int64_t left = n - begin - 16 * c;
    m[c] = left >= 16 ? __mmask16(0xffff) : left > 0 ? tail_mask(left) : __mmask16(0);
  }
}

// Keys 64 at a time: four vectors of scores per query row.
EDGELM_AVX512 void attn_scores(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk, int64_t n,
                               float* scores, int64_t lds) {
  for (int64_t j = 0; j < n; j += 64) {
    __mmask16 m[4];
    block_masks(j, n, m);
    attn_rows<4>(q, dim, rows, kt + j, ldk, dim, m, scores + j, lds, false);
  }
}

// Columns in blocks of up to 64 (a head of 64 in one pass), keys in blocks of
// 64 (a block of values stays in L1 while every row group goes over it).
EDGELM_AVX512 void attn_values(const float* p, int64_t lds, int64_t rows, const float* v, int64_t ldv, int64_t n,
                               int64_t dim, float* out) {
  for (int64_t i = 0; i < dim; i += 64) {
    __mmask16 m[4];
    block_masks(i, dim, m);
    const int nv = int((std::min<int64_t>(64, dim - i) + 15) / 16);
    for (int64_t j = 0; j < n; j += 64) {
      const int64_t keys = std::min<int64_t>(64, n - j);
      const float* pj = p + j;
      const float* vj = v + j * ldv + i;
      switch (nv) {
        case 1: attn_rows<1>(pj, lds, rows, vj, ldv, keys, m, out + i, dim, true); break;
        case 2: attn_rows<2>(pj, lds, rows, vj, ldv, keys, m, out + i, dim, true); break;
        case 3: attn_rows<3>(pj, lds, rows, vj, ldv, keys, m, out + i, dim, true); break;
        default: attn_rows<4>(pj, lds, rows, vj, ldv, keys, m, out + i, dim, true); break;
      }
    }
  }
}

const Kernels kAvx512 = {Isa::Avx512, matmul, dot, axpy, rmsnorm, softmax, swiglu, rope, attn_scores, attn_values};

}  // namespace

namespace detail {
const Kernels* avx512_kernels() { return &kAvx512; }
}  // namespace detail

}  // namespace edgelm
