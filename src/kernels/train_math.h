#pragma once
// Vectorised elementwise math for the f32 training path: the exponentials of
// softmax and cross-entropy and the SwiGLU gate, which as scalar libm calls
// took about a tenth of a training step. AVX-512 in the Avx512 column
// (platform/cpu_features.h); elsewhere plain loops over std::exp. The vector exp
// (kernels/exp_avx512.h, shared with the inference kernels) is within f32
// rounding of std::exp for arguments <= 88, gives 0 below -87.3 (and for
// -inf) and keeps NaN; sums are taken in a fixed order, so results are
// deterministic from run to run on a given machine.
#include <cstdint>

#include "platform/cpu_features.h"

namespace edgelm {

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the new x.
float train_exp_shift_sum(float* x, int64_t n, float shift);

// h = silu(gate) * up, elementwise.
void train_swiglu_forward(const float* gate, const float* up, float* h, int64_t n);

// dup = dh * silu(gate); dgate = dh * up * sig * (1 + gate * (1 - sig)), sig = sigmoid(gate).
void train_swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);

// The three as one table per column (only Scalar and Avx512 have one).
struct TrainMath {
  Isa isa;
  float (*exp_shift_sum)(float* x, int64_t n, float shift);
  void (*swiglu_forward)(const float* gate, const float* up, float* h, int64_t n);
  void (*swiglu_backward)(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);
};
// The table of a column, or null where the build, the CPU or the column has none.
const TrainMath* train_math_for(Isa isa);
// The table the functions above use: isa_pick(isa_active(), train_math_for).
const TrainMath& train_math();

}  // namespace edgelm
