#pragma once
// The training benchmark behind `edgelm bench train`: forward + backward +
// AdamW steps of a reference shape on random tokens.
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace edgelm::training {

struct TrainBenchOptions {
  std::string shape = "S1";  // tiny, S1, S2, S3
  int64_t batch = 8, seq = 256;
  int64_t steps = 3;         // timed steps (after one untimed warm-up step)
  int threads = 0;           // 0: the default pool
  bool bf16 = false;
  bool recompute = false;
  int64_t lora_rank = 0;     // > 0: train a LoRA adapter of this rank on q, k, v, o (frozen base) instead
  uint64_t seed = 1;
};

// Returns {"shape","batch","seq","threads","isa","steps","step_seconds","tokens_per_s","gflops",
// "peak_rss_bytes","n_params","trainable_params","loss"}; step_seconds is the median of the timed steps.
nlohmann::json bench_train(const TrainBenchOptions& options);

}  // namespace edgelm::training
