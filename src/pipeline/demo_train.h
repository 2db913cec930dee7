#pragma once
// The demo's model-making steps, kept apart from the stage logic in demo.cpp:
// tokenizer training, SFT of an agent model (from scratch or a model), DPO on
// preference pairs, quantisation. Training is the one trainer of `edgelm train`.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

struct AgentTrainSpec {
  std::string train_jsonl, valid_jsonl;  // SFT examples (the data generator's format); DPO: train_jsonl is dpo.jsonl
  std::string tokenizer_gguf;            // vocabulary with the agent's special tokens
  std::string out_model;                 // GGUF written at the end (f32, with the tokenizer)
  std::string run_dir;                   // the trainer's run folder: shards, metrics.jsonl, loss.svg, checkpoint
  int64_t dim, layers, heads, kv_heads, ffn_dim, context;
  int64_t steps, batch, seq_len;
  double learning_rate;
  uint64_t seed;
  bool quiet;
  std::string init_model;                // start from this GGUF's weights (same shape) instead of random ones
  double dropout = 0;                    // residual dropout (SFT only)
  double prompt_weight = 0;              // loss weight of each example's prompt beside the answer's (SFT only)
  double ema = 0;                        // decay of the saved weight average (optim.ema; SFT only; 0: none)
};

// Trains the tokenizer on the user and assistant texts of the SFT file,
// reserving agent_special_tokens(schema), and writes a vocabulary-only GGUF.
// Returns {n_vocab, n_texts, seconds}.
nlohmann::json train_demo_tokenizer(const DomainSchema& schema, const std::string& train_jsonl, int64_t vocab_size,
                                    const std::string& out_gguf, bool quiet);

// SFT from random weights (or spec.init_model's) on the rendered agent examples. Returns
// {n_params, steps, tokens, final_loss, valid_loss, losses: [[step, loss], ...], seconds}.
nlohmann::json train_demo_model(const DomainSchema& schema, const AgentTrainSpec& spec);

// DPO from spec.init_model (the SFT model, also the frozen reference) on the preference pairs
// of spec.train_jsonl (the generator's dpo.jsonl). Returns train_demo_model's figures and
// {pairs, beta, final_accuracy, final_margin} (the last step's).
nlohmann::json train_demo_dpo(const DomainSchema& schema, const AgentTrainSpec& spec, double beta, double sft_weight = 0);

// Quantises a model file to "q8_0" / "q4_0". Returns {bytes}.
nlohmann::json quantize_demo_model(const std::string& in_model, const std::string& type, const std::string& out_model);

}  // namespace edgelm
