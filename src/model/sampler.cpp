#include "model/sampler.h"

#include <algorithm>
#include <cmath>

#include "platform/error.h"

namespace edgelm {

Sampler::Sampler(SamplerConfig config) : config_(config), rng_(config.seed) {
  if (!(config_.temperature >= 0)) fail("sampler: temperature must be >= 0 (got ", config_.temperature, ")");
  if (config_.top_k < 0) fail("sampler: top-k must be >= 0 (got ", config_.top_k, ")");
  if (!(config_.top_p > 0 && config_.top_p <= 1)) fail("sampler: top-p must be in (0, 1] (got ", config_.top_p, ")");
}

int32_t Sampler::sample(std::span<const float> logits, const uint32_t* allowed_mask) {
  const int64_t n = int64_t(logits.size());
  if (n == 0) fail("sampler: no logits");
  auto allowed = [&](int64_t id) { return !allowed_mask || ((allowed_mask[id >> 5] >> (id & 31)) & 1u); };

  if (config_.temperature <= 0) {
    // Greedy: the first maximum among the allowed tokens. NaN logits never win.
    int32_t best = -1;
    float best_logit = 0;
    for (int64_t id = 0; id < n; ++id) {
      if (!allowed(id) || std::isnan(logits[size_t(id)])) continue;
      if (best < 0 || logits[size_t(id)] > best_logit) {
        best = int32_t(id);
        best_logit = logits[size_t(id)];
      }
    }
    if (best < 0) fail("sampler: the mask allows no token");
    return best;
  }

  candidates_.clear();
  for (int64_t id = 0; id < n; ++id)
    if (allowed(id) && !std::isnan(logits[size_t(id)])) candidates_.push_back({logits[size_t(id)], int32_t(id)});
  if (candidates_.empty()) fail("sampler: the mask allows no token");

  // Highest logit first; equal logits in id order, so the draw is reproducible.
  auto higher = [](const Candidate& a, const Candidate& b) { return a.logit > b.logit || (a.logit == b.logit && a.id < b.id); };
  size_t keep = candidates_.size();
  if (config_.top_k > 0 && size_t(config_.top_k) < keep) {
    keep = size_t(config_.top_k);
    std::partial_sort(candidates_.begin(), candidates_.begin() + ptrdiff_t(keep), candidates_.end(), higher);
  } else {
    std::sort(candidates_.begin(), candidates_.end(), higher);
  }
  candidates_.resize(keep);

  // Softmax at the temperature (in double: the sums stay exact enough for top-p).
  const double max_logit = candidates_[0].logit;
  std::vector<double>& probs = probs_;
  probs.resize(keep);
  double total = 0;
  for (size_t i = 0; i < keep; ++i) {
    probs[i] = std::exp((double(candidates_[i].logit) - max_logit) / double(config_.temperature));
    total += probs[i];
  }
  // Nucleus: the smallest prefix whose probability reaches top_p.
  if (config_.top_p < 1) {
    double cumulative = 0;
    size_t cut = keep;
    for (size_t i = 0; i < keep; ++i) {
      cumulative += probs[i] / total;
      if (cumulative >= double(config_.top_p)) {
        cut = i + 1;
        break;
      }
    }
    keep = cut;
    total = 0;
    for (size_t i = 0; i < keep; ++i) total += probs[i];
  }
  double u = rng_.uniform() * total;
  for (size_t i = 0; i < keep; ++i) {
    u -= probs[i];
    if (u < 0) return candidates_[i].id;
  }
  return candidates_[keep - 1].id;
}

}  // namespace edgelm
