#pragma once
// Vectorised elementwise math for the f32 training path: the exponentials of
// softmax and cross-entropy and the SwiGLU gate, which as scalar libm calls
// took about a tenth of a training step. AVX-512 where the CPU has it (checked
// at run time); elsewhere plain loops over std::exp. The vector exp
// (kernels/exp_avx512.h, shared with the inference kernels) is within f32
// rounding of std::exp for arguments <= 88, gives 0 below -87.3 (and for
// -inf) and keeps NaN; sums are taken in a fixed order, so results are
// deterministic from run to run on a given machine.
#include <cstdint>

namespace edgelm {

// x[i] = exp(x[i] - shift) for i < n; returns the sum of the new x.
float train_exp_shift_sum(float* x, int64_t n, float shift);

// h = silu(gate) * up, elementwise.
void train_swiglu_forward(const float* gate, const float* up, float* h, int64_t n);

// dup = dh * silu(gate); dgate = dh * up * sig * (1 + gate * (1 - sig)), sig = sigmoid(gate).
void train_swiglu_backward(const float* dh, const float* gate, const float* up, float* dgate, float* dup, int64_t n);

// Forces the portable loops (tests compare them with the SIMD ones); returns the previous setting.
bool train_math_force_generic(bool force);

}  // namespace edgelm
