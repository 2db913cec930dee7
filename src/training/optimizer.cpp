#include "training/optimizer.h"

#include <algorithm>
#include <cmath>

#include "kernels/adamw.h"
#include "platform/error.h"

namespace edgelm::training {

float learning_rate(const OptimConfig& o, int64_t step, int64_t total_steps) {
  if (o.warmup_steps > 0 && step < o.warmup_steps) return o.lr * float(step + 1) / float(o.warmup_steps);
  const int64_t decay_steps = total_steps - o.warmup_steps;
  if (decay_steps <= 1) return o.lr;
  const double progress = std::min(1.0, double(step - o.warmup_steps) / double(decay_steps - 1));
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return float(double(o.min_lr) + (double(o.lr) - double(o.min_lr)) * cosine);
}

double optimizer_step(ParamSet& params, const OptimConfig& o, float lr, int64_t step, ThreadPool& pool) {
  const double norm = params.grad_norm();
  if (o.grad_clip > 0 && norm > o.grad_clip) {
    // As torch.nn.utils.clip_grad_norm_: scale by max_norm / (norm + 1e-6).
    const float scale = float(double(o.grad_clip) / (norm + 1e-6));
    auto& g = params.grads();
    pool.parallel_for(int64_t(g.size()), [&](int64_t i0, int64_t i1) {
      for (int64_t i = i0; i < i1; ++i) g[i] *= scale;
    });
  }
  for (ParamTensor& t : params.tensors()) {
    AdamWParams p;
    p.lr = lr;
    p.beta1 = o.beta1;
    p.beta2 = o.beta2;
    p.eps = o.eps;
    p.step = step;
    const TensorRole role = t.spec->role;
    const bool decays = role == TensorRole::Matrix ||
                        ((role == TensorRole::Embedding || role == TensorRole::Output) && o.decay_embeddings);
    p.weight_decay = decays ? o.weight_decay : 0.0f;
    if (t.n < (int64_t(1) << 15)) {  // small tensors: not worth waking the pool
      adamw_step_f32(t.value, t.grad, t.m, t.v, t.n, p);
      continue;
    }
    pool.parallel_for(t.n, [&](int64_t i0, int64_t i1) {
      adamw_step_f32(t.value + i0, t.grad + i0, t.m + i0, t.v + i0, i1 - i0, p);
    }, 16);
  }
  params.zero_grads();
  return norm;
}

bool averages_weights_at(const OptimConfig& o, int64_t step, int64_t total_steps) {
  return o.ema > 0 && step > int64_t(o.ema_start * double(total_steps));
}

void update_weight_average(const ParamSet& params, std::vector<float>& average, double decay) {
  const bool first = average.empty();
  if (first) average.resize(size_t(params.n_params()));
  for (const ParamTensor& t : params.tensors()) {
    if (!t.value) fail("update_weight_average: tensor ", t.spec->name, " has no f32 values (a frozen base)");
    float* a = average.data() + t.offset;
    for (int64_t i = 0; i < t.n; ++i) a[i] = first ? t.value[i] : float(decay * a[i] + (1 - decay) * t.value[i]);
  }
}

void load_weight_average(ParamSet& params, const std::vector<float>& average) {
  if (average.size() != size_t(params.n_params()))
    fail("load_weight_average: ", average.size(), " values for ", params.n_params(), " parameters");
  for (ParamTensor& t : params.tensors()) std::copy_n(average.data() + t.offset, t.n, t.value);
}

}  // namespace edgelm::training
