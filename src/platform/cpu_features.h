#pragma once
// CPU feature checks that __builtin_cpu_supports cannot make on every compiler
// edgelm builds with. Kernel tables ask here once, when they are chosen.

namespace edgelm {

// Whether this CPU converts between f16 and f32 in hardware (x86 F16C).
// Read through cpuid because clang 14's __builtin_cpu_supports does not know
// "f16c" (GCC does). False on other architectures.
bool cpu_has_f16c();

}  // namespace edgelm
