// Instruction-set detection and the choice of kernel table, made once.
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "kernels/kernels.h"
#include "platform/cpu_features.h"
#include "platform/error.h"

namespace edgelm {

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::Scalar: return "scalar";
    case Isa::Avx2: return "avx2";
    case Isa::Avx512: return "avx512";
  }
  return "?";
}

namespace {

bool cpu_has(Isa isa) {
#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  switch (isa) {
    case Isa::Scalar: return true;
    case Isa::Avx2: return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && cpu_has_f16c();
    case Isa::Avx512:
      // The AVX-512 table also uses BF16 dot products' neighbours (F16C conversions
      // widened to 512 bits), so it asks for F, BW, VL and DQ as Zen 4 and Ice Lake have them.
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
             __builtin_cpu_supports("fma") && cpu_has_f16c();
  }
  return false;
#else
  return isa == Isa::Scalar;
#endif
}

const Kernels& choose() {
  Isa limit = Isa::Avx512;
  if (const char* env = std::getenv("EDGELM_ISA")) {
    if (std::strcmp(env, "scalar") == 0) limit = Isa::Scalar;
    else if (std::strcmp(env, "avx2") == 0) limit = Isa::Avx2;
  }
  for (Isa isa : {Isa::Avx512, Isa::Avx2}) {
    if (int(isa) > int(limit)) continue;
    if (const Kernels* k = kernels_for(isa)) return *k;
  }
  return kernels_ref();
}

}  // namespace

const Kernels* kernels_for(Isa isa) {
  if (!cpu_has(isa)) return nullptr;
  switch (isa) {
    case Isa::Scalar: return detail::scalar_kernels();
    case Isa::Avx2: return detail::avx2_kernels();
    case Isa::Avx512: return detail::avx512_kernels();
  }
  return nullptr;
}

const Kernels& kernels() {
  static const Kernels& chosen = choose();
  return chosen;
}

const Kernels& kernels_ref() { return *detail::scalar_kernels(); }

void rope_tables(int64_t pos, int64_t dim, float theta, float* cos2, float* sin2) {
  for (int64_t i = 0; i < dim / 2; ++i) {
    // The frequency in float, as llama.cpp and PyTorch compute it; the angle in double
    // so that large positions keep their precision.
    float freq = std::pow(theta, -float(2 * i) / float(dim));
    double angle = double(pos) * double(freq);
    float c = float(std::cos(angle)), s = float(std::sin(angle));
    cos2[2 * i] = c;
    cos2[2 * i + 1] = c;
    sin2[2 * i] = -s;
    sin2[2 * i + 1] = s;
  }
}

int64_t kernel_row_bytes(TensorType w_type, int64_t cols) {
  switch (w_type) {
    case TensorType::F32: return cols * 4;
    case TensorType::F16:
    case TensorType::BF16: return cols * 2;
    default: fail("the float kernels do not read ", tensor_type_name(w_type), " weights");
  }
}

}  // namespace edgelm
