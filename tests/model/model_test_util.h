#pragma once
// Shared helpers of the model tests: small random models whose weights are
// large enough (std 0.3, norm gains around 1) that every part of the forward
// pass moves the logits well above the test tolerances.
#include <algorithm>
#include <cmath>
#include <span>
#include <string>

#include <gtest/gtest.h>

#include "model/config.h"
#include "model/weights.h"
#include "platform/random.h"

namespace edgelm::testing {

inline WeightsF32 strong_random_weights(const ModelConfig& config, uint64_t seed) {
  WeightsF32 w = init_random_weights(config, seed);
  Rng rng(seed + 1000);
  for (size_t i = 0; i < w.specs.size(); ++i) {
    bool norm = w.specs[i].role == TensorRole::Norm;
    for (float& x : w.data[i]) x = norm ? float(1.0 + 0.2 * rng.normal()) : x * 15.0f;
  }
  return w;
}

// The largest absolute difference of two equally long spans (a length mismatch fails the test).
inline double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

inline std::string fixture_dir() { return std::string(EDGELM_TEST_DIR) + "/fixtures/model"; }

// The configs of the committed fixtures (tools/make_model_fixtures.sh).
inline ModelConfig fixture_config_gqa() {
  return {.n_vocab = 96, .dim = 32, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 8, .ffn_dim = 64,
          .context_length = 32, .rope_theta = 10000.0f};
}
inline ModelConfig fixture_config_window() {
  return {.n_vocab = 80, .dim = 48, .n_layers = 2, .n_heads = 6, .n_kv_heads = 2, .head_dim = 8, .ffn_dim = 80,
          .context_length = 32, .rope_theta = 500.0f, .norm_eps = 1e-6f, .tied_embeddings = false, .sliding_window = 5};
}

}  // namespace edgelm::testing
