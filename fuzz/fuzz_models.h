#pragma once
// The model shape of the binary seeds (fuzz_seeds writes them) and of the
// parameters fuzz_checkpoint restores into: tiny, so that every input is fast.
#include "model/config.h"
#include "training/lora.h"

namespace edgelm::fuzz {

inline ModelConfig seed_model_config(int64_t dim = 8, int64_t n_vocab = 16) {
  ModelConfig c = model_shape("tiny");
  c.n_vocab = n_vocab;
  c.dim = dim;
  c.n_layers = 1;
  c.n_heads = 2;
  c.n_kv_heads = 1;
  c.head_dim = dim / 2;
  c.ffn_dim = dim;
  c.context_length = 16;
  return c;
}

// The adapter a [lora] run's checkpoint (fuzz_checkpoint's second reader) restores into.
inline training::LoraConfig seed_lora_config() {
  training::LoraConfig c;
  c.rank = 2;
  c.alpha = 4;
  c.targets = {LoraTarget::Q, LoraTarget::V};
  return c;
}

}  // namespace edgelm::fuzz
