// The scalar reference kernels: plain loops in the order a reader expects,
// float accumulation, no reassociation. They define what the SIMD versions
// must match (within rounding) and are the only path on targets with no SIMD column.
#include <algorithm>
#include <cmath>

#include "kernels/kernels.h"
#include "platform/error.h"
#include "platform/numeric.h"

namespace edgelm {
namespace {

float weight_at(TensorType type, const void* row, int64_t c) {
  switch (type) {
    case TensorType::F32: return static_cast<const float*>(row)[c];
    case TensorType::F16: return f16_to_f32(static_cast<const uint16_t*>(row)[c]);
    default: return bf16_to_f32(static_cast<const uint16_t*>(row)[c]);
  }
}

void matmul_ref(TensorType w_type, const void* w, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate) {
  const int64_t row_bytes = kernel_row_bytes(w_type, cols);
  for (int64_t r = row_begin; r < row_end; ++r) {
    const void* row = static_cast<const uint8_t*>(w) + r * row_bytes;
    for (int64_t t = 0; t < n_tokens; ++t) {
      const float* xt = x + t * ldx;
      float sum = 0;
      for (int64_t c = 0; c < cols; ++c) sum += weight_at(w_type, row, c) * xt[c];
      float& out = y[t * ldy + r];
      out = accumulate ? out + sum : sum;
    }
  }
}

float dot_ref(const float* a, const float* b, int64_t n) {
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += a[i] * b[i];
  return sum;
}

void axpy_ref(float alpha, const float* x, float* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] += alpha * x[i];
}

void rmsnorm_ref(const float* x, const float* gain, float* y, int64_t n, float eps) {
  float sum_sq = 0;
  for (int64_t i = 0; i < n; ++i) sum_sq += x[i] * x[i];
  float scale = 1.0f / std::sqrt(sum_sq / float(n) + eps);
  for (int64_t i = 0; i < n; ++i) y[i] = x[i] * scale * gain[i];
}

void softmax_ref(float* x, int64_t n) {
  float max = x[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, x[i]);
  float sum = 0;
  for (int64_t i = 0; i < n; ++i) {
    x[i] = std::exp(x[i] - max);
    sum += x[i];
  }
  float inv = 1.0f / sum;
  for (int64_t i = 0; i < n; ++i) x[i] *= inv;
}

void swiglu_ref(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    float g = gate[i];
    out[i] = g / (1.0f + std::exp(-g)) * up[i];
  }
}

void rope_ref(float* x, int64_t n_vec, int64_t dim, const float* cos2, const float* sin2) {
  for (int64_t v = 0; v < n_vec; ++v) {
    float* p = x + v * dim;
    for (int64_t i = 0; i < dim; i += 2) {
      float a = p[i], b = p[i + 1];
      float c = cos2[i], s = sin2[i + 1];
      p[i] = a * c - b * s;
      p[i + 1] = a * s + b * c;
    }
  }
}

void attn_scores_ref(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk, int64_t n,
                     float* scores, int64_t lds) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) {
      float sum = 0;
      for (int64_t d = 0; d < dim; ++d) sum += q[r * dim + d] * kt[d * ldk + j];
      scores[r * lds + j] = sum;
    }
}

void attn_values_ref(const float* p, int64_t lds, int64_t rows, const float* v, int64_t ldv, int64_t n, int64_t dim,
                     float* out) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t j = 0; j < n; ++j) axpy_ref(p[r * lds + j], v + j * ldv, out + r * dim, dim);
}

const Kernels kScalar = {Isa::Scalar, matmul_ref,  dot_ref,         axpy_ref,       rmsnorm_ref,
                         softmax_ref, swiglu_ref, rope_ref,        attn_scores_ref, attn_values_ref};

}  // namespace

namespace detail {
const Kernels* scalar_kernels() { return &kScalar; }
}  // namespace detail

}  // namespace edgelm
