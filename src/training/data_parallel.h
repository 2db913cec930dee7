#pragma once
// Data-parallel training over the ranks of dist (MPI), as PyTorch DDP and llm.c
// do it: every rank holds the whole model and optimiser, trains on its own rows
// of each global batch, and the gradients are summed over the ranks before one
// identical AdamW step everywhere. So every rank's weights stay bit-identical,
// and the run is the single-process run up to the order of the float sums.
//
// The sum runs in buckets, one per transformer block, each started (non-blocking)
// the moment backward has finished that block, so it overlaps the backward pass
// of the blocks below; the tensors outside the blocks (embedding, final norm,
// head) go last. With one rank every call here does nothing.
#include <cstdint>
#include <utility>
#include <vector>

#include "training/checkpoint.h"
#include "training/params.h"
#include "training/transformer.h"

namespace edgelm::training {

class GradientAllReduce {
 public:
  // overlap = false: one blocking all-reduce of every gradient after backward
  // (the baseline that measures the whole communication time).
  GradientAllReduce(ParamSet& params, bool overlap);

  // Hooks `model` for the backward pass about to run (the last micro-batch of a step:
  // only then are a block's gradients final).
  void attach(Transformer& model);
  void detach(Transformer& model);
  // Sums what was not started yet, waits for everything: afterwards every rank
  // holds the same summed gradients.
  void finish();

  double wait_seconds() const { return wait_seconds_; }  // blocked in communication, all steps
  size_t bucket_bytes_max() const;

 private:
  void start(size_t bucket);
  ParamSet& params_;
  bool overlap_;
  std::vector<std::pair<int64_t, int64_t>> buckets_;  // [begin, end) in the flat gradient buffer; per block, then the rest
  std::vector<int> layer_of_;         // each bucket's block, -1 outside the blocks
  std::vector<int> bucket_of_layer_;  // each block's bucket
  std::vector<char> started_;
  double wait_seconds_ = 0;
};

// Rank 0's weights, moments, weight average (optim.ema) and loop state to every rank (a
// fresh run and a resumed one start from exactly the same state everywhere).
void broadcast_train_state(ParamSet& params, TrainState& state, std::vector<float>& average);
// Throws Error when the ranks' weights differ (compared by a hash of their bits).
void check_replicas_identical(const ParamSet& params, int64_t step);

}  // namespace edgelm::training
