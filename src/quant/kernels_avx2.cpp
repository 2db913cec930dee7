// The quantised GEMM for AVX2 + FMA + F16C, chosen at run time
// (quant.cpp checks the CPU before calling anything here; the build itself
// targets the x86-64 baseline).
#include "quant/kernels.h"

#if !defined(__x86_64__)
#error "an x86-64 column: CMake compiles it only for x86-64 targets"
#endif

#include <immintrin.h>

#include <cstring>
#include <vector>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
#endif

#define EDGELM_QUANT_NS avx2
#define EDGELM_QUANT_VNNI 0
#include "quant/kernels_x86.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace edgelm::quant {
const IsaKernels* avx2_kernels() { return avx2::table(); }
}  // namespace edgelm::quant
