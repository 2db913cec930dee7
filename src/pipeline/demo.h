#pragma once
// The end-to-end demo on one device's domain folder (the built-in air purifier
// unless told otherwise): generate data,
// train a tokenizer and a small agent model, evaluate it on the device
// simulator, quantise it, evaluate again, compare with ablations and the
// keyword baseline, and write a report card. Every stage is stamped in
// OUT/manifest.json, so a second run reuses what is already done.
#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

struct DemoOptions {
  std::string out_dir = "runs/demo";
  std::string domain = kDefaultDomain;  // a domain folder or built-in name
  bool quick = false;      // tiny data, model and step counts (the CI test): minutes become seconds
  bool force = false;      // ignore the stamps and redo every stage
  bool quiet = false;      // no stage lines or progress bars
  int threads = 0;         // 0: all cores
  uint64_t seed = 1;
  // Overrides of the sizes the mode chooses (0: keep).
  int64_t n_examples = 0, vocab_size = 0, steps = 0, dim = 0, layers = 0;
  int64_t ffn_dim = 0;      // 0: twice dim when dim is given, else the mode's default
  int64_t focus_steps = -1;  // the focus round's steps (-1: the mode's default, 0: no focus round)
  int64_t dpo_steps = -1;    // DPO steps after SFT (-1: the mode's default, 0: no DPO stage)
  double dpo_sft_weight = -1; // the DPO stage's SFT term on the chosen answer (-1: the mode's default)
  double dropout = -1;       // residual dropout of the SFT runs (-1: the mode's default)
  double prompt_weight = -1; // loss weight of the prompt in the SFT runs (-1: the mode's default)
  double ema = -1;           // the SFT runs' weight average (optim.ema; 0: none, -1: the mode's default)
  // A shared base model (`edgelm base`): the tokenizer is the base's with the
  // device's special tokens bound to reserved ones, the shape is the base's,
  // and every training starts from its weights. Adds the ablation "same
  // tokenizer, from scratch" trained for the fine-tuning steps plus the
  // base's pretraining steps (equal total compute) unless no_scratch_ablation.
  std::string base_model;
  bool no_scratch_ablation = false;
};

// The sizes a mode uses; `describe` in the report card.
struct DemoPlan {
  int64_t n_examples, vocab_size;
  int64_t dim, layers, heads, kv_heads, ffn_dim, context;
  int64_t steps, batch, seq_len, ablation_steps;
  double learning_rate;
  int64_t eval_limit;  // generated test cases evaluated (0: all); the hand-written ones are always all
  // The focus round (0 steps: none): the first model's report on the hand-written
  // cases drives `generate --focus`, and training continues from that model.
  int64_t focus_steps = 0, focus_examples = 0;
  double focus_learning_rate = 0;
  // Preference training after SFT (0 steps: none) on the generator's near-miss pairs
  // (data/dpo.jsonl), against the SFT model as the frozen reference.
  int64_t dpo_steps = 0;
  double dpo_learning_rate = 0, dpo_beta = 0.1;
  double dpo_sft_weight = 0;  // the chosen answer's mean token nll beside the preference loss (train.dpo_sft_weight)
  // Residual dropout of the SFT runs (training/transformer.h; 0: none).
  double dropout = 0;
  // The next-token loss on each example's prompt (history and command) beside the
  // answer's, at this weight, in the SFT runs (train.prompt_weight; 0: the answer alone).
  double prompt_weight = 0;
  // The SFT runs save an exponential moving average of their weights over the run's
  // second half, with this decay (optim.ema; 0: the last step's weights).
  double ema = 0;
  // With a base model: its pretraining steps (of batch x seq_len tokens), which
  // the from-scratch ablation adds to `steps` (0: no such ablation).
  int64_t base_steps = 0;
};
DemoPlan demo_plan(const DemoOptions& options);

// Runs (or resumes) the demo and returns the report card's data (what
// report.json holds). Throws Error when a stage fails; finished stages stay stamped.
nlohmann::json run_demo(const DemoOptions& options);

}  // namespace edgelm
