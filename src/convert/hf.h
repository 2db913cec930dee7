#pragma once
// Hugging Face checkpoints in and out: a folder holding config.json, the
// weights as model.safetensors (or shards listed by model.safetensors.index.json)
// and tokenizer.json, for the Llama family (LlamaForCausalLM, and
// MistralForCausalLM, whose sliding window edgelm's config also has).
//
// Two conventions differ between the two worlds, and both are handled here:
// - Tensor names: "model.layers.3.self_attn.q_proj.weight" is
//   "blk.3.attn_q.weight" (one table, hf_tensor_name).
// - Rotary layout: Hugging Face's Llama rotates the two halves of each head
//   (x[i], x[i + hd/2]); GGUF's "llama" rotates adjacent pairs (x[2i], x[2i+1]).
//   The rows of Wq and Wk are permuted on the way in (as llama.cpp's converter
//   does) and back on the way out, so both files compute the same logits.
// Tensor bytes are carried as they are (F32 / F16 / BF16) unless a type is
// asked for; norm gains are f32 in GGUF, as llama.cpp expects.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "model/config.h"
#include "model/tensors.h"
#include "platform/tensor_type.h"

namespace edgelm {

class Tokenizer;

struct HfImportOptions {
  std::optional<TensorType> type;  // f32 / f16 / bf16; empty: keep each tensor's dtype
  std::string model_name;          // general.name; empty: the folder's name
};

struct HfImportSummary {
  ModelConfig config;
  bool has_tokenizer = false;
  int64_t n_tensors = 0;
  int n_shards = 0;
};

// Reads the folder and writes a GGUF model (atomically). Errors name the file
// and the key or tensor at fault.
HfImportSummary convert_hf_to_gguf(const std::string& folder, const std::string& gguf_path, const HfImportOptions& options);

struct HfExportOptions {
  uint64_t max_shard_bytes = 0;  // 0: one model.safetensors; else shards of at most this much (one tensor may exceed it)
};

// Writes the model (F32 / F16 / BF16 tensors) as a Hugging Face folder, which
// must be new or empty: config.json, model.safetensors (or shards and their
// index), and tokenizer.json + tokenizer_config.json when the model has a
// byte-level BPE tokenizer.
void convert_gguf_to_hf(const std::string& gguf_path, const std::string& folder, const HfExportOptions& options);

// --- the pieces, exposed for tests ---

// The Hugging Face name of a tensor of the table ("model.embed_tokens.weight", ...).
std::string hf_tensor_name(const TensorSpec& spec);
// config.json (its text) to edgelm's config; tied embeddings are decided by the caller when the file is silent.
ModelConfig hf_config_from_json(std::string_view text, const std::string& name, bool lm_head_present);
std::string hf_config_to_json(const ModelConfig& config, TensorType dtype, const Tokenizer* tokenizer);

// Permutes the rows of a (n_heads * head_dim, cols) projection between the
// two rotary layouts; row_bytes is the byte length of one row.
void permute_rope_rows(const uint8_t* src, uint8_t* dst, int64_t n_heads, int64_t head_dim, int64_t row_bytes,
                       bool hf_to_gguf);

}  // namespace edgelm
