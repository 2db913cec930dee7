#pragma once
// The quantised matmul kernels, one table per instruction-set column
// (platform/cpu_features.h). The product picks a table once per process
// (quant.cpp); tests call every column's table and compare it with the scalar one.
#include <cstdint>
#include <vector>

#include "platform/cpu_features.h"
#include "quant/blocks.h"

namespace edgelm::quant {

// y[t * ldy + r] = W[r, :] . x[t, :] (or += with accumulate) for r in [r_begin, r_end),
// t in [t_begin, t_end). W: rows of n_blocks blocks, row_bytes apart, starting at w (row 0).
using GemmFn = void (*)(const uint8_t* w, int64_t row_bytes, int64_t r_begin, int64_t r_end, const ActivationsQ8& x,
                        int64_t t_begin, int64_t t_end, float* y, int64_t ldy, bool accumulate);
using QuantizeActFn = void (*)(const float* x, int64_t ldx, ActivationsQ8& act, int64_t t_begin, int64_t t_end);

// The row-interleaved ("x8") layout that pack_rows_x8 writes for Q8_0, Q5_0
// and Q4_0, for kernels that compute 8 rows in the 8 int32 lanes of one
// register: rows in groups of 8; a group holds, for each block b, 8 f16 scales
// (rows 0..7), for Q5_0 the fifth bits (below), and then the quants as 32-byte
// slices, each slice 4 bytes per row:
//   Q8_0: 8 slices, slice g = values 4g..4g+3 of each row, stored as q + 128 (unsigned)
//   Q4_0, Q5_0: 4 slices, slice p = bytes 4p..4p+3 of each row's qs (low
//         nibbles: values 4p.., high nibbles: values 16+4p..)
//   Q5_0's fifth bits: 8 little-endian 32-bit masks after the scales, one per
//         32 bytes of unpacked quants: mask p (p < 4) has bit 4i+k set when
//         value 4p+k of row i has its fifth bit, mask 4+p the same for value
//         16+4p+k, so that mask j marks the bytes of slice j's unpacked nibbles
//         (low for j < 4, high for j >= 4) that take 16 more.
// so a packed block is exactly 8 ggml blocks in size. A row group of a matrix
// with rows of row_bytes starts at group * 8 * row_bytes.
bool packable_x8(TensorType type, int64_t rows);
// Where a packed block's quant slices start: after the 8 scales (and Q5_0's masks).
constexpr int64_t x8_quants_at(TensorType type) { return type == TensorType::Q5_0 ? 48 : 16; }
void pack_rows_x8(TensorType type, const void* w, int64_t rows, int64_t cols, void* out);

struct IsaKernels {
  const char* name = "";  // "scalar", "avx2", "avx512vnni", "neon", "neon_dotprod"
  GemmFn gemm_q8_0 = nullptr, gemm_q5_0 = nullptr, gemm_q4_0 = nullptr;
  // Over the x8 layout (w: the packed matrix, row_bytes: the ggml row's bytes);
  // r_begin and r_end multiples of 8. Null when this instruction set has none.
  GemmFn gemm_q8_0_x8 = nullptr, gemm_q5_0_x8 = nullptr, gemm_q4_0_x8 = nullptr;
  QuantizeActFn quantize_activations = nullptr;
  GemmFn gemm(TensorType type) const;
  GemmFn gemm_x8(TensorType type) const;  // null when none
};

// The table of a column, or null when this build or CPU lacks it. The Avx512
// column's table needs AVX512-VNNI as well; the Neon column's is the SDOT
// version where the CPU has the dot-product extension, else the plain one.
const IsaKernels* kernels_for(Isa isa);
// Every table of the column that this CPU runs, kernels_for(isa) first: where a
// column chooses between versions inside itself (Neon with and without SDOT),
// the ones below the chosen, so that tests check each on one CPU.
std::vector<const IsaKernels*> kernel_versions_for(Isa isa);
// The table in use: isa_pick(isa_active(), kernels_for).
const IsaKernels& active_kernels();

// Per-column tables, each defined in its own file (kernels_<column>.cpp),
// which only a build for that architecture compiles.
const IsaKernels* scalar_kernels();
const IsaKernels* avx2_kernels();
const IsaKernels* avx512vnni_kernels();
const IsaKernels* neon_kernels();
const IsaKernels* neon_dotprod_kernels();

}  // namespace edgelm::quant
