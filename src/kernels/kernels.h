#pragma once
// Model-agnostic numeric kernels: matrix products with f32/f16/bf16 weights,
// RMSNorm, RoPE, softmax, SwiGLU, and the dot/axpy pair attention is built from.
//
// Every kernel exists as a plain scalar reference (builds anywhere) and, on
// x86-64, as AVX2+FMA and AVX-512 versions compiled with per-function target
// attributes (the build itself stays at the x86-64 baseline), on aarch64 as a
// NEON version (NEON is part of the ARMv8-A baseline). The instruction set is chosen once per process; callers fetch the
// table with kernels() once per step and call through it, so dispatch costs
// one indirect call per kernel, not a feature test.
#include <cstdint>

#include "platform/cpu_features.h"
#include "platform/tensor_type.h"

namespace edgelm {

struct Kernels {
  Isa isa;

  // Weight-stationary matrix product. W holds rows of `cols` values of type `w_type`
  // (F32, F16 or BF16; row r starts at w + r * row bytes). For r in [row_begin, row_end)
  // and t in [0, n_tokens):
  //   y[t*ldy + r] = sum_c W[r, c] * x[t*ldx + c]      (accumulate: y[...] += the sum)
  // Callers split the rows between threads; any split is valid. Unsupported w_type: Error.
  void (*matmul)(TensorType w_type, const void* w, int64_t cols, const float* x, int64_t ldx, float* y, int64_t ldy,
                 int64_t n_tokens, int64_t row_begin, int64_t row_end, bool accumulate);

  float (*dot)(const float* a, const float* b, int64_t n);
  void (*axpy)(float alpha, const float* x, float* y, int64_t n);  // y += alpha * x

  // y = x / sqrt(mean(x^2) + eps) * gain   (y may alias x)
  void (*rmsnorm)(const float* x, const float* gain, float* y, int64_t n, float eps);
  // In place: x = exp(x - max) / sum; n >= 1.
  void (*softmax)(float* x, int64_t n);
  // out = silu(gate) * up, silu(g) = g / (1 + exp(-g))   (out may alias gate or up)
  void (*swiglu)(const float* gate, const float* up, float* out, int64_t n);
  // Rotates the adjacent pairs (x[2i], x[2i+1]) of n_vec vectors of `dim` values each:
  //   x'[2i]   = x[2i] cos_i - x[2i+1] sin_i,   x'[2i+1] = x[2i] sin_i + x[2i+1] cos_i
  // from tables of `dim` values laid out for SIMD: cos2 = {cos_0, cos_0, cos_1, cos_1, ...},
  // sin2 = {-sin_0, sin_0, -sin_1, sin_1, ...} (see rope_tables).
  void (*rope)(float* x, int64_t n_vec, int64_t dim, const float* cos2, const float* sin2);

  // Attention of `rows` queries over n cached keys and values, the two halves
  // around the softmax. The queries are rows of `dim` (q + r * dim, already
  // scaled by 1/sqrt(dim)); the keys are stored transposed (component d of key
  // j at kt[d * ldk + j]), so that a vector of scores builds up from broadcast
  // query components with no horizontal sums; the values are rows (v_j at
  // v + j * ldv). Every loaded key or value vector serves several queries:
  //   scores[r * lds + j] = sum_d q[r * dim + d] * kt[d * ldk + j]    for r < rows, j < n
  //   out[r * dim + i] += sum_j p[r * lds + j] * v_j[i]              for r < rows, i < dim
  void (*attn_scores)(const float* q, int64_t rows, int64_t dim, const float* kt, int64_t ldk, int64_t n,
                      float* scores, int64_t lds);
  void (*attn_values)(const float* p, int64_t lds, int64_t rows, const float* v, int64_t ldv, int64_t n,
                      int64_t dim, float* out);
};

// The table of the column in use (isa_active(), platform/cpu_features.h), chosen on first use.
const Kernels& kernels();
// The table of one column, or null when this build or CPU lacks it.
const Kernels* kernels_for(Isa isa);
// The scalar reference table.
const Kernels& kernels_ref();

// Fills the RoPE tables (dim values each) for one position:
// angle_i = pos * theta^(-2i/dim), as llama.cpp's "llama" rotation.
void rope_tables(int64_t pos, int64_t dim, float theta, float* cos2, float* sin2);

// Bytes the kernels need per weight row of `cols` values (F32/F16/BF16).
int64_t kernel_row_bytes(TensorType w_type, int64_t cols);

// Internal: the per-column tables, each defined in its own file, which only a
// build for that column's architecture compiles (kernels_<column>.cpp).
namespace detail {
const Kernels* scalar_kernels();
const Kernels* avx2_kernels();
const Kernels* avx512_kernels();
const Kernels* neon_kernels();
}  // namespace detail

}  // namespace edgelm
