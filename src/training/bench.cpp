#include "training/bench.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "platform/error.h"
#include "platform/process_stats.h"
#include "platform/random.h"
#include "training/lora.h"
#include "training/optimizer.h"
#include "training/transformer.h"

namespace edgelm::training {

nlohmann::json bench_train(const TrainBenchOptions& o) {
  if (o.steps <= 0) fail("bench train: --steps must be positive");
  ModelConfig c = model_shape(o.shape);
  if (o.seq > c.context_length) c.context_length = o.seq;
  std::unique_ptr<ThreadPool> own;
  if (o.threads > 0) own = std::make_unique<ThreadPool>(o.threads);
  ThreadPool& pool = own ? *own : default_thread_pool();

  ParamSet params(init_random_weights(c, o.seed), /*trainable=*/o.lora_rank == 0);  // as a LoRA run holds its base
  TransformerOptions mo;
  mo.bf16 = o.bf16;
  mo.recompute = o.recompute;
  std::unique_ptr<LoraTrainer> lora;
  if (o.lora_rank > 0) {
    LoraConfig lc;
    lc.rank = o.lora_rank;
    lc.targets = {LoraTarget::Q, LoraTarget::K, LoraTarget::V, LoraTarget::O};
    lora = std::make_unique<LoraTrainer>(c, lc, o.batch * o.seq, o.seed);
    mo.lora = lora.get();
  }
  Transformer model(params, o.batch, o.seq, pool, mo);
  Batch batch;
  batch.resize(o.batch, o.seq);
  Rng rng(o.seed);
  for (int64_t i = 0; i < o.batch * o.seq; ++i) {
    batch.tokens[i] = int32_t(rng.below(uint64_t(c.n_vocab)));
    batch.targets[i] = int32_t(rng.below(uint64_t(c.n_vocab)));
    batch.weights[i] = 1.0f;
  }
  OptimConfig oc;
  const double n = batch.n_weighted();
  std::vector<double> seconds;
  double loss = 0;
  for (int64_t step = 0; step <= o.steps; ++step) {  // step 0 warms caches and pages up
    const auto t0 = std::chrono::steady_clock::now();
    model.forward(batch);
    loss = model.backward(batch, float(1.0 / n)) / n;
    if (lora) lora_optimizer_step(*lora, oc, oc.lr, step + 1, pool);
    else optimizer_step(params, oc, oc.lr, step + 1, pool);
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (step > 0) seconds.push_back(s);
  }
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  return {{"bench", "train"},
          {"shape", o.shape},
          {"batch", o.batch},
          {"seq", o.seq},
          {"threads", pool.size()},
          {"isa", isa_name(o.bf16 ? gemm_bf16_isa() : gemm_f32_isa())},
          {"bf16", o.bf16},
          {"recompute", o.recompute},
          {"steps", o.steps},
          {"n_params", c.n_params()},
          {"lora_rank", o.lora_rank},
          {"trainable_params", lora ? lora->n_params() : c.n_params()},
          {"loss", loss},
          {"step_seconds", median},
          {"step_seconds_min", seconds.front()},
          {"tokens_per_s", double(o.batch * o.seq) / median},
          {"gflops", model.flops_per_step() / median / 1e9},
          {"activation_bytes", model.arena_bytes()},
          {"peak_rss_bytes", peak_rss_bytes()}};
}

}  // namespace edgelm::training
