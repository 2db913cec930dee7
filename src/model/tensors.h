#pragma once
// The model's tensor table: every parameter tensor of a config, with its
// llama.cpp name, ggml shape and role. Initialisation, loading, saving,
// gradients, optimiser state (and later LoRA) all walk this one list.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "model/config.h"

namespace edgelm {

enum class TensorRole {
  Embedding,  // token_embd.weight (also the output head when tied)
  Norm,       // RMSNorm gains: no weight decay, initialised to 1
  Matrix,     // projections inside a block
  Output,     // output.weight when untied
};

struct TensorSpec {
  std::string name;         // llama.cpp's name, e.g. "blk.3.attn_q.weight"
  std::vector<int64_t> ne;  // ggml order: ne[0] is the contiguous (input) dimension
  TensorRole role;
  int layer;                // block index, or -1 for tensors outside the blocks
  int64_t n_elements() const;
};

// C = dim, Q = n_heads*head_dim, K = n_kv_heads*head_dim, F = ffn_dim, V = n_vocab.
// Order: token_embd (V,C); per block: attn_norm (C), attn_q (Q,C), attn_k (K,C), attn_v (K,C),
// attn_output (C,Q), ffn_norm (C), ffn_gate (F,C), ffn_up (F,C), ffn_down (C,F); output_norm (C);
// output (V,C) when untied. Shapes here are written (rows, cols); ne is {cols, rows}.
std::vector<TensorSpec> model_tensor_specs(const ModelConfig& config);

std::string layer_tensor_name(int layer, const char* suffix);  // "blk.<layer>.<suffix>.weight"

}  // namespace edgelm
