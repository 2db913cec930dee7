#pragma once
// Training checkpoints: one GGUF file holding the model (under its usual
// tensor names, so a checkpoint also loads as a model), the AdamW moments
// ("optimizer.m.<name>", "optimizer.v.<name>"), and the loop's state (step,
// data position, tokens seen) as edgelm.train.* metadata. One file written
// atomically means weights and optimiser state can never be out of step.
#include <cstdint>
#include <string>

#include "training/loader.h"
#include "training/params.h"

namespace edgelm {
class GgufMetadata;
}

namespace edgelm::training {

struct TrainState {
  int64_t step = 0;  // optimiser steps done
  LoaderPosition data;
  int64_t tokens_seen = 0;
  double elapsed_seconds = 0;
};

void save_checkpoint(const std::string& path, const ParamSet& params, const TrainState& state,
                     const GgufMetadata* extra = nullptr);
// Restores weights and moments into `params` (whose config must match the file's) and returns the state.
TrainState load_checkpoint(const std::string& path, ParamSet& params);

}  // namespace edgelm::training
