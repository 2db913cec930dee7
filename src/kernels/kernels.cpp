// The choice of kernel table, made once, and the helpers every table shares.
#include <cmath>

#include "kernels/kernels.h"
#include "platform/cpu_features.h"
#include "platform/error.h"

namespace edgelm {

const Kernels* kernels_for(Isa isa) {
  if (!isa_supported(isa)) return nullptr;
  // isa_supported() is false for the columns of another architecture, which this build did not compile.
  switch (isa) {
    case Isa::Scalar: return detail::scalar_kernels();
#if EDGELM_COLUMNS_X86
    case Isa::Avx2: return detail::avx2_kernels();
    case Isa::Avx512: return detail::avx512_kernels();
#endif
#if EDGELM_COLUMNS_NEON
    case Isa::Neon: return detail::neon_kernels();
#endif
    default: return nullptr;
  }
}

const Kernels& kernels() {
  static const Kernels& chosen = *isa_pick(isa_active(), kernels_for);
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
