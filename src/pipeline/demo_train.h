#pragma once
// The demo's model-making steps, kept apart from the stage logic in demo.cpp:
// tokenizer training, SFT of an agent model from scratch, quantisation.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

struct AgentTrainSpec {
  std::string train_jsonl, valid_jsonl;  // SFT examples (the data generator's format)
  std::string tokenizer_gguf;            // vocabulary with the agent's special tokens
  std::string out_model;                 // GGUF written at the end (f32, with the tokenizer)
  std::string run_dir;                   // metrics.jsonl, loss curve
  int64_t dim, layers, heads, kv_heads, ffn_dim, context;
  int64_t steps, batch, seq_len;
  double learning_rate;
  uint64_t seed;
  bool quiet;
  std::string init_model;                // start from this GGUF's weights (same shape) instead of random ones
};

// Trains the tokenizer on the user and assistant texts of the SFT file,
// reserving agent_special_tokens(schema), and writes a vocabulary-only GGUF.
// Returns {n_vocab, n_texts, seconds}.
nlohmann::json train_demo_tokenizer(const DomainSchema& schema, const std::string& train_jsonl, int64_t vocab_size,
                                    const std::string& out_gguf, bool quiet);

// SFT from random weights (or spec.init_model's) on the rendered agent examples. Returns
// {n_params, steps, tokens, final_loss, valid_loss, losses: [[step, loss], ...], seconds}.
nlohmann::json train_demo_model(const DomainSchema& schema, const AgentTrainSpec& spec);

// Quantises a model file to "q8_0" / "q4_0". Returns {bytes}.
nlohmann::json quantize_demo_model(const std::string& in_model, const std::string& type, const std::string& out_model);

}  // namespace edgelm
