#include "kernels/train_math.h"

#include <cmath>

#include "kernels/exp_avx512.h"

namespace edgelm {

namespace {

float exp_shift_sum_generic(float* x, int64_t n, float shift) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - shift);
    sum += x[i];
  }
  return sum;
}

void swiglu_forward_generic(const float* gate, const float* up, float* h, int64_t n) {
  for (int64_t i = 0; i < n; ++i) h[i] = gate[i] / (1.0f + std::exp(-gate[i])) * up[i];
}

void swiglu_backward_generic(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = gate[i], sig = 1.0f / (1.0f + std::exp(-g));
    dup[i] = dh[i] * g * sig;
    dgate[i] = dh[i] * up[i] * sig * (1.0f + g * (1.0f - sig));
  }
}

#if defined(__x86_64__)
using simd::exp16;

__attribute__((target("avx512f"))) inline __mmask16 tail_mask(int64_t left) {
  return left >= 16 ? __mmask16(0xffff) : __mmask16((1u << left) - 1);
}

__attribute__((target("avx512f"))) float exp_shift_sum_avx512(float* x, int64_t n, float shift) {
  const __m512 s = _mm512_set1_ps(shift);
  __m512 sum = _mm512_setzero_ps();
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 e = _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s)));
    _mm512_mask_storeu_ps(x + i, m, e);
    sum = _mm512_add_ps(sum, e);
  }
  alignas(64) float lanes[16];
  _mm512_store_ps(lanes, sum);
  float total = 0;
  for (float v : lanes) total += v;
  return total;
}

__attribute__((target("avx512f"))) inline __m512 sigmoid512(__m512 g) {
  const __m512 one = _mm512_set1_ps(1.0f);
  // exp(-g) overflows to inf for g < -88 and the sigmoid correctly becomes 0; for g > 87.3
  // exp16 returns 0 and the sigmoid is 1.
  return _mm512_div_ps(one, _mm512_add_ps(one, exp16(_mm512_sub_ps(_mm512_setzero_ps(), g))));
}

__attribute__((target("avx512f"))) void swiglu_forward_avx512(const float* gate, const float* up, float* h, int64_t n) {
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
    _mm512_mask_storeu_ps(h + i, m, _mm512_mul_ps(_mm512_mul_ps(g, sigmoid512(g)), u));
  }
}

__attribute__((target("avx512f"))) void swiglu_backward_avx512(const float* dh, const float* gate, const float* up,
                                                               float* dgate, float* dup, int64_t n) {
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < n; i += 16) {
    const __mmask16 m = tail_mask(n - i);
    const __m512 g = _mm512_maskz_loadu_ps(m, gate + i), u = _mm512_maskz_loadu_ps(m, up + i);
    const __m512 d = _mm512_maskz_loadu_ps(m, dh + i);
    const __m512 sig = sigmoid512(g);
    _mm512_mask_storeu_ps(dup + i, m, _mm512_mul_ps(d, _mm512_mul_ps(g, sig)));
    const __m512 dsilu = _mm512_mul_ps(sig, _mm512_fmadd_ps(g, _mm512_sub_ps(one, sig), one));
    _mm512_mask_storeu_ps(dgate + i, m, _mm512_mul_ps(_mm512_mul_ps(d, u), dsilu));
  }
}
#endif

}  // namespace

const TrainMath* train_math_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  static const TrainMath scalar{Isa::Scalar, exp_shift_sum_generic, swiglu_forward_generic, swiglu_backward_generic};
#if defined(__x86_64__)
  static const TrainMath avx512{Isa::Avx512, exp_shift_sum_avx512, swiglu_forward_avx512, swiglu_backward_avx512};
  if (isa == Isa::Avx512) return &avx512;
#endif
  return isa == Isa::Scalar ? &scalar : nullptr;
}

const TrainMath& train_math() {
  static const TrainMath& math = *isa_pick(isa_active(), train_math_for);
  return math;
}

float train_exp_shift_sum(float* x, int64_t n, float shift) { return train_math().exp_shift_sum(x, n, shift); }

void train_swiglu_forward(const float* gate, const float* up, float* h, int64_t n) {
  train_math().swiglu_forward(gate, up, h, n);
}

void train_swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n) {
  train_math().swiglu_backward(dh, gate, up, dgate, dup, n);
}

}  // namespace edgelm
