#include "training/loader.h"

#include <algorithm>

#include "platform/error.h"
#include "platform/random.h"

namespace edgelm::training {

BatchLoader::BatchLoader(const Shard& shard, int64_t B, int64_t T, PackMode mode, uint64_t seed, bool shuffle)
    : shard_(shard), B_(B), T_(T), row_end_(B), mode_(mode), seed_(seed), shuffle_(shuffle) {
  if (B <= 0 || T <= 0) fail("batch size and sequence length must be positive (got ", B, " x ", T, ")");
  if (mode == PackMode::Stream) {
    if (shard.n_tokens() < T + 1)
      fail(shard.path(), ": ", shard.n_tokens(), " tokens is too few for one sequence of ", T, " (need ", T + 1, ")");
    for (int64_t start = 0; start + T + 1 <= shard.n_tokens(); start += T) units_.push_back(start);
  } else if (mode == PackMode::Pairs) {
    if (!shard.is_pairs())
      fail(shard.path(), ": not a shard of preference pairs (make one with `edgelm data tokenize --pairs`)");
    for (int64_t p = 0; p < shard.n_pairs(); ++p) {
      if (shard.doc_end(2 * p) - shard.doc_start(2 * p) < 2 || shard.doc_end(2 * p + 1) - shard.doc_start(2 * p + 1) < 2)
        continue;
      // With one row per batch both sides share it; with more, each side fits a row of its own.
      if (B == 1 && example_positions(2 * p) + example_positions(2 * p + 1) > T)
        fail(shard.path(), ": pair ", p, " needs ", example_positions(2 * p) + example_positions(2 * p + 1),
             " positions, more than one row of ", T, " (use train.batch >= 2 or a longer train.seq)");
      units_.push_back(p);
    }
    if (units_.empty()) fail(shard.path(), ": no pair has two or more tokens on both sides, nothing to train on");
  } else {
    for (int64_t d = 0; d < shard.n_docs(); ++d)
      if (shard.doc_end(d) - shard.doc_start(d) >= 2) units_.push_back(d);
    if (units_.empty()) fail(shard.path(), ": no example has two or more tokens, nothing to train on");
  }
  start_epoch(0);
}

void BatchLoader::set_prompt_weight(float w) {
  if (!(w >= 0 && w <= 1)) fail("the prompt's loss weight must be in [0, 1] (got ", w, ")");
  if (w > 0 && (mode_ != PackMode::Examples || !shard_.has_mask()))
    fail(shard_.path(), ": a prompt weight needs examples with a loss mask (an SFT shard)");
  prompt_weight_ = w;
}

void BatchLoader::start_epoch(uint64_t epoch) {
  order_ = units_;
  if (shuffle_) {
    Rng rng(seed_ * 0x9e3779b97f4a7c15ull + epoch);
    for (size_t i = order_.size(); i > 1; --i) std::swap(order_[i - 1], order_[rng.below(i)]);
  }
  order_epoch_ = epoch;
}

void BatchLoader::set_position(LoaderPosition pos) {
  if (pos.index > units_.size())
    fail("data position ", pos.index, " is past the end of an epoch (", units_.size(), " units): the data changed?");
  pos_ = pos;
  start_epoch(pos.epoch);
}

void BatchLoader::roll_epoch() {
  if (pos_.index < order_.size()) return;
  pos_.epoch += 1;
  pos_.index = 0;
  start_epoch(pos_.epoch);
}

uint64_t BatchLoader::advance() {
  roll_epoch();
  return uint64_t(order_[pos_.index++]);
}

// The document containing token s (binary search over the shard's document starts).
static int64_t doc_of(const Shard& shard, int64_t s) {
  int64_t lo = 0, hi = shard.n_docs() - 1;
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (shard.doc_start(mid) <= s)
      lo = mid;
    else
      hi = mid - 1;
  }
  return lo;
}

void BatchLoader::fill_window(Batch& out, int64_t row, int64_t start) const {
  int64_t doc = doc_of(shard_, start);
  int64_t doc_end = shard_.doc_end(doc);
  int32_t first = 0;
  for (int64_t t = 0; t < T_; ++t) {
    const int64_t i = row * T_ + t, s = start + t;
    if (s == doc_end) {  // a new document starts here: a new example
      doc_end = shard_.doc_end(++doc);
      first = int32_t(t);
    }
    out.tokens[i] = shard_.token(s);
    out.targets[i] = shard_.token(s + 1);
    out.first[i] = first;
    // The last token of a document does not learn to predict the next document's first.
    out.weights[i] = (s + 1 != doc_end && shard_.mask(s + 1)) ? 1.0f : 0.0f;
  }
}

int64_t BatchLoader::example_positions(int64_t doc) const {
  return std::min(T_, shard_.doc_end(doc) - shard_.doc_start(doc) - 1);
}

int64_t BatchLoader::place_example(Batch& out, int64_t row, int64_t t0, int64_t doc) const {
  const int64_t n = example_positions(doc), base = shard_.doc_start(doc);
  for (int64_t j = 0; j < n; ++j) {
    const int64_t i = row * T_ + t0 + j;
    out.tokens[i] = shard_.token(base + j);
    out.targets[i] = shard_.token(base + j + 1);
    out.first[i] = int32_t(t0);
    out.weights[i] = shard_.mask(base + j + 1) ? 1.0f : prompt_weight_;
  }
  return n;
}

void BatchLoader::set_rows(int64_t row_begin, int64_t row_end) {
  if (row_begin < 0 || row_end > B_ || row_begin >= row_end)
    fail("rows ", row_begin, "..", row_end, " are not a part of a batch of ", B_);
  row_begin_ = row_begin;
  row_end_ = row_end;
}

void BatchLoader::next(Batch& out) {
  if (mode_ == PackMode::Pairs) {  // single-process only (the trainer refuses DPO under mpirun)
    out.resize(B_, T_);
    return next_pairs(out);
  }
  out.resize(row_end_ - row_begin_, T_);
  for (int64_t row = 0; row < B_; ++row) {
    // Rows of other ranks advance the position without reading their tokens.
    const bool mine = row >= row_begin_ && row < row_end_;
    const int64_t r = row - row_begin_;
    if (mode_ == PackMode::Stream) {
      const int64_t start = int64_t(advance());
      if (mine) fill_window(out, r, start);
      continue;
    }
    int64_t t = 0;
    for (;;) {
      // Peek at the next example: it starts the next row when it does not fit, so the
      // position stays exact and nothing is skipped.
      roll_epoch();
      const int64_t doc = order_[pos_.index];
      const int64_t need = example_positions(doc);
      if (t > 0 && t + need > T_) break;
      pos_.index += 1;
      t += mine ? place_example(out, r, t, doc) : need;
      if (t >= T_) break;
    }
    if (!mine) continue;
    for (; t < T_; ++t) {  // padding: attends only to itself, never trained
      const int64_t i = r * T_ + t;
      out.tokens[i] = 0;
      out.targets[i] = 0;
      out.first[i] = int32_t(t);
      out.weights[i] = 0.0f;
    }
  }
}

void BatchLoader::next_pairs(Batch& out) {
  // Padding everywhere first (attends only to itself, never trained); the pairs overwrite it.
  for (int64_t i = 0; i < B_ * T_; ++i) out.first[i] = int32_t(i % T_);
  out.pair_slot.assign(size_t(B_ * T_), -1);
  int64_t row = 0, t = 0, q = 0;
  while (row < B_) {
    // Peek at the next pair: where would its two sides go? A pair that does not fit
    // waits for the next batch, so the position stays exact and nothing is skipped.
    roll_epoch();
    const int64_t pair = order_[pos_.index];
    int64_t at_row[2], at_t[2], r = row, u = t;
    for (int side = 0; side < 2; ++side) {
      const int64_t need = example_positions(2 * pair + side);
      if (u > 0 && u + need > T_) r += 1, u = 0;
      at_row[side] = r;
      at_t[side] = u;
      u += need;
    }
    if (r >= B_) break;
    pos_.index += 1;
    for (int side = 0; side < 2; ++side) {
      const int64_t n = place_example(out, at_row[side], at_t[side], 2 * pair + side);
      for (int64_t j = 0; j < n; ++j) out.pair_slot[size_t(at_row[side] * T_ + at_t[side] + j)] = int32_t(2 * q + side);
    }
    q += 1;
    row = r, t = u;
    if (t >= T_) row += 1, t = 0;
  }
  out.n_pairs = q;
}

}  // namespace edgelm::training
