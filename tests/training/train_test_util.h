#pragma once
// What the training tests share beyond the golden fixtures: a run stopped after
// a given step, as Ctrl-C stops it (the checkpoint is written, the run reports
// itself interrupted), for the resume tests.
#include <atomic>
#include <cstdint>

#include "training/train_config.h"
#include "training/trainer.h"

namespace edgelm::training {

inline TrainResult train_stopped_after(const TrainConfig& c, const TrainOptions& options, int64_t step) {
  std::atomic<bool> stop{false};
  TrainOptions o = options;
  o.stop = &stop;
  o.on_step = [&](const TrainProgress& p) {
    if (p.step == step) stop = true;
  };
  return train_model(c, o);
}

}  // namespace edgelm::training
