#pragma once
// The one configuration struct of edgelm's Llama-family decoder, read from and
// written to GGUF metadata under llama.cpp's key names.
#include <cstdint>
#include <string>
#include <vector>

namespace edgelm {

class GgufMetadata;

struct ModelConfig {
  int64_t n_vocab = 0;
  int64_t dim = 0;          // model (embedding) dimension
  int64_t n_layers = 0;
  int64_t n_heads = 0;
  int64_t n_kv_heads = 0;   // grouped-query attention: n_heads % n_kv_heads == 0
  int64_t head_dim = 0;     // usually dim / n_heads
  int64_t ffn_dim = 0;      // SwiGLU hidden size
  int64_t context_length = 0;
  float rope_theta = 10000.0f;
  float norm_eps = 1e-5f;
  bool tied_embeddings = true;  // the output head reuses token_embd.weight
  int64_t sliding_window = 0;   // 0: full causal attention; W: each token sees the last W positions

  int64_t q_dim() const { return n_heads * head_dim; }
  int64_t kv_dim() const { return n_kv_heads * head_dim; }
  int64_t n_params() const;  // parameter count (tied head counted once)
  // Throws Error with a message naming the first inconsistent field.
  void validate() const;
  std::string summary() const;

  // llama.cpp's keys: general.architecture = "llama", llama.block_count, ...
  void write_to(GgufMetadata& meta) const;
  // Reads the keys; tied_embeddings must be set by the caller from the tensor list.
  static ModelConfig read_from(const GgufMetadata& meta);
};

// The reference shapes of DESIGN.md ("S1", "S2", "S3") and "tiny" for tests.
ModelConfig model_shape(const std::string& name);
std::vector<std::string> model_shape_names();

}  // namespace edgelm
