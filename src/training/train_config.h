#pragma once
// The configuration of a training run, read from TOML. Every key can be
// overridden on the command line ("optim.lr=3e-4"); an unknown key, a value of
// the wrong type or an inconsistent shape is an Error before any work starts.
//
//   mode = "pretrain" | "sft" | "dpo"    out = "runs/name"
//     pretrain: next-token loss on a stream of text; sft: loss on the answers of
//     examples (a shard with a loss mask), from random weights or model.init;
//     dpo: preference pairs (a pairs shard) against a frozen reference model
//   [model] shape ("tiny", "S1", ...), dim, layers, heads, kv_heads, head_dim, ffn, vocab
//           (0: the tokenizer's), context, sliding_window, rope_theta, norm_eps, tied, seed,
//           init (a GGUF model to start from; required for dpo),
//           reference (dpo: the frozen reference model; default: init)
//   [data]  train, valid (token shards), tokenizer (GGUF whose tokenizer.* keys go into the model)
//   [train] batch, seq, accum, steps, seed, eval_every, eval_batches, checkpoint_every,
//           dpo_beta (dpo: how far the model may move from the reference; 0.1),
//           dpo_sft_weight (dpo: the weight of the chosen answer's mean token nll beside the
//           preference loss, RPO's; 0, the default: DPO alone),
//           log_every, threads, save_type ("f32", "f16", "bf16"),
//           bf16 (true: matmuls in bf16 with f32 accumulation; master weights, optimiser and norms stay f32),
//           recompute (true: keep only each layer's input, recompute the rest in backward: less memory, ~30% more time),
//           dropout (pretrain and sft: the probability that each value of an attention or feed-forward block's
//           output is dropped before it joins the residual stream; 0, the default: none),
//           prompt_weight (sft: the weight of the next-token loss on an example's prompt, the history and
//           the user's text, beside the answer's 1; 0, the default: the answer alone),
//           overlap_comm (under mpirun: all-reduce each block's gradients while backward runs on; false: one
//           blocking all-reduce after backward)
//   [optim] lr, min_lr, warmup, weight_decay, decay_embeddings, beta1, beta2, eps, grad_clip
//   [lora]  rank (0: off), alpha, dropout, targets ("q,v"; any of q, k, v, o, gate, up, down or "all"),
//           keep_base_type (true: the frozen base is read in place, its matrices in the file's type,
//           dequantised a block of rows at a time; false: converted to f32 when loading):
//           trains a LoRA adapter on the frozen model.init (f32/f16/bf16/q8_0/q5_0/q4_0), written as
//           <out>/adapter.gguf in llama.cpp's form; <out>/adapter-checkpoint.gguf lets --resume continue
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "training/lora.h"
#include "training/optimizer.h"

namespace edgelm::training {

struct TrainConfig {
  std::string mode = "pretrain";
  std::string out_dir = "runs/train";

  std::string model_shape = "tiny";
  ModelConfig model;  // model_shape's config with the [model] keys applied; n_vocab 0: from the tokenizer/data
  std::vector<std::string> model_keys_given;  // the [model] keys the config sets (checked against model.init)
  std::string init_model;
  std::string reference_model;  // dpo; empty: init_model
  uint64_t model_seed = 0;

  std::string train_data, valid_data, tokenizer;

  int64_t batch = 8, seq = 128, accum = 1, steps = 1000;
  uint64_t seed = 1;
  int64_t eval_every = 100, eval_batches = 8, checkpoint_every = 0, log_every = 1;
  int threads = 0;
  std::string save_type = "f32";
  bool bf16 = false;
  bool recompute = false;
  double dropout = 0.0;
  double prompt_weight = 0.0;  // sft: the loss weight of the targets outside the shard's loss mask
  double dpo_beta = 0.1;
  double dpo_sft_weight = 0.0;  // dpo: the weight of the chosen answer's mean token nll (training/dpo.h)
  bool overlap_comm = true;

  OptimConfig optim;
  LoraConfig lora;  // rank 0: full training

  // Throws Error naming the first problem (before any file is read).
  void validate() const;
};

// Parses TOML text, applying `overrides` ("section.key=value"; the value is TOML,
// or a bare string) on top. `name` is used in error messages.
TrainConfig parse_train_config(const std::string& toml_text, const std::vector<std::string>& overrides,
                               const std::string& name = "config");
TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides);

// The TOML text of a config (what the run folder keeps as config.toml).
std::string train_config_to_toml(const TrainConfig& c);

}  // namespace edgelm::training
