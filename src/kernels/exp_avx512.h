#pragma once
// e^x on 16 floats with AVX-512F, shared by the inference kernels (softmax,
// SwiGLU) and the training math (softmax, cross-entropy, SwiGLU). Include it
// only from code compiled for (or carrying a target attribute of) AVX-512F.
#if defined(__x86_64__)
#include <immintrin.h>

namespace edgelm::simd {

// x = n ln2 + r with |r| <= ln2/2 (ln 2 split in two so that n ln2 is exact
// enough), a degree-7 Taylor polynomial for e^r (relative error ~5e-9, below
// f32 rounding) and vscalefps for 2^n, which saturates to inf past 88.7.
// Below -87.3 the result would be denormal (slow) or, for -inf, NaN: it is 0.
// NaN stays NaN, so that a diverging run shows in its loss on every CPU.
// The maskz_ forms with a full mask: GCC 12's plain forms trip
// -Wmaybe-uninitialized inside its own headers.
__attribute__((target("avx512f"))) inline __m512 exp16(__m512 x) {
  const __mmask16 all = 0xffff;
  const __m512 xc = _mm512_maskz_min_ps(all, x, _mm512_set1_ps(88.8f));
  const __m512 n = _mm512_maskz_roundscale_ps(all, _mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f)),
                                              _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145751953125f), xc);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.428606765330187045e-06f), r);
  __m512 p = _mm512_set1_ps(1.0f / 5040);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 720));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  __m512 y = _mm512_maskz_scalef_ps(all, p, n);
  y = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.3f), _CMP_GE_OQ), y);
  return _mm512_mask_mov_ps(y, _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), x);
}

}  // namespace edgelm::simd
#endif
