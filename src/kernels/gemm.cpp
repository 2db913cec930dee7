#include "kernels/gemm.h"

#include "kernels/gemm_bands.h"

#include <algorithm>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgelm {

void gemm_f32_ref(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
                  const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  for (int64_t i = 0; i < M; ++i) {
    for (int64_t j = 0; j < N; ++j) {
      double sum = 0;
      for (int64_t k = 0; k < K; ++k) {
        double a = trans_a ? A[k * lda + i] : A[i * lda + k];
        double b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
        sum += a * b;
      }
      float& c = C[i * ldc + j];
      c = beta == 0.0f ? float(alpha * sum) : float(alpha * sum + double(beta) * c);
    }
  }
}

namespace {

// A microkernel computes one MR x NR tile of C from a packed MR-tall strip of
// op(A) (k-major: a[k*MR + r]) and a packed NR-wide strip of op(B) (b[k*NR + c]):
// C = alpha * (a . b) + beta * C, writing only the m x n valid corner.
using Microkernel = void (*)(int64_t K, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta,
                             int m, int n);

// Packs `rows` rows of kc values (row stride ld) k-major into strips `width` wide.
using Transpose = void (*)(const float* src, int64_t ld, int rows, int64_t kc, float* dst, int width);

struct KernelInfo {
  Isa isa;
  int mr, nr;
  Microkernel fn;
  Transpose transpose;
};

// Writes an MR x NR tile held in `tile` (row stride NR) into C's valid corner.
inline void store_tile(const float* tile, int nr, float* c, int64_t ldc, float alpha, float beta, int m, int n) {
  for (int r = 0; r < m; ++r)
    for (int j = 0; j < n; ++j) {
      float v = alpha * tile[r * nr + j];
      c[r * ldc + j] = beta == 0.0f ? v : v + beta * c[r * ldc + j];
    }
}

template <int MR, int NR>
void kernel_generic(int64_t K, const float* a, const float* b, float* c, int64_t ldc, float alpha, float beta, int m,
                    int n) {
  float acc[MR][NR] = {};
  for (int64_t k = 0; k < K; ++k) {
    for (int r = 0; r < MR; ++r) {
      float ar = a[k * MR + r];
      for (int j = 0; j < NR; ++j) acc[r][j] += ar * b[k * NR + j];
    }
  }
  store_tile(&acc[0][0], NR, c, ldc, alpha, beta, m, n);
}

#if defined(__x86_64__)
// 8 x 32 tile: 16 zmm accumulators, two B vectors per k, A broadcast from
// memory (folded into the FMA as an embedded broadcast).
__attribute__((target("avx512f"))) void kernel_avx512(int64_t K, const float* a, const float* b, float* c,
                                                      int64_t ldc, float alpha, float beta, int m, int n) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00;
  __m512 c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (int64_t k = 0; k < K; ++k) {
    __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 ar;
    ar = _mm512_set1_ps(a[0]); c00 = _mm512_fmadd_ps(ar, b0, c00); c01 = _mm512_fmadd_ps(ar, b1, c01);
    ar = _mm512_set1_ps(a[1]); c10 = _mm512_fmadd_ps(ar, b0, c10); c11 = _mm512_fmadd_ps(ar, b1, c11);
    ar = _mm512_set1_ps(a[2]); c20 = _mm512_fmadd_ps(ar, b0, c20); c21 = _mm512_fmadd_ps(ar, b1, c21);
    ar = _mm512_set1_ps(a[3]); c30 = _mm512_fmadd_ps(ar, b0, c30); c31 = _mm512_fmadd_ps(ar, b1, c31);
    ar = _mm512_set1_ps(a[4]); c40 = _mm512_fmadd_ps(ar, b0, c40); c41 = _mm512_fmadd_ps(ar, b1, c41);
    ar = _mm512_set1_ps(a[5]); c50 = _mm512_fmadd_ps(ar, b0, c50); c51 = _mm512_fmadd_ps(ar, b1, c51);
    ar = _mm512_set1_ps(a[6]); c60 = _mm512_fmadd_ps(ar, b0, c60); c61 = _mm512_fmadd_ps(ar, b1, c61);
    ar = _mm512_set1_ps(a[7]); c70 = _mm512_fmadd_ps(ar, b0, c70); c71 = _mm512_fmadd_ps(ar, b1, c71);
    a += 8;
    b += 32;
  }
  __m512 acc[16] = {c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71};
  if (m == 8 && n == 32) {
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
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
  store_tile(tile, 32, c, ldc, alpha, beta, m, n);
}

// 6 x 16 tile with 12 ymm accumulators, for AVX2 machines without AVX-512.
__attribute__((target("avx2,fma"))) void kernel_avx2(int64_t K, const float* a, const float* b, float* c, int64_t ldc,
                                                     float alpha, float beta, int m, int n) {
  __m256 acc[6][2];
  for (auto& row : acc) row[0] = row[1] = _mm256_setzero_ps();
  for (int64_t k = 0; k < K; ++k) {
    __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
#pragma GCC unroll 6
    for (int r = 0; r < 6; ++r) {
      __m256 ar = _mm256_broadcast_ss(a + r);
      acc[r][0] = _mm256_fmadd_ps(ar, b0, acc[r][0]);
      acc[r][1] = _mm256_fmadd_ps(ar, b1, acc[r][1]);
    }
    a += 6;
    b += 16;
  }
  alignas(32) float tile[6 * 16];
  for (int r = 0; r < 6; ++r) {
    _mm256_store_ps(tile + 16 * r, acc[r][0]);
    _mm256_store_ps(tile + 16 * r + 8, acc[r][1]);
  }
  store_tile(tile, 16, c, ldc, alpha, beta, m, n);
}
#endif

// Cache blocking: an A block (MC x KC) stays in L2 while B strips (KC x NR) stream through L1;
// a B panel (KC x NC) is shared by all threads.
constexpr int64_t kKC = 256;
constexpr int64_t kNC = 2048;
constexpr int64_t kMCStrips = 12;  // MC = 12 * MR rows

// dst[k*width + r] = src[r*ld + k] for r < rows, k < kc; zeros for rows <= r < width.
// Packing a row-major operand into k-major strips is a transpose; whole 8 x 8
// blocks go through AVX registers, as scalar stores strided by `width` were a
// tenth of a training step.
void transpose_rows_scalar(const float* src, int64_t ld, int rows, int64_t k_begin, int64_t kc, float* dst, int width) {
  for (int64_t k = k_begin; k < kc; ++k)
    for (int r = 0; r < width; ++r) dst[k * width + r] = r < rows ? src[r * ld + k] : 0.0f;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) void transpose_rows_avx2(const float* src, int64_t ld, int rows, int64_t kc,
                                                         float* dst, int width) {
  const int full = rows / 8 * 8;
  int64_t k0 = 0;
  if (full > 0) {
    for (; k0 + 8 <= kc; k0 += 8) {
      for (int r0 = 0; r0 < full; r0 += 8) {
        const float* s0 = src + r0 * ld + k0;
        __m256 r[8];
        for (int i = 0; i < 8; ++i) r[i] = _mm256_loadu_ps(s0 + i * ld);
        const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
        const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
        const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
        const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
        const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
        const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
        const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
        const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
        float* d = dst + k0 * width + r0;
        _mm256_storeu_ps(d + 0 * width, _mm256_permute2f128_ps(u0, u4, 0x20));
        _mm256_storeu_ps(d + 1 * width, _mm256_permute2f128_ps(u1, u5, 0x20));
        _mm256_storeu_ps(d + 2 * width, _mm256_permute2f128_ps(u2, u6, 0x20));
        _mm256_storeu_ps(d + 3 * width, _mm256_permute2f128_ps(u3, u7, 0x20));
        _mm256_storeu_ps(d + 4 * width, _mm256_permute2f128_ps(u0, u4, 0x31));
        _mm256_storeu_ps(d + 5 * width, _mm256_permute2f128_ps(u1, u5, 0x31));
        _mm256_storeu_ps(d + 6 * width, _mm256_permute2f128_ps(u2, u6, 0x31));
        _mm256_storeu_ps(d + 7 * width, _mm256_permute2f128_ps(u3, u7, 0x31));
      }
      for (int64_t k = k0; k < k0 + 8; ++k)  // the rows past the last whole block of 8
        for (int r = full; r < width; ++r) dst[k * width + r] = r < rows ? src[r * ld + k] : 0.0f;
    }
  }
  transpose_rows_scalar(src, ld, rows, k0, kc, dst, width);
}
#endif

void transpose_rows_generic(const float* src, int64_t ld, int rows, int64_t kc, float* dst, int width) {
  transpose_rows_scalar(src, ld, rows, 0, kc, dst, width);
}

// The microkernel and the packing transpose of each column; null where a column has none.
const KernelInfo* kernel_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  static const KernelInfo scalar{Isa::Scalar, 4, 16, kernel_generic<4, 16>, transpose_rows_generic};
#if defined(__x86_64__)
  static const KernelInfo avx2{Isa::Avx2, 6, 16, kernel_avx2, transpose_rows_avx2};
  static const KernelInfo avx512{Isa::Avx512, 8, 32, kernel_avx512, transpose_rows_avx2};
  switch (isa) {
    case Isa::Avx2: return &avx2;
    case Isa::Avx512: return &avx512;
    default: break;
  }
#endif
  return isa == Isa::Scalar ? &scalar : nullptr;
}

// packed[k*MR + r] = op(A)(i0 + r, p0 + k), zero beyond the matrix.
void pack_a(const KernelInfo& kern, bool trans_a, const float* A, int64_t lda, int64_t i0, int64_t m, int64_t p0,
            int64_t kc, float* packed) {
  const int mr = kern.mr;
  for (int64_t s = 0; s < m; s += mr) {
    int rows = int(std::min<int64_t>(mr, m - s));
    float* dst = packed + s * kc;
    if (trans_a) {
      for (int64_t k = 0; k < kc; ++k) {
        const float* src = A + (p0 + k) * lda + i0 + s;
        int r = 0;
        for (; r < rows; ++r) dst[k * mr + r] = src[r];
        for (; r < mr; ++r) dst[k * mr + r] = 0.0f;
      }
    } else {
      kern.transpose(A + (i0 + s) * lda + p0, lda, rows, kc, dst, mr);
    }
  }
}

// One NR-wide strip: packed[k*NR + c] = op(B)(p0 + k, j0 + c), zero beyond the matrix.
void pack_b_strip(const KernelInfo& kern, bool trans_b, const float* B, int64_t ldb, int64_t p0, int64_t kc,
                  int64_t j0, int cols, float* packed) {
  const int nr = kern.nr;
  if (trans_b) {
    kern.transpose(B + j0 * ldb + p0, ldb, cols, kc, packed, nr);
  } else {
    for (int64_t k = 0; k < kc; ++k) {
      const float* src = B + (p0 + k) * ldb + j0;
      int c = 0;
      for (; c < cols; ++c) packed[k * nr + c] = src[c];
      for (; c < nr; ++c) packed[k * nr + c] = 0.0f;
    }
  }
}

const KernelInfo& active_kernel() {
  static const KernelInfo& kern = *isa_pick(isa_active(), kernel_for);
  return kern;
}

// The whole blocked product for the rows [i_begin, i_end) and columns [j_begin, j_end) of C,
// with this thread's own packing buffers.
void gemm_region(const KernelInfo& kern, bool trans_a, bool trans_b, int64_t i_begin, int64_t i_end, int64_t j_begin,
                 int64_t j_end, int64_t K, float alpha, const float* A, int64_t lda, const float* B, int64_t ldb,
                 float beta, float* C, int64_t ldc) {
  const int mr = kern.mr, nr = kern.nr;
  const int64_t mc = kMCStrips * mr;
  static thread_local std::vector<float> a_buffer, b_buffer;
  a_buffer.resize(size_t(mc * std::min(kKC, K)));
  b_buffer.resize(size_t(std::min(kKC, K) * std::min(kNC, (j_end - j_begin + nr - 1) / nr * nr)));
  for (int64_t jc = j_begin; jc < j_end; jc += kNC) {
    const int64_t nc = std::min(kNC, j_end - jc);
    const int64_t n_strips = (nc + nr - 1) / nr;
    for (int64_t pc = 0; pc < K; pc += kKC) {
      const int64_t kc = std::min(kKC, K - pc);
      const float beta_block = pc == 0 ? beta : 1.0f;
      for (int64_t s = 0; s < n_strips; ++s) {
        const int cols = int(std::min<int64_t>(nr, nc - s * nr));
        pack_b_strip(kern, trans_b, B, ldb, pc, kc, jc + s * nr, cols, b_buffer.data() + s * kc * nr);
      }
      for (int64_t i0 = i_begin; i0 < i_end; i0 += mc) {
        const int64_t m = std::min(mc, i_end - i0);
        pack_a(kern, trans_a, A, lda, i0, m, pc, kc, a_buffer.data());
        for (int64_t s = 0; s < n_strips; ++s) {
          const int64_t j0 = jc + s * nr;
          const int n_valid = int(std::min<int64_t>(nr, j_end - j0));
          const float* bs = b_buffer.data() + s * kc * nr;
          for (int64_t r0 = 0; r0 < m; r0 += mr) {
            const int m_valid = int(std::min<int64_t>(mr, m - r0));
            kern.fn(kc, a_buffer.data() + r0 * kc, bs, C + (i0 + r0) * ldc + j0, ldc, alpha, beta_block, m_valid,
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
  gemm_detail::for_each_band(M, N, K, kern.mr, kern.nr, pool, [&](int64_t i0, int64_t i1, int64_t j0, int64_t j1) {
    gemm_region(kern, trans_a, trans_b, i0, i1, j0, j1, K, alpha, A, lda, B, ldb, beta, C, ldc);
  });
}

}  // namespace

Isa gemm_f32_isa() { return active_kernel().isa; }

void gemm_f32(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
              const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool) {
  gemm_with(active_kernel(), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

void gemm_f32_on(Isa isa, bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                 int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc, ThreadPool& pool) {
  gemm_with(*isa_pick(isa, kernel_for), trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool);
}

}  // namespace edgelm
