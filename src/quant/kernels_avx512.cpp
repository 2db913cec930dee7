// The quantised GEMM for AVX-512 VNNI (with BW and VL), chosen at run time
// (quant.cpp checks the CPU before calling anything here; the build itself
// targets the x86-64 baseline).
#include "quant/kernels.h"

#if !defined(__x86_64__)
#error "an x86-64 column: CMake compiles it only for x86-64 targets"
#endif

#include <immintrin.h>

#include <cstring>
#include <vector>

#include "platform/aligned_buffer.h"

// GCC 12 reports its own intrinsics' deliberately undefined pass-through
// operands (_mm512_undefined_*) as uninitialised; they are not.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c,avx512f,avx512bw,avx512vl,avx512vnni")
#endif

#define EDGELM_QUANT_NS avx512vnni
#define EDGELM_QUANT_VNNI 1
#include "quant/kernels_x86.inc"

#if defined(__clang__)
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

namespace edgelm::quant {
const IsaKernels* avx512vnni_kernels() { return avx512vnni::table(); }
}  // namespace edgelm::quant
