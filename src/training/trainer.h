#pragma once
// The training loop behind `edgelm train` and the demo: pretraining, SFT (from
// random weights or a model) and DPO from a TrainConfig, with validation,
// metrics, checkpoints and resume. One loop serves every mode; what differs is
// the packing of the data and the loss of a step (next-token or DPO). Pretraining
// and SFT also run data-parallel over the ranks of `mpirun -np N`
// (data_parallel.h; rank 0 alone writes the run folder).
//
// The run folder (config.out) receives:
//   config.toml       the resolved config
//   metrics.jsonl     one line per logged step {"step","loss","lr","grad_norm","tokens_per_s","elapsed_s"}
//                     (dpo adds "accuracy", the share of pairs whose margin is positive, and "margin";
//                     "comm_wait_s" under mpirun) and per evaluation {"step","valid_loss"}
//   loss.svg          the loss curve (train and validation)
//   checkpoint.gguf   model + AdamW moments + loop state (every checkpoint_every steps, on stop, at the end)
//   model.gguf        the final model with the tokenizer's tokenizer.* keys (save_type)
//   adapter.gguf      instead of model.gguf and checkpoints, for a [lora] run: the adapter (llama.cpp's form)
#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "platform/gguf.h"
#include "training/train_config.h"

namespace edgelm::training {

struct TrainProgress {
  int64_t step = 0, total_steps = 0;  // step: optimiser steps done
  double loss = 0, lr = 0, grad_norm = 0, tokens_per_s = 0, elapsed_seconds = 0;
  double valid_loss = -1;  // >= 0 right after an evaluation
};

struct TrainOptions {
  bool resume = false;        // continue from <out>/checkpoint.gguf
  bool progress_bar = true;   // on stderr
  const std::atomic<bool>* stop = nullptr;  // set (e.g. by SIGINT): checkpoint after this step and return
  std::function<void(const TrainProgress&)> on_step;  // after every step and evaluation
  // Keys set in the saved model besides the tokenizer's (the demo names the device: edgelm.domain).
  // A model trained from model.init keeps the init model's edgelm.* keys unless these replace them.
  GgufMetadata model_metadata;
  std::string model_path;  // where the final model goes; empty: <out>/model.gguf
};

struct TrainResult {
  int64_t steps_done = 0, tokens_seen = 0, n_params = 0;
  double final_loss = 0, valid_loss = -1, seconds = 0, tokens_per_s = 0;
  bool interrupted = false;
  int n_ranks = 1;                 // processes of a data-parallel run (mpirun -np N)
  double loop_seconds = 0;         // this session's training loop
  double comm_wait_seconds = 0;    // of which blocked waiting for the gradient all-reduce
  std::string model_path, checkpoint_path;  // model_path: adapter.gguf for a [lora] run
  std::vector<std::pair<int64_t, double>> losses;  // (step, train loss) of this session
};

// Checks everything (config, files, shapes) before the first step; throws Error naming the problem.
TrainResult train_model(const TrainConfig& config, const TrainOptions& options = {});

// Writes a small SVG line chart of train (and validation) loss against step.
void write_loss_svg(const std::string& path, const std::vector<std::pair<int64_t, double>>& train,
                    const std::vector<std::pair<int64_t, double>>& valid);

}  // namespace edgelm::training
