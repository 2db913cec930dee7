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
// Extensions past a baseline (AVX512-VNNI for the quantised products,
// AVX512-BF16 for the bf16 GEMM) are features a family checks inside its
// column (cpu_features()); without them it takes the column below.
enum class Isa { Scalar, Avx2, Avx512 };
inline constexpr Isa kIsaColumns[] = {Isa::Scalar, Isa::Avx2, Isa::Avx512};

// What the CPU (and the operating system, which must save the wide registers)
// supports, probed once through cpuid.
struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false;
};
const CpuFeatures& cpu_features();

const char* isa_name(Isa isa);
// Whether this build has the column and the CPU has its baseline.
bool isa_supported(Isa isa);
// The column to fall back to when a family has no entry for `isa` (Scalar for Scalar).
Isa isa_below(Isa isa);
// The column in use: the best one supported, lowered by EDGELM_ISA=scalar|avx2|avx512
// (naming a column the CPU lacks gives the best one below it). Read once per
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
