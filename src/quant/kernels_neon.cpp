// The quantised GEMM for aarch64's baseline NEON (every ARMv8-A core), the
// version quant.cpp uses where the CPU lacks the dot-product extension.
#include "quant/kernels.h"

#if !defined(__aarch64__)
#error "the aarch64 column: CMake compiles it only for aarch64 targets"
#endif

#include <arm_neon.h>

#include <cstring>

#define EDGELM_QUANT_NS neon
#define EDGELM_QUANT_SDOT 0
#include "quant/kernels_neon.inc"

namespace edgelm::quant {
const IsaKernels* neon_kernels() { return neon::table(); }
}  // namespace edgelm::quant
