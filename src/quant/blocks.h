#pragma once
// ggml's quantised block layouts, byte for byte, and the scalar reference
// for each format (quantise, dequantise, dot product with 8-bit activations).
//
// Every format holds 32 values per block with one f16 scale d:
//   Q8_0: value[i] = d * qs[i]                                  (qs int8)
//   Q4_0: value[j] = d * ((qs[j] & 15) - 8),  value[j+16] = d * ((qs[j] >> 4) - 8)
//   Q5_0: as Q4_0 with a fifth bit per value from qh (bit i of the little-endian
//         32-bit qh belongs to value i) and an offset of 16 instead of 8.
// The quantisers reproduce ggml's reference rounding (quantize_row_*_ref), so a
// file written here has the bytes llama.cpp's quantize tool would write.
#include <cstddef>
#include <cstdint>

#include "platform/tensor_type.h"

namespace edgelm::quant {

constexpr int kBlock = 32;  // values per block in every format here

#pragma pack(push, 1)
struct BlockQ8_0 {
  uint16_t d;             // f16 scale
  int8_t qs[kBlock];      // signed quants
};
struct BlockQ5_0 {
  uint16_t d;             // f16 scale
  uint8_t qh[4];          // fifth bit of each value, little-endian bit i = value i
  uint8_t qs[kBlock / 2]; // low nibble: value j, high nibble: value j+16
};
struct BlockQ4_0 {
  uint16_t d;             // f16 scale
  uint8_t qs[kBlock / 2]; // low nibble: value j, high nibble: value j+16
};
#pragma pack(pop)
static_assert(sizeof(BlockQ8_0) == 34, "block_q8_0 must match ggml");
static_assert(sizeof(BlockQ5_0) == 22, "block_q5_0 must match ggml");
static_assert(sizeof(BlockQ4_0) == 18, "block_q4_0 must match ggml");

// Activations quantised on the fly for the integer dot products: one row per
// token, 8-bit quants with a float scale per block, and the sum of each
// block's quants (Q4_0/Q5_0 store value + offset, so their dot product needs
// offset * sum(x) subtracted). Not a file format, so d stays f32.
//   qs: (n_tokens, n_blocks * 32)   d, sum: (n_tokens, n_blocks)
struct ActivationsQ8 {
  int64_t n_tokens = 0, n_blocks = 0;
  int8_t* qs = nullptr;
  float* d = nullptr;
  int32_t* sum = nullptr;
  const int8_t* row_qs(int64_t t) const { return qs + t * n_blocks * kBlock; }
  const float* row_d(int64_t t) const { return d + t * n_blocks; }
  const int32_t* row_sum(int64_t t) const { return sum + t * n_blocks; }
};

// Scalar reference of one format. vec_dot returns sum_i w[i] * x[i] over
// n_blocks blocks of a weight row against token t's quantised activations,
// accumulating each block's integer dot product exactly before scaling.
struct TypeTraits {
  TensorType type;
  size_t block_bytes;
  void (*quantize_ref)(const float* x, void* blocks, int64_t n);
  void (*dequantize_ref)(const void* blocks, float* y, int64_t n);
  float (*vec_dot_ref)(const void* w_row, const int8_t* x_qs, const float* x_d, const int32_t* x_sum, int64_t n_blocks);
};
// Null for a type that is not a quantised block type.
const TypeTraits* type_traits(TensorType type);

// Quantises n_tokens rows of n_blocks * 32 floats (row stride ldx) into act,
// whose arrays the caller sized. Rounds half to even (as SIMD rounding does).
void quantize_activations_ref(const float* x, int64_t ldx, ActivationsQ8& act, int64_t t_begin, int64_t t_end);

}  // namespace edgelm::quant
