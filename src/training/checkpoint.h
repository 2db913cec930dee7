#pragma once
// Training checkpoints: one GGUF file holding the model (under its usual
// tensor names, so a checkpoint also loads as a model), the AdamW moments
// ("optimizer.m.<name>", "optimizer.v.<name>"), and the loop's state (step,
// data position, tokens seen) as edgelm.train.* metadata. One file written
// atomically means weights and optimiser state can never be out of step.
#include <cstdint>
#include <string>
#include <vector>

#include "training/loader.h"
#include "training/params.h"

namespace edgelm {
class GgufMetadata;
}

namespace edgelm::training {

class LoraTrainer;

struct TrainState {
  int64_t step = 0;  // optimiser steps done
  LoaderPosition data;
  int64_t tokens_seen = 0;
  double elapsed_seconds = 0;
};

// `average` (optim.ema's moving average of the weights, if one has begun) is saved as
// "optimizer.ema.<name>" tensors.
void save_checkpoint(const std::string& path, const ParamSet& params, const TrainState& state,
                     const GgufMetadata* extra = nullptr, const std::vector<float>* average = nullptr);
// Restores weights and moments into `params` (whose config must match the file's) and returns the
// state; the weights' average into `average` when the file holds one (else it is left empty).
TrainState load_checkpoint(const std::string& path, ParamSet& params, std::vector<float>* average = nullptr);

// A [lora] run's checkpoint: the adapter's matrices under their llama.cpp
// names, their AdamW moments ("optimizer.m.<tensor>"), the dropout masks'
// random state and the loop's state, in one file written atomically (the
// adapter itself is adapter.gguf, written when the run ends).
void save_lora_checkpoint(const std::string& path, const LoraTrainer& lora, const TrainState& state);
// Restores the adapter and its moments into `lora` (whose matrices, ranks and
// alpha must be the file's) and returns the state.
TrainState load_lora_checkpoint(const std::string& path, LoraTrainer& lora);

}  // namespace edgelm::training
