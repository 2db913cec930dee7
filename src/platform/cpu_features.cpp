#include "platform/cpu_features.h"

#include <cstdlib>
#include <string>
#include <string_view>

#include "platform/error.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#elif defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

namespace edgelm {

namespace {

#if defined(__x86_64__) || defined(__i386__)
// Read through cpuid rather than __builtin_cpu_supports: clang 14's builtin
// knows neither "f16c" nor every AVX-512 extension, and one probe keeps every
// family agreeing on what a column means.
CpuFeatures probe() {
  CpuFeatures f;
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return f;
  const bool osxsave = ecx & bit_OSXSAVE, avx = ecx & bit_AVX;
  const bool fma = ecx & bit_FMA, f16c = ecx & bit_F16C;
  if (!osxsave || !avx) return f;
  // The operating system must save the YMM (bits 1, 2) and ZMM (bits 5-7) state.
  unsigned xcr0_lo = 0, xcr0_hi = 0;
  __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
  const bool os_ymm = (xcr0_lo & 0x6) == 0x6, os_zmm = (xcr0_lo & 0xe6) == 0xe6;
  if (!os_ymm) return f;
  f.fma = fma;
  f.f16c = f16c;
  if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return f;
  f.avx2 = ebx & bit_AVX2;
  if (os_zmm) {
    f.avx512f = ebx & bit_AVX512F;
    f.avx512dq = ebx & bit_AVX512DQ;
    f.avx512bw = ebx & bit_AVX512BW;
    f.avx512vl = ebx & bit_AVX512VL;
    f.avx512vnni = ecx & (1u << 11);
    unsigned eax1 = 0, ebx1 = 0, ecx1 = 0, edx1 = 0;
    if (eax >= 1 && __get_cpuid_count(7, 1, &eax1, &ebx1, &ecx1, &edx1)) f.avx512bf16 = eax1 & (1u << 5);
  }
  return f;
}
#elif defined(__aarch64__) && defined(__linux__)
// The kernel reports what every core supports (they may differ in
// implementation, never in instruction set), so user space needs no privileged
// register reads.
CpuFeatures probe() {
  CpuFeatures f;
  const unsigned long hwcap = getauxval(AT_HWCAP);
  f.neon = hwcap & HWCAP_ASIMD;
  f.neon_dotprod = f.neon && (hwcap & HWCAP_ASIMDDP);
  return f;
}
#else
CpuFeatures probe() { return {}; }
#endif

Isa isa_from_env() {
  Isa best = Isa::Scalar;
  for (Isa isa : kIsaColumns)
    if (isa_supported(isa)) best = isa;
  const char* env = std::getenv("EDGELM_ISA");
  if (!env || !*env) return best;
  for (Isa isa : kIsaColumns)
    if (std::string_view(env) == isa_name(isa)) {
      while (!isa_supported(isa)) isa = isa_below(isa);
      return int(isa) < int(best) ? isa : best;
    }
  std::string known;
  for (Isa isa : kIsaColumns) known += std::string(known.empty() ? "" : ", ") + isa_name(isa);
  fail("EDGELM_ISA=", env, " names no instruction set (known: ", known, ")");
}

}  // namespace

const CpuFeatures& cpu_features() {
  // Probed once: cpuid traps to the hypervisor in a VM and costs microseconds.
  static const CpuFeatures features = probe();
  return features;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
    case Isa::Neon: return "neon";
  }
  return "?";
}

bool isa_supported(Isa isa) {
  [[maybe_unused]] const CpuFeatures& f = cpu_features();  // unused where no SIMD column is built
  // A column this build did not compile is unsupported whatever the CPU says
  // (the build defines which columns it has; see the root CMakeLists.txt).
  switch (isa) {
    case Isa::Scalar: return true;
#if EDGELM_COLUMNS_X86
    case Isa::Avx2: return f.avx2 && f.fma && f.f16c;
    case Isa::Avx512: return isa_supported(Isa::Avx2) && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
#endif
#if EDGELM_COLUMNS_NEON
    case Isa::Neon: return f.neon;
#endif
    default: return false;
  }
}

Isa isa_below(Isa isa) {
  switch (isa) {
    case Isa::Avx512: return Isa::Avx2;
    default: return Isa::Scalar;  // Avx2 and Neon are their architectures' first SIMD column
  }
}

Isa isa_active() {
  static const Isa active = isa_from_env();
  return active;
}

std::vector<Isa> isa_available() {
  std::vector<Isa> out;
  for (Isa isa = isa_active();; isa = isa_below(isa)) {
    if (isa_supported(isa)) out.insert(out.begin(), isa);
    if (isa == Isa::Scalar) break;
  }
  return out;
}

}  // namespace edgelm
