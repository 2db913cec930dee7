#pragma once
// Reading the golden fixtures of tools/ref_train.py and tools/ref_dpo.py: the tiny model's
// config, weights and batch, and a tolerance check of float results against double references.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <string>

#include "model/weights.h"
#include "platform/atomic_file.h"
#include "training/optimizer.h"
#include "training/transformer.h"

namespace edgelm::training {

struct Golden {
  nlohmann::json j;
  WeightsF32 weights;
  Batch batch;
};

inline ModelConfig golden_config(const nlohmann::json& c) {
  ModelConfig cfg;
  cfg.n_vocab = c["n_vocab"];
  cfg.dim = c["dim"];
  cfg.n_layers = c["n_layers"];
  cfg.n_heads = c["n_heads"];
  cfg.n_kv_heads = c["n_kv_heads"];
  cfg.head_dim = c["head_dim"];
  cfg.ffn_dim = c["ffn_dim"];
  cfg.context_length = c["context_length"];
  cfg.rope_theta = c["rope_theta"];
  cfg.norm_eps = c["norm_eps"];
  cfg.tied_embeddings = c["tied"];
  cfg.sliding_window = c["sliding_window"];
  return cfg;
}

// The fixture's weights under `key` ("weights", "reference_weights"), in the tensor table's layout.
inline WeightsF32 golden_weights(const nlohmann::json& j, const char* key) {
  WeightsF32 w = init_random_weights(golden_config(j["config"]), 0);
  for (size_t i = 0; i < w.specs.size(); ++i) {
    const auto& src = j[key].at(w.specs[i].name);
    EXPECT_EQ(src.size(), w.data[i].size()) << w.specs[i].name;
    for (size_t k = 0; k < src.size(); ++k) w.data[i][k] = src[k].get<float>();
  }
  return w;
}

inline Golden load_golden(const std::string& name) {
  Golden g;
  g.j = nlohmann::json::parse(read_file(std::string(EDGELM_TEST_DIR) + "/fixtures/training/" + name));
  g.weights = golden_weights(g.j, "weights");
  const auto& b = g.j["batch"];
  g.batch.resize(b["B"], b["T"]);
  g.batch.tokens = b["tokens"].get<std::vector<int32_t>>();
  g.batch.targets = b["targets"].get<std::vector<int32_t>>();
  g.batch.first = b["first"].get<std::vector<int32_t>>();
  g.batch.weights = b["weights"].get<std::vector<float>>();
  if (b.contains("pair_slot")) {
    g.batch.pair_slot = b["pair_slot"].get<std::vector<int32_t>>();
    g.batch.n_pairs = b["n_pairs"];
  }
  return g;
}

inline OptimConfig golden_optim(const nlohmann::json& oj) {
  OptimConfig o;
  o.lr = oj["lr"];
  o.beta1 = oj["beta1"];
  o.beta2 = oj["beta2"];
  o.eps = oj["eps"];
  o.weight_decay = oj["weight_decay"];
  o.grad_clip = oj["grad_clip"];
  o.decay_embeddings = false;
  return o;
}

// |a - b| <= tol * max|reference| over the tensor: float against double references.
inline void expect_close(const float* got, const nlohmann::json& want, double rel, const std::string& what) {
  double scale = 0;
  for (const auto& x : want) scale = std::max(scale, std::fabs(x.get<double>()));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i].get<double>(), rel * scale + 1e-7) << what << "[" << i << "]";
}

}  // namespace edgelm::training
