#include "kernels/adamw.h"

#include <cmath>

namespace edgelm {

void adamw_step_f32(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWParams& p) {
  // The bias corrections are computed in double once per tensor, as PyTorch does on the host.
  const double bc1 = 1.0 - std::pow(double(p.beta1), double(p.step));
  const double bc2 = 1.0 - std::pow(double(p.beta2), double(p.step));
  const float step_size = float(double(p.lr) / bc1);
  const float bc2_sqrt = float(std::sqrt(bc2));
  const float decay = 1.0f - p.lr * p.weight_decay;
  const float b1 = p.beta1, b2 = p.beta2, one_b1 = 1.0f - p.beta1, one_b2 = 1.0f - p.beta2;
  // A plain loop: no reductions, so the compiler vectorises it without reassociating.
  for (int64_t i = 0; i < n; ++i) {
    const float g = grad[i];
    float w = param[i] * decay;
    const float mi = b1 * m[i] + one_b1 * g;
    const float vi = b2 * v[i] + one_b2 * g * g;
    m[i] = mi;
    v[i] = vi;
    w -= step_size * (mi / (std::sqrt(vi) / bc2_sqrt + p.eps));
    param[i] = w;
  }
}

}  // namespace edgelm
