#pragma once
// One AdamW update of a tensor, with PyTorch's formulation (torch.optim.AdamW,
// non-fused): decoupled weight decay first, then
//   m = b1 m + (1-b1) g;  v = b2 v + (1-b2) g^2
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// `step` is 1-based. Elementwise, so results do not depend on how callers split it.
#include <cstdint>

namespace edgelm {

struct AdamWParams {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float weight_decay = 0.0f;  // already resolved for this tensor (0 for norms)
  int64_t step = 1;
};

void adamw_step_f32(float* param, const float* grad, float* m, float* v, int64_t n, const AdamWParams& p);

}  // namespace edgelm
