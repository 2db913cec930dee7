#pragma once
// The sampler chain: allowed-token mask -> greedy, or top-k -> temperature ->
// top-p -> a draw from the seeded generator. Same seed, same logits: same token.
#include <cstdint>
#include <span>
#include <vector>

#include "platform/random.h"

namespace edgelm {

struct SamplerConfig {
  float temperature = 0;  // 0: greedy (argmax; ties go to the lowest id)
  int top_k = 0;          // 0: no limit
  float top_p = 1;        // nucleus: smallest set of tokens whose probability reaches top_p
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(SamplerConfig config);
  // allowed_mask: bit (id % 32) of word (id / 32) set = token id allowed; null = all allowed.
  // Throws Error when the mask allows no token or the logits are empty.
  int32_t sample(std::span<const float> logits, const uint32_t* allowed_mask = nullptr);
  const SamplerConfig& config() const { return config_; }

 private:
  struct Candidate {
    float logit;
    int32_t id;
  };
  SamplerConfig config_;
  Rng rng_;
  std::vector<Candidate> candidates_;  // reused between calls: no allocation per token
  std::vector<double> probs_;
};

}  // namespace edgelm
