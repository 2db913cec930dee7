#include "kernels/gemm_bf16.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "kernels/gemm_bands.h"
#include "platform/numeric.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgelm {

void gemm_bf16_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                   int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  auto r = [](float x) { return double(bf16_to_f32(f32_to_bf16(x))); };
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k)
        sum += r(trans_a ? A[k * lda + i] : A[i * lda + k]) * r(trans_b ? B[j * ldb + k] : B[k * ldb + j]);
      float& c = C[i * ldc + j];
      c = beta == 0.0f ? float(alpha * sum) : float(alpha * sum + double(beta) * c);
    }
  }
}

namespace {

// Packed operands hold bf16 pairs along k, the unit vdpbf16ps consumes: an
// MR-tall strip of op(A) is a[(k/2)*MR + r] = {A(r, k), A(r, k+1)} and an
// NR-wide strip of op(B) is b[(k/2)*NR + c] = {B(k, c), B(k+1, c)}, each pair one
// uint32 (low half: even k). An odd K is padded with a zero k.
using Microkernel = void (*)(int64_t K2, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, float alpha,
                             float beta, int m, int n);

constexpr int kMR = 8, kNR = 32;  // both kernels use the same tile, so they share the packing

// The packing conversions: out[c] = {row0[c], row1[c]} (a null row1 is zeros), and
// out[kp] = {src[2kp], src[2kp+1]} (an odd n ends with a zero).
using PairsAcrossRows = void (*)(const float* row0, const float* row1, int64_t n, uint32_t* out);
using PairsAlongRow = void (*)(const float* src, int64_t n, uint32_t* out);

struct KernelInfo {
  Isa isa;
  Microkernel fn;
  PairsAcrossRows across_rows;
  PairsAlongRow along_row;
};

inline void store_tile(const float* tile, float* c, int64_t ldc, float alpha, float beta, int m, int n) {
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      float v = alpha * tile[r * kNR + j];
      c[r * ldc + j] = beta == 0.0f ? v : v + beta * c[r * ldc + j];
    }
}

inline float lo_half(uint32_t p) { return bf16_to_f32(uint16_t(p)); }
inline float hi_half(uint32_t p) { return bf16_to_f32(uint16_t(p >> 16)); }

// vdpbf16ps's order: acc += a_odd * b_odd, then += a_even * b_even; each product is exact in f32.
void kernel_generic(int64_t K2, const uint32_t* a, const uint32_t* b, float* c, int64_t ldc, float alpha, float beta,
                    int m, int n) {
  float acc[kMR][kNR] = {};
  float b_even[kNR], b_odd[kNR];
  for (int64_t k = 0; k < K2; ++k) {
    for (int j = 0; j < kNR; ++j) {
      b_even[j] = lo_half(b[k * kNR + j]);
      b_odd[j] = hi_half(b[k * kNR + j]);
    }
    for (int r = 0; r < kMR; ++r) {
      const float a_even = lo_half(a[k * kMR + r]), a_odd = hi_half(a[k * kMR + r]);
      for (int j = 0; j < kNR; ++j) {
        float s = acc[r][j] + a_odd * b_odd[j];
        acc[r][j] = s + a_even * b_even[j];
      }
    }
  }
  store_tile(&acc[0][0], c, ldc, alpha, beta, m, n);
}

#if defined(__x86_64__)
// 8 x 32 tile: 16 zmm accumulators; per k pair two B vectors and eight A pair broadcasts.
__attribute__((target("avx512f,avx512bf16"))) void kernel_avx512_bf16(int64_t K2, const uint32_t* a,
                                                                      const uint32_t* b, float* c, int64_t ldc,
                                                                      float alpha, float beta, int m, int n) {
  __m512 acc[16];
  for (auto& x : acc) x = _mm512_setzero_ps();
  for (int64_t k = 0; k < K2; ++k) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(b), b1 = (__m512bh)_mm512_loadu_si512(b + 16);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      const __m512bh ar = (__m512bh)_mm512_set1_epi32(int(a[r]));
      acc[2 * r] = _mm512_dpbf16_ps(acc[2 * r], ar, b0);
      acc[2 * r + 1] = _mm512_dpbf16_ps(acc[2 * r + 1], ar, b1);
    }
    a += 8;
    b += 32;
  }
  if (m == 8 && n == 32) {
    const __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    for (int r = 0; r < 8; ++r) {
      float* row = c + r * ldc;
      __m512 x0 = _mm512_mul_ps(va, acc[2 * r]), x1 = _mm512_mul_ps(va, acc[2 * r + 1]);
      if (beta != 0.0f) {
        x0 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row), x0);
        x1 = _mm512_fmadd_ps(vb, _mm512_loadu_ps(row + 16), x1);
      }
      _mm512_storeu_ps(row, x0);
      _mm512_storeu_ps(row + 16, x1);
    }
    return;
  }
  alignas(64) float tile[8 * 32];
  for (int i = 0; i < 16; ++i) _mm512_store_ps(tile + 16 * i, acc[i]);
  store_tile(tile, c, ldc, alpha, beta, m, n);
}
#endif

// bf16 halves the bytes per element, so a KC twice gemm_f32's keeps the same cache footprint.
constexpr int64_t kKC = 512;
constexpr int64_t kNC = 2048;
constexpr int64_t kMC = 12 * kMR;

// f32 -> bf16 as vcvtneps2bf16 does it: round to nearest even, NaN stays NaN,
// denormal inputs become signed zeros (so both kernels see the same operands).
inline uint32_t to_bf16_bits(float f) {
  uint32_t bits;
  std::memcpy(&bits, &f, 4);
  if ((bits & 0x7f800000u) == 0) return (bits >> 16) & 0x8000u;
  return f32_to_bf16(f);
}

inline uint32_t pair(float even, float odd) { return to_bf16_bits(even) | to_bf16_bits(odd) << 16; }

// out[c] = {row0[c], row1[c]} for c < n; a null row1 is zeros.
void pairs_across_rows_scalar(const float* row0, const float* row1, int64_t n, uint32_t* out) {
  for (int64_t c = 0; c < n; ++c) out[c] = pair(row0[c], row1 ? row1[c] : 0.0f);
}

// out[kp] = {src[2kp], src[2kp+1]} for kp < ceil(n/2); an odd n ends with a zero.
void pairs_along_row_scalar(const float* src, int64_t n, uint32_t* out) {
  for (int64_t k = 0; k < n; k += 2) out[k / 2] = pair(src[k], k + 1 < n ? src[k + 1] : 0.0f);
}

#if defined(__x86_64__)
__attribute__((target("avx512f,avx512bf16"))) void pairs_across_rows_avx512(const float* row0, const float* row1,
                                                                            int64_t n, uint32_t* out) {
  for (int64_t c = 0; c < n; c += 16) {
    const __mmask16 m = n - c >= 16 ? __mmask16(0xffff) : __mmask16((1u << (n - c)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m, row0 + c);
    const __m512 x1 = row1 ? _mm512_maskz_loadu_ps(m, row1 + c) : _mm512_setzero_ps();
    const __m512i lo = _mm512_maskz_cvtepu16_epi32(__mmask16(0xffff), (__m256i)_mm512_cvtneps_pbh(x0));
    const __m512i hi = _mm512_maskz_slli_epi32(__mmask16(0xffff), _mm512_maskz_cvtepu16_epi32(__mmask16(0xffff), (__m256i)_mm512_cvtneps_pbh(x1)), 16);
    _mm512_mask_storeu_epi32(out + c, m, _mm512_or_si512(lo, hi));
  }
}

__attribute__((target("avx512f,avx512bf16"))) void pairs_along_row_avx512(const float* src, int64_t n,
                                                                          uint32_t* out) {
  for (int64_t k = 0; k < n; k += 32) {
    const int64_t left = n - k;
    const __mmask16 m0 = left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
    const __mmask16 m1 = left >= 32 ? __mmask16(0xffff) : left <= 16 ? __mmask16(0) : __mmask16((1u << (left - 16)) - 1);
    const __m512 x0 = _mm512_maskz_loadu_ps(m0, src + k), x1 = _mm512_maskz_loadu_ps(m1, src + k + 16);
    // bf16 element i of the result is src[k + i]: pair kp sits in 32-bit lane kp.
    const __m512i p = (__m512i)_mm512_cvtne2ps_pbh(x1, x0);
    const int64_t n_pairs = std::min<int64_t>(16, (left + 1) / 2);
    _mm512_mask_storeu_epi32(out + k / 2, __mmask16((1u << n_pairs) - 1), p);
  }
}
#endif

// The kernels of each column; only Avx512 with AVX512-BF16 has its own, the
// others take the portable one below it.
const KernelInfo* kernel_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  static const KernelInfo scalar{Isa::Scalar, kernel_generic, pairs_across_rows_scalar, pairs_along_row_scalar};
#if defined(__x86_64__)
  static const KernelInfo avx512{Isa::Avx512, kernel_avx512_bf16, pairs_across_rows_avx512, pairs_along_row_avx512};
  if (isa == Isa::Avx512 && cpu_features().avx512bf16) return &avx512;
#endif
  return isa == Isa::Scalar ? &scalar : nullptr;
}

const KernelInfo& active_kernel() {
  static const KernelInfo& kern = *isa_pick(isa_active(), kernel_for);
  return kern;
}

// op(A) rows [i0, i0+m), k in [p0, p0+kc) into strips of kMR rows; zeros beyond the matrix.
void pack_a(const KernelInfo& cv, bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t m, int64_t p0,
            int64_t kc, uint32_t* packed) {
  const int64_t k2 = (kc + 1) / 2;
  alignas(64) uint32_t tmp[kKC / 2];
  for (int64_t s = 0; s < m; s += kMR) {
    const int rows = int(std::min<int64_t>(kMR, m - s));
    uint32_t* dst = packed + s * k2;
    if (trans_a) {  // rows k, k+1 of A hold row pairs of op(A) side by side
      for (int64_t kp = 0; kp < k2; ++kp) {
        const float* r0 = A + (p0 + 2 * kp) * lda + i0 + s;
        cv.across_rows(r0, 2 * kp + 1 < kc ? r0 + lda : nullptr, rows, dst + kp * kMR);
        for (int r = rows; r < kMR; ++r) dst[kp * kMR + r] = 0;
      }
    } else {  // each row of op(A) is contiguous along k
      for (int r = 0; r < kMR; ++r) {
        if (r < rows) {
          cv.along_row(A + (i0 + s + r) * lda + p0, kc, tmp);
          for (int64_t kp = 0; kp < k2; ++kp) dst[kp * kMR + r] = tmp[kp];
        } else {
          for (int64_t kp = 0; kp < k2; ++kp) dst[kp * kMR + r] = 0;
        }
      }
    }
  }
}

// One kNR-wide strip of op(B) for k in [p0, p0+kc), columns [j0, j0+cols).
void pack_b_strip(const KernelInfo& cv, bool trans_b, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                  int64_t j0, int cols, uint32_t* packed) {
  const int64_t k2 = (kc + 1) / 2;
  if (trans_b) {  // column j of op(B) is row j of B, contiguous along k
    alignas(64) uint32_t tmp[kKC / 2];
    for (int c = 0; c < kNR; ++c) {
      if (c < cols) {
        cv.along_row(B + (j0 + c) * ldb + p0, kc, tmp);
        for (int64_t kp = 0; kp < k2; ++kp) packed[kp * kNR + c] = tmp[kp];
      } else {
        for (int64_t kp = 0; kp < k2; ++kp) packed[kp * kNR + c] = 0;
      }
    }
  } else {
    for (int64_t kp = 0; kp < k2; ++kp) {
      const float* r0 = B + (p0 + 2 * kp) * ldb + j0;
      cv.across_rows(r0, 2 * kp + 1 < kc ? r0 + ldb : nullptr, cols, packed + kp * kNR);
      for (int c = cols; c < kNR; ++c) packed[kp * kNR + c] = 0;
    }
  }
}

// The blocked product for rows [i_begin, i_end) and columns [j_begin, j_end) of C.
void gemm_region(const KernelInfo& kern, bool trans_a, bool trans_b, int64_t i_begin, int64_t i_end, int64_t j_begin,
                 int64_t j_end, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float beta, float* C, int64_t ldc) {
  static thread_local std::vector<uint32_t> a_buffer, b_buffer;
  const int64_t kc_max2 = (std::min(kKC, K) + 1) / 2;
  a_buffer.resize(size_t(kMC * kc_max2));
  b_buffer.resize(size_t(kc_max2 * std::min(kNC, (j_end - j_begin + kNR - 1) / kNR * kNR)));
  for (int64_t jc = j_begin; jc < j_end; jc += kNC) {
    const int64_t nc = std::min(kNC, j_end - jc);
    const int64_t n_strips = (nc + kNR - 1) / kNR;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc), k2 = (kc + 1) / 2;
      const float beta_block = pc == 0 ? beta : 1.0f;
      for (int64_t s = 0; s < n_strips; ++s) {
        const int cols = int(std::min<int64_t>(kNR, nc - s * kNR));
        pack_b_strip(kern, trans_b, B, ldb, pc, kc, jc + s * kNR, cols, b_buffer.data() + s * k2 * kNR);
      }
      for (int64_t i0 = i_begin; i0 < i_end; i0 += kMC) {
        const int64_t m = std::min(kMC, i_end - i0);
        pack_a(kern, trans_a, A, lda, i0, m, pc, kc, a_buffer.data());
        for (int64_t s = 0; s < n_strips; ++s) {
          const int64_t j0 = jc + s * kNR;
          const int n_valid = int(std::min<int64_t>(kNR, j_end - j0));
          const uint32_t* bs = b_buffer.data() + s * k2 * kNR;
          for (int64_t r0 = 0; r0 < m; r0 += kMR) {
            const int m_valid = int(std::min<int64_t>(kMR, m - r0));
            kern.fn(k2, a_buffer.data() + r0 * k2, bs, C + (i0 + r0) * ldc + j0, ldc, alpha, beta_block, m_valid,
                    n_valid);
          }
        }
      }
    }
  }
}

void gemm_with(const KernelInfo& kern, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha,
               const float* A, int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc,
               ThreadPool& pool) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0 || alpha == 0.0f) {
    gemm_detail::scale_c(M, N, beta, C, ldc);
    return;
  }
  gemm_detail::for_each_band(M, N, K, kMR, kNR, pool, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    gemm_region(kern, trans_a, trans_b, i0, i1, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc);
  });
}

}  // namespace

Isa gemm_bf16_isa() { return active_kernel().isa; }

void gemm_bf16(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
               const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool) {
  gemm_with(active_kernel(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

void gemm_bf16_on(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool) {
  gemm_with(*isa_pick(isa, kernel_for), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

}  // namespace edgelm
