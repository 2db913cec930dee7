#pragma once
// Quantised block formats (Q8_0, Q5_0, Q4_0) with ggml's exact layouts.
// This header is the entry point the model layer uses; the block structs,
// traits table and scalar reference in blocks.h / reference.cpp, the SIMD
// kernels and their run-time dispatch in kernels.h / kernels_*.cpp, and whole-
// file quantisation in quantize_file.h.
#include <cstdint>
#include <span>

#include "platform/tensor_type.h"

namespace edgelm {

class ThreadPool;
namespace quant {
struct ActivationsQ8;
}

bool is_quantized(TensorType type);
// Dequantises n values (a multiple of the block size) of a quantised row.
void dequantize_row(TensorType type, const void* src, float* dst, int64_t n);
// Quantises n values (a multiple of the block size) into dst (tensor_row_bytes(type, n) bytes).
void quantize_row(TensorType type, const float* src, void* dst, int64_t n);

// Quantised matrix product: y[t*rows + r] = sum_c W[r, c] * x[t*cols + c]
// for t < n_tokens, r < rows. W is `rows` rows of `cols` values stored in
// `type` (Q8_0, Q5_0 or Q4_0; cols a multiple of 32), i.e. a GGUF tensor with
// ne = {cols, rows}. The activations x are quantised on the fly to Q8_0-style
// 8-bit blocks, and the products are integer dot products, so the result
// matches dequantise-then-multiply up to that activation rounding (as in
// ggml). Work is split over the pool's threads by rows; y must not alias x.
// Thread-safe as long as concurrent calls use different pools.
//   x: (n_tokens, cols)   y: (n_tokens, rows)
void quant_matmul(TensorType type, const void* w, int64_t rows, int64_t cols, const float* x, float* y,
                  int64_t n_tokens, ThreadPool& pool);

// Several quantised products of the SAME input x (n_tokens, cols), e.g. q, k
// and v, or gate and up: x is quantised once and all the rows are split over
// the threads in ONE parallel region, which matters for decode, where a small
// model's matmuls take microseconds each. Output o gets
// o.y[t * o.ldy + r] = W_o[r, :] . x[t, :] (added to o.y with accumulate,
// e.g. the residual stream after the attention output projection).
struct QuantMatmulOutput {
  TensorType type = TensorType::Q8_0;
  const void* w = nullptr;  // rows x cols in `type`
  int64_t rows = 0;
  float* y = nullptr;
  int64_t ldy = 0;  // row stride of y (>= rows)
  bool accumulate = false;
  bool packed = false;  // w is in the x8 layout of quant_pack (rows a multiple of 8)
};
void quant_matmul_multi(std::span<const QuantMatmulOutput> outputs, const float* x, int64_t cols, int64_t n_tokens,
                        ThreadPool& pool);

// The two halves of quant_matmul, for callers that fuse more work into the
// product's parallel region (e.g. gate and up rows followed by SwiGLU on them).
// quantize_input quantises x (n_tokens, cols) into this thread's input scratch
// (one row in the calling thread, a batch over the pool) and returns a view
// valid until the next quantize_input call on this thread.
const quant::ActivationsQ8& quantize_input(const float* x, int64_t cols, int64_t n_tokens, ThreadPool& pool);
// Rows [r_begin, r_end) of W (`type`, act.n_blocks * 32 columns) times every
// token of act: y[t * ldy + r] = W[r, :] . x[t, :] (or += with accumulate).
// Single-threaded; safe to call concurrently on disjoint rows.
// With packed, w is in quant_pack's layout and r_begin, r_end are multiples of 8.
void quant_gemm_rows(TensorType type, const void* w, int64_t r_begin, int64_t r_end, const quant::ActivationsQ8& act,
                     float* y, int64_t ldy, bool accumulate, bool packed = false);

// Row-interleaved repacking done once at load time: whether the kernels in
// use have a faster product over a repacked copy of this matrix (Q8_0/Q5_0/Q4_0,
// rows a multiple of 8, AVX-512 VNNI), and the repacking itself into `out`
// (rows * tensor_row_bytes(type, cols) bytes: the same size as the input).
bool quant_packing_helps(TensorType type, int64_t rows);
void quant_pack(TensorType type, const void* w, int64_t rows, int64_t cols, void* out);

}  // namespace edgelm
