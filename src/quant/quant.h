#pragma once
// Quantised block formats (Q8_0, Q5_0, Q4_0) with ggml's exact layouts.
// This header is the entry point the model layer uses; the block structs,
// traits table and SIMD kernels live beside it.
#include <cstdint>

#include "platform/tensor_type.h"

namespace edgelm {

bool is_quantized(TensorType type);
// Dequantises n values (a multiple of the block size) of a quantised row.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);
// Quantises n values (a multiple of the block size) into dst (tensor_row_bytes(type, n) bytes).
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

}  // namespace edgelm
