#pragma once
// The quantised matmul kernels, one table per instruction set. The dispatch
// picks a table once per process (quant.cpp); tests call every table the CPU
// supports and compare it with the scalar one.
#include <cstdint>
#include <string_view>

#include "quant/blocks.h"

namespace edgelm::quant {

enum class Isa { Scalar, Avx2, Avx512Vnni };
std::string_view isa_name(Isa isa);
bool isa_supported(Isa isa);
// The fastest supported instruction set, or the one EDGELM_QUANT_ISA names
// (scalar, avx2, avx512vnni) if the CPU supports it.
Isa best_isa();

// y[t * ldy + r] = W[r, :] . x[t, :] (or += with accumulate) for r in [r_begin, r_end),
// t in [t_begin, t_end). W: rows of n_blocks blocks, row_bytes apart, starting at w (row 0).
using GemmFn = void (*)(const uint8_t* w, int64_t row_bytes, int64_t r_begin, int64_t r_end, const ActivationsQ8& x,
                        int64_t t_begin, int64_t t_end, float* y, int64_t ldy, bool accumulate);
using QuantizeActFn = void (*)(const float* x, int64_t ldx, ActivationsQ8& act, int64_t t_begin, int64_t t_end);

struct IsaKernels {
  GemmFn gemm_q8_0 = nullptr, gemm_q5_0 = nullptr, gemm_q4_0 = nullptr;
  QuantizeActFn quantize_activations = nullptr;
  GemmFn gemm(TensorType type) const;
};

// The table for an instruction set; Error if this build or CPU lacks it.
const IsaKernels& isa_kernels(Isa isa);

// Per-ISA tables (defined in kernels_*.cpp; null on a non-x86 build).
const IsaKernels* scalar_kernels();
const IsaKernels* avx2_kernels();
const IsaKernels* avx512vnni_kernels();

}  // namespace edgelm::quant
