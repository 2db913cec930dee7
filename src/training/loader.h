#pragma once
// Turns a token shard into batches, deterministically: the order of an epoch is
// a permutation drawn from (seed, epoch) alone, so a position {epoch, index} is
// all a checkpoint needs to resume the exact same stream.
//
//   Stream (pretraining): the token stream is cut into windows of T+1 tokens
//     (stride T); a row is one window. Document boundaries inside a window start
//     a new example (no attention across them, RoPE restarts, and the last token
//     of a document is not trained to predict the next document's first).
//   Examples (SFT): each document is one example; rows are packed greedily with
//     whole examples in permutation order (an example longer than T+1 tokens is
//     cut), the rest of a row is padding with weight 0.
//   Pairs (DPO): a unit is a preference pair of a pairs shard; a batch holds whole
//     pairs (each side whole in a row, the rejected after the chosen), and
//     Batch::pair_slot says which side of which pair each position belongs to.
// Targets carry the shard's loss mask as their weight.
#include <cstdint>
#include <vector>

#include "training/shard.h"
#include "training/transformer.h"

namespace edgelm::training {

enum class PackMode { Stream, Examples, Pairs };

struct LoaderPosition {
  uint64_t epoch = 0;
  uint64_t index = 0;  // next unit of this epoch's permutation
};

class BatchLoader {
 public:
  // shuffle = false keeps file order (validation).
  BatchLoader(const Shard& shard, int64_t B, int64_t T, PackMode mode, uint64_t seed, bool shuffle = true);

  // Fills the next batch: B rows of T, or only rows [row_begin, row_end) of it
  // after set_rows (out then has row_end - row_begin rows).
  void next(Batch& out);
  // Data-parallel sharding: this process fills only rows [row_begin, row_end) of
  // every batch, yet walks the whole batch's units, so the position (and so a
  // checkpoint) is the same on every rank, and the ranks' rows together are
  // exactly the batch one process would draw.
  void set_rows(int64_t row_begin, int64_t row_end);
  LoaderPosition position() const { return pos_; }
  void set_position(LoaderPosition pos);
  // Examples: the targets outside the shard's loss mask (an example's prompt: the
  // history and the user's text) get this weight beside the answer's 1 (0, the
  // default: the answer alone). An auxiliary next-token loss on the commands.
  void set_prompt_weight(float w);
  int64_t n_units() const { return int64_t(units_.size()); }  // windows, examples or pairs per epoch

 private:
  void start_epoch(uint64_t epoch);
  void fill_window(Batch& out, int64_t row, int64_t start) const;
  // Copies example `doc` into row from position t0; returns the positions used.
  int64_t place_example(Batch& out, int64_t row, int64_t t0, int64_t doc) const;
  int64_t example_positions(int64_t doc) const;  // positions a document needs (tokens - 1, at most T)
  void next_pairs(Batch& out);
  void roll_epoch();                              // starts the next epoch when this one is used up
  uint64_t advance();                             // the next unit id, rolling over epochs

  const Shard& shard_;
  int64_t B_, T_;
  int64_t row_begin_ = 0, row_end_ = 0;  // the rows of each batch this process fills
  PackMode mode_;
  uint64_t seed_;
  bool shuffle_;
  float prompt_weight_ = 0.0f;
  std::vector<int64_t> units_;  // stream: window starts; examples: usable document ids; pairs: pair ids
  std::vector<int64_t> order_;  // this epoch's permutation of units_
  uint64_t order_epoch_ = UINT64_MAX;
  LoaderPosition pos_;
};

}  // namespace edgelm::training
