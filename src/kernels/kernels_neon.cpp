// NEON kernels for aarch64 (every ARMv8-A core; NEON is part of the baseline,
// so unlike the x86 columns nothing here needs a target attribute). The same
// algorithms as the AVX2 file at 4 lanes, with twice its 16 registers to hold
// tiles in; tails that do not fill a vector run scalar.
#include "kernels/kernels.h"

#if !defined(__aarch64__)
#error "the aarch64 column: CMake compiles it only for aarch64 targets"
#endif

#include <arm_neon.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "platform/error.h"
#include "platform/numeric.h"

// Loops over a tile's registers are unrolled outright, so that accumulator
// arrays are only indexed by constants and live in registers.
#define EDGELM_UNROLL _Pragma("GCC unroll 16")

namespace edgelm {
namespace {

template <TensorType T>
inline float32x4_t load4(const uint8_t* row, int64_t c) {
  if constexpr (T == TensorType::F32) {
    return vld1q_f32(reinterpret_cast<const float*>(row) + c);
  } else {
    const uint16x4_t h = vld1_u16(reinterpret_cast<const uint16_t*>(row) + c);
    // f16: the hardware conversion (FCVTL, in the baseline); bf16: the upper half of an f32.
    if constexpr (T == TensorType::F16) return vcvt_f32_f16(vreinterpret_f16_u16(h));
    else return vreinterpretq_f32_u32(vshll_n_u16(h, 16));
  }
}

template <TensorType T>
inline float load1(const uint8_t* row, int64_t c) {
  if constexpr (T == TensorType::F32) return reinterpret_cast<const float*>(row)[c];
  else if constexpr (T == TensorType::F16) return f16_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
  else return bf16_to_f32(reinterpret_cast<const uint16_t*>(row)[c]);
}

// e^x as in the x86 files: x = n ln2 + r with |r| <= ln2 / 2, a degree-7
// polynomial for e^r, and 2^n built in the exponent bits, so x is clamped to
// the range where n stays a normal exponent.
inline float32x4_t exp4(float32x4_t x) {
  x = vmaxq_f32(vminq_f32(x, vdupq_n_f32(88.3762626647949f)), vdupq_n_f32(-87.3365478515625f));
  const float32x4_t n = vrndnq_f32(vmulq_f32(x, vdupq_n_f32(1.44269504088896341f)));
  float32x4_t r = vfmsq_f32(x, n, vdupq_n_f32(0.693145751953125f));
  r = vfmsq_f32(r, n, vdupq_n_f32(1.428606765330187045e-06f));
  float32x4_t p = vdupq_n_f32(1.0f / 5040);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 720), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 120), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 24), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f / 6), p, r);
  p = vfmaq_f32(vdupq_n_f32(0.5f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  p = vfmaq_f32(vdupq_n_f32(1.0f), p, r);
  const int32x4_t e = vshlq_n_s32(vaddq_s32(vcvtq_s32_f32(n), vdupq_n_s32(127)), 23);
  return vmulq_f32(p, vreinterpretq_f32_s32(e));
}

// ---- few tokens: dot products ----

template <TensorType T, int R>
void dot_rows(const uint8_t* w, int64_t row_bytes, int64_t cols, const float* x, float* out) {
  float32x4_t acc0[R], acc1[R];
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r) acc0[r] = acc1[r] = vdupq_n_f32(0.0f);
  int64_t c = 0;
  // The next R rows follow these in memory: their lines at the same columns
  // are requested R rows ahead of the loads, as in the x86 versions.
  constexpr int64_t kElemBytes = T == TensorType::F32 ? 4 : 2;
  const uint8_t* ahead = w + R * row_bytes;
  for (; c + 8 <= cols; c += 8) {
    const float32x4_t x0 = vld1q_f32(x + c), x1 = vld1q_f32(x + c + 4);
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r) {
      __builtin_prefetch(ahead + r * row_bytes + c * kElemBytes);
      acc0[r] = vfmaq_f32(acc0[r], load4<T>(w + r * row_bytes, c), x0);
      acc1[r] = vfmaq_f32(acc1[r], load4<T>(w + r * row_bytes, c + 4), x1);
    }
  }
  for (; c + 4 <= cols; c += 4) {
    const float32x4_t x0 = vld1q_f32(x + c);
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r) acc0[r] = vfmaq_f32(acc0[r], load4<T>(w + r * row_bytes, c), x0);
  }
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r) {
    float s = vaddvq_f32(vaddq_f32(acc0[r], acc1[r]));
    for (int64_t k = c; k < cols; ++k) s += load1<T>(w + r * row_bytes, k) * x[k];
    out[r] = s;
  }
}

template <TensorType T>
void matmul_dot(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t n_tokens,
                int64_t row_begin, int64_t row_end, bool accumulate) {
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

// A panel holds 8 rows (two vectors) column-interleaved; a tile of up to 8
// tokens keeps 16 accumulators, half of NEON's 32 registers.
constexpr int kPanelRows = 8;
constexpr int kMaxTileTokens = 8;

template <int MT>
void micro_tile(const float* panel, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy, int n_rows,
                bool accumulate) {
  float32x4_t a0[MT], a1[MT];
  EDGELM_UNROLL
  for (int t = 0; t < MT; ++t) a0[t] = a1[t] = vdupq_n_f32(0.0f);
  for (int64_t c = 0; c < cols; ++c) {
    const float32x4_t w0 = vld1q_f32(panel + c * kPanelRows), w1 = vld1q_f32(panel + c * kPanelRows + 4);
    EDGELM_UNROLL
    for (int t = 0; t < MT; ++t) {
      const float xt = x[t * ldx + c];
      a0[t] = vfmaq_n_f32(a0[t], w0, xt);
      a1[t] = vfmaq_n_f32(a1[t], w1, xt);
    }
  }
  EDGELM_UNROLL
  for (int t = 0; t < MT; ++t) {
    float* out = y + t * ldy;
    if (n_rows == kPanelRows) {
      if (accumulate) {
        a0[t] = vaddq_f32(a0[t], vld1q_f32(out));
        a1[t] = vaddq_f32(a1[t], vld1q_f32(out + 4));
      }
      vst1q_f32(out, a0[t]);
      vst1q_f32(out + 4, a1[t]);
    } else {
      float tmp[kPanelRows];
      vst1q_f32(tmp, a0[t]);
      vst1q_f32(tmp + 4, a1[t]);
      for (int j = 0; j < n_rows; ++j) out[j] = accumulate ? out[j] + tmp[j] : tmp[j];
    }
  }
}

using MicroTile = void (*)(const float*, int64_t, const float*, int64_t, float*, int64_t, int, bool);
constexpr MicroTile kMicroTiles[kMaxTileTokens + 1] = {nullptr,       micro_tile<1>, micro_tile<2>,
                                                       micro_tile<3>, micro_tile<4>, micro_tile<5>,
                                                       micro_tile<6>, micro_tile<7>, micro_tile<8>};

template <TensorType T>
void pack_panel(const uint8_t* w, int64_t row_bytes, int64_t cols, int64_t n_rows, float* panel) {
  float tmp[4];
  for (int64_t j = 0; j < kPanelRows; ++j) {
    if (j >= n_rows) {
      for (int64_t c = 0; c < cols; ++c) panel[c * kPanelRows + j] = 0;
      continue;
    }
    const uint8_t* row = w + j * row_bytes;
    int64_t c = 0;
    for (; c + 4 <= cols; c += 4) {
      vst1q_f32(tmp, load4<T>(row, c));
      for (int64_t i = 0; i < 4; ++i) panel[(c + i) * kPanelRows + j] = tmp[i];
    }
    for (; c < cols; ++c) panel[c * kPanelRows + j] = load1<T>(row, c);
  }
}

template <TensorType T>
void matmul_packed(const void* wv, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy, int64_t n_tokens,
                   int64_t row_begin, int64_t row_end, bool accumulate) {
  const int64_t row_bytes = kernel_row_bytes(T, cols);
  const uint8_t* w = static_cast<const uint8_t*>(wv);
  thread_local std::vector<float> panel;
  if (panel.size() < size_t(cols) * kPanelRows) panel.resize(size_t(cols) * kPanelRows);
  for (int64_t r0 = row_begin; r0 < row_end; r0 += kPanelRows) {
    const int n_rows = int(std::min<int64_t>(kPanelRows, row_end - r0));
    pack_panel<T>(w + r0 * row_bytes, row_bytes, cols, n_rows, panel.data());
    for (int64_t t = 0; t < n_tokens; t += kMaxTileTokens) {
      const int mt = int(std::min<int64_t>(kMaxTileTokens, n_tokens - t));
      kMicroTiles[mt](panel.data(), cols, x + t * ldx, ldx, y + t * ldy + r0, ldy, n_rows, accumulate);
    }
  }
}

// From this many tokens, packing a panel once pays for itself over the tokens' dot products.
constexpr int64_t kPackedMinTokens = 6;

void matmul(TensorType w_type, const void* w, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
            int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  const bool packed = n_tokens >= kPackedMinTokens;
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

float dot(const float* a, const float* b, int64_t n) {
  float32x4_t acc0 = vdupq_n_f32(0.0f), acc1 = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
    acc1 = vfmaq_f32(acc1, vld1q_f32(a + i + 4), vld1q_f32(b + i + 4));
  }
  for (; i + 4 <= n; i += 4) acc0 = vfmaq_f32(acc0, vld1q_f32(a + i), vld1q_f32(b + i));
  float s = vaddvq_f32(vaddq_f32(acc0, acc1));
  for (; i < n; ++i) s += a[i] * b[i];
  return s;
}

void axpy(float alpha, const float* x, float* y, int64_t n) {
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vst1q_f32(y + i, vfmaq_n_f32(vld1q_f32(y + i), vld1q_f32(x + i), alpha));
  for (; i < n; ++i) y[i] += alpha * x[i];
}

void rmsnorm(const float* x, const float* gain, float* y, int64_t n, float eps) {
  float32x4_t acc = vdupq_n_f32(0.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t v = vld1q_f32(x + i);
    acc = vfmaq_f32(acc, v, v);
  }
  float sum_sq = vaddvq_f32(acc);
  for (; i < n; ++i) sum_sq += x[i] * x[i];
  const float scale = 1.0f / std::sqrt(sum_sq / float(n) + eps);
  for (i = 0; i + 4 <= n; i += 4)
    vst1q_f32(y + i, vmulq_f32(vmulq_n_f32(vld1q_f32(x + i), scale), vld1q_f32(gain + i)));
  for (; i < n; ++i) y[i] = x[i] * scale * gain[i];
}

void softmax(float* x, int64_t n) {
  float32x4_t vmax = vdupq_n_f32(-INFINITY);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) vmax = vmaxq_f32(vmax, vld1q_f32(x + i));
  float max = vmaxvq_f32(vmax);
  for (; i < n; ++i) max = std::max(max, x[i]);
  const float32x4_t mx = vdupq_n_f32(max);
  float32x4_t sum = vdupq_n_f32(0.0f);
  for (i = 0; i + 4 <= n; i += 4) {
    const float32x4_t e = exp4(vsubq_f32(vld1q_f32(x + i), mx));
    sum = vaddq_f32(sum, e);
    vst1q_f32(x + i, e);
  }
  float total = vaddvq_f32(sum);
  for (; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    total += x[i];
  }
  const float inv = 1.0f / total;
  for (i = 0; i + 4 <= n; i += 4) vst1q_f32(x + i, vmulq_n_f32(vld1q_f32(x + i), inv));
  for (; i < n; ++i) x[i] *= inv;
}

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  const float32x4_t one = vdupq_n_f32(1.0f);
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    const float32x4_t g = vld1q_f32(gate + i);
    const float32x4_t silu = vdivq_f32(g, vaddq_f32(one, exp4(vnegq_f32(g))));
    vst1q_f32(out + i, vmulq_f32(silu, vld1q_f32(up + i)));
  }
  for (; i < n; ++i) out[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void rope(float* x, int64_t n_vec, int64_t dim, const float* cos2, const float* sin2) {
  for (int64_t v = 0; v < n_vec; ++v) {
    float* p = x + v * dim;
    int64_t i = 0;
    for (; i + 4 <= dim; i += 4) {
      const float32x4_t a = vld1q_f32(p + i);
      const float32x4_t swapped = vrev64q_f32(a);  // (x1, x0, x3, x2): each pair's partner
      vst1q_f32(p + i, vfmaq_f32(vmulq_f32(a, vld1q_f32(cos2 + i)), swapped, vld1q_f32(sin2 + i)));
    }
    for (; i < dim; i += 2) {
      const float a = p[i], b = p[i + 1];
      p[i] = a * cos2[i] + b * sin2[i];
      p[i + 1] = b * cos2[i + 1] + a * sin2[i + 1];
    }
  }
}

// ---- attention ----

// a[r][c] += x[r * ldx] * y[4c .. 4c + 4) for R rows: one step of either
// attention half (a query component times a key row, or a weight times a value row).
template <int R, int NV>
inline __attribute__((always_inline)) void attn_step(float32x4_t (&a)[R][NV], const float* x, int64_t ldx,
                                                     const float* y) {
  float32x4_t yv[NV];
  EDGELM_UNROLL
  for (int c = 0; c < NV; ++c) yv[c] = vld1q_f32(y + 4 * c);
  EDGELM_UNROLL
  for (int r = 0; r < R; ++r) {
    const float xr = x[r * ldx];
    EDGELM_UNROLL
    for (int c = 0; c < NV; ++c) a[r][c] = vfmaq_n_f32(a[r][c], yv[c], xr);
  }
}

// out[r, 4c .. 4c + 4) (+)= sum_k x[r * ldx + k] * y[k * ldy + 4c ..] for R
// rows and NV vectors, k < n: the product both attention halves are made of
// (see the AVX2 file). With fewer than eight sums, consecutive k alternate
// between two accumulator sets to keep enough FMA chains independent.
template <int R, int NV>
void attn_tile(const float* x, int64_t ldx, const float* y, int64_t ldy, int64_t n, float* out, int64_t ldo,
               bool accumulate) {
  constexpr int U = R * NV < 8 ? 2 : 1;
  float32x4_t a[U][R][NV];
  EDGELM_UNROLL
  for (int u = 0; u < U; ++u)
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r)
      EDGELM_UNROLL
      for (int c = 0; c < NV; ++c) a[u][r][c] = vdupq_n_f32(0.0f);
  if (accumulate) {
    EDGELM_UNROLL
    for (int r = 0; r < R; ++r)
      EDGELM_UNROLL
      for (int c = 0; c < NV; ++c) a[0][r][c] = vld1q_f32(out + r * ldo + 4 * c);
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
      float32x4_t sum = a[0][r][c];
      EDGELM_UNROLL
      for (int u = 1; u < U; ++u) sum = vaddq_f32(sum, a[u][r][c]);
      vst1q_f32(out + r * ldo + 4 * c, sum);
    }
}

// attn_tile over `rows` rows, four at a time.
template <int NV>
void attn_rows(const float* x, int64_t ldx, int64_t rows, const float* y, int64_t ldy, int64_t n, float* out,
               int64_t ldo, bool accumulate) {
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

// 16 keys (four vectors) at a time: with four query rows, 16 accumulators.
void attn_scores(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk, int64_t n, float* scores,
                 int64_t lds) {
  int64_t j = 0;
  for (; j + 16 <= n; j += 16) attn_rows<4>(q, dim, rows, kt + j, ldk, dim, scores + j, lds, false);
  for (; j + 4 <= n; j += 4) attn_rows<1>(q, dim, rows, kt + j, ldk, dim, scores + j, lds, false);
  for (; j < n; ++j)
    for (int64_t r = 0; r < rows; ++r) {
      float sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += q[r * dim + d] * kt[d * ldk + j];
      scores[r * lds + j] = sum;
    }
}

// Keys in blocks of 64, so a block of values stays in L1 over every row and column group.
void attn_values(const float* p, int64_t lds, int64_t rows, const float* v, int64_t ldv, int64_t n, int64_t dim,
                 float* out) {
  for (int64_t j = 0; j < n; j += 64) {
    const int64_t keys = std::min<int64_t>(64, n - j);
    const float* pj = p + j;
    const float* vj = v + j * ldv;
    int64_t i = 0;
    for (; i + 16 <= dim; i += 16) attn_rows<4>(pj, lds, rows, vj + i, ldv, keys, out + i, dim, true);
    for (; i + 4 <= dim; i += 4) attn_rows<1>(pj, lds, rows, vj + i, ldv, keys, out + i, dim, true);
    for (; i < dim; ++i)
      for (int64_t r = 0; r < rows; ++r) {
        float sum = 0;
        for (int64_t k = 0; k < keys; ++k) sum += pj[r * lds + k] * vj[k * ldv + i];
        out[r * dim + i] += sum;
      }
  }
}

const Kernels kNeon = {Isa::Neon, matmul, dot, axpy, rmsnorm, softmax, swiglu, rope, attn_scores, attn_values};

}  // namespace

namespace detail {
const Kernels* neon_kernels() { return &kNeon; }
}  // namespace detail

}  // namespace edgelm
