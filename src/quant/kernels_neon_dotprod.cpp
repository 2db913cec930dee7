// The quantised GEMM with the Arm dot-product extension (SDOT; ARMv8.2-A's
// optional asimddp), compiled for it here alone: the rest of the build targets
// the ARMv8-A baseline, and quant.cpp calls this only where the CPU reports it.
#include "quant/kernels.h"

#if !defined(__aarch64__)
#error "the aarch64 column: CMake compiles it only for aarch64 targets"
#endif

#include <arm_neon.h>

#include <cstring>

#pragma GCC push_options
#pragma GCC target("arch=armv8.2-a+dotprod")

#define EDGELM_QUANT_NS neon_dotprod
#define EDGELM_QUANT_SDOT 1
#include "quant/kernels_neon.inc"

#pragma GCC pop_options

namespace edgelm::quant {
const IsaKernels* neon_dotprod_kernels() { return neon_dotprod::table(); }
}  // namespace edgelm::quant
