#pragma once
// The one place edgelm asks which instructions the CPU has, and the one
// override (EDGELM_ISA). Every kernel family (the inference kernel table, the
// quantised products, the training GEMMs in f32 and bf16, training's
// elementwise math, the bandwidth probe) keeps one entry per instruction-set
// column and chooses through isa_pick() below, so that a new architecture is a
// new column, not a new way of choosing.

#include <vector>

namespace edgelm {

// The columns. Each names a baseline that every kernel in it may assume:
//   Scalar: plain C++, builds and runs everywhere; the reference.
//   Avx2:   AVX2 + FMA + F16C (Haswell, Zen 1 and later).
//   Avx512: Avx2 + AVX-512 F, BW, VL and DQ (Skylake-X, Ice Lake, Zen 4).
//   Neon:   AArch64's Advanced SIMD (every ARMv8-A core: Cortex-A53 and later).
// Extensions past a baseline (AVX512-VNNI and the Arm dot product, SDOT, for
// the quantised products; AVX512-BF16 for the bf16 GEMM) are features a family
// checks inside its column (cpu_features()); without them it takes the column
// below, or its own version without the extension (NEON's quantised products).
// A build compiles the columns of its target only (CMake picks the source files
// by CMAKE_SYSTEM_PROCESSOR): the x86 ones on x86-64, Neon on aarch64; the others
// are never supported there. Within one architecture the columns are ordered,
// each above the one isa_below() gives.
enum class Isa { Scalar, Avx2, Avx512, Neon };
inline constexpr Isa kIsaColumns[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512, Isa::Neon};

// What the CPU (and the operating system, which must save the wide registers)
// supports, probed once: through cpuid on x86, the kernel's hardware
// capabilities (getauxval(AT_HWCAP)) on aarch64.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
  bool neon = false;          // asimd
  bool neon_dotprod = false;  // asimddp: SDOT/UDOT (ARMv8.2 option, in Cortex-A55/A75 and later)
};
const CpuFeatures& cpu_features();

const char* isa_name(Isa isa);
// Whether this build has the column and the CPU has its baseline.
bool isa_supported(Isa isa);
// The column to fall back to when a family has no entry for `isa` (Scalar for Scalar).
Isa isa_below(Isa isa);
// The column in use: the best one supported, lowered by EDGELM_ISA=scalar|avx2|avx512|neon
// (naming a column the CPU lacks, another architecture's included, gives the best one below it). Read once per
// process; an unknown name is an Error naming the known ones.
Isa isa_active();
// The supported columns up to isa_active(), Scalar first: what tests iterate over.
std::vector<Isa> isa_available();

// The first non-null entry(c) for c = isa, isa_below(isa), ... ; a family's
// Scalar entry is never null, so the walk ends there.
template <class Entry>
auto isa_pick(Isa isa, Entry entry) -> decltype(entry(isa)) {
  for (;; isa = isa_below(isa))
    if (auto* e = entry(isa); e || isa == Isa::Scalar) return e;
}

}  // namespace edgelm
