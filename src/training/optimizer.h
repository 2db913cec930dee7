#pragma once
// AdamW over a ParamSet, the learning-rate schedule (linear warm-up, then
// cosine decay to min_lr) and clipping by global gradient norm.
#include <cstdint>
#include <vector>

#include "platform/thread_pool.h"
#include "training/params.h"

namespace edgelm::training {

struct OptimConfig {
  float lr = 1e-3f;
  float min_lr = 1e-4f;
  int64_t warmup_steps = 0;
  float weight_decay = 0.1f;
  bool decay_embeddings = false;  // weight decay on token_embd / output (norms never decay)
  float beta1 = 0.9f;
  float beta2 = 0.95f;
  float eps = 1e-8f;
  float grad_clip = 1.0f;  // max global L2 norm; 0 disables clipping
  // An exponential moving average of the weights over the run's last part, saved as the
  // model instead of the last step's weights (0: off): after each step past ema_start of
  // the run, average = ema * average + (1 - ema) * weights.
  double ema = 0;
  double ema_start = 0.5;  // the share of the run's steps before averaging begins
};

// Learning rate for 0-based `step` of `total_steps`.
float learning_rate(const OptimConfig& o, int64_t step, int64_t total_steps);

// Clips the gradients to o.grad_clip (when positive), then applies one AdamW
// update with learning rate `lr` as optimiser step `step` (1-based), and zeroes
// the gradients. Returns the global gradient norm before clipping.
double optimizer_step(ParamSet& params, const OptimConfig& o, float lr, int64_t step, ThreadPool& pool);

// Whether step `step` (1-based) of `total_steps` adds to the weights' average (o.ema > 0).
bool averages_weights_at(const OptimConfig& o, int64_t step, int64_t total_steps);
// The weights' moving average, flat in the tensor table's order: an empty `average`
// becomes a copy of the weights, else average = decay * average + (1 - decay) * weights.
void update_weight_average(const ParamSet& params, std::vector<float>& average, double decay);
// Writes the average (update_weight_average's layout) into the weights.
void load_weight_average(ParamSet& params, const std::vector<float>& average);

}  // namespace edgelm::training
