#pragma once
// The model shape of the binary seeds (fuzz_seeds writes them) and of the
// parameters fuzz_checkpoint restores into: tiny, so that every input is fast.
#include "model/config.h"

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

}  // namespace edgelm::fuzz
