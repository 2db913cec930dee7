#pragma once
// Token shards: the training data on disk, memory-mapped.
//
// Layout (all integers little-endian):
//   header, 64 bytes:
//     magic "EDLMTOKS" (8) | version u32 (=1) | token_bytes u32 (2 or 4) |
//     n_tokens u64 | n_docs u64 | flags u32 (bit 0: a loss mask follows; bit 1: preference
//     pairs, see below) |
//     n_vocab u32 (0 if unknown) | reserved (24 bytes, zero)
//   tokens:     n_tokens x uint16 or uint32, padded with zeros to a multiple of 8 bytes
//   doc starts: n_docs x uint64, strictly increasing, the first 0: where each document
//               (a pretraining text or an SFT example) begins in the token stream
//   loss mask:  n_tokens x uint8 (only with flag bit 0): 1 where the token is trained on as a
//               target (the assistant's answer in SFT), 0 elsewhere
// A shard of preference pairs (DPO) holds an even number of documents: 2p is pair
// p's chosen example and 2p+1 its rejected one, both with the same prompt and a
// loss mask on the answer.
// Every count is checked against the file size on open, so a truncated shard is an
// Error naming the file, never a read past the end.
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "platform/mapped_file.h"

namespace edgelm::training {

inline constexpr char kShardMagic[8] = {'E', 'D', 'L', 'M', 'T', 'O', 'K', 'S'};
inline constexpr uint32_t kShardVersion = 1;

class ShardWriter {
 public:
  // n_vocab decides the token width: uint16 when every id fits, else uint32.
  explicit ShardWriter(int64_t n_vocab);
  // Appends one document. mask: empty (every token is a target) or one byte per token.
  void add_document(std::span<const int32_t> tokens, std::span<const uint8_t> mask = {});
  // Appends a preference pair (a shard holds either documents or pairs, never both).
  void add_pair(std::span<const int32_t> chosen, std::span<const uint8_t> chosen_mask, std::span<const int32_t> rejected,
                std::span<const uint8_t> rejected_mask);
  int64_t n_tokens() const { return int64_t(tokens_.size()); }
  int64_t n_docs() const { return int64_t(doc_starts_.size()); }
  void write(const std::string& path) const;  // atomic

 private:
  void add(std::span<const int32_t> tokens, std::span<const uint8_t> mask);
  int64_t n_vocab_;
  std::vector<int32_t> tokens_;
  std::vector<uint64_t> doc_starts_;
  std::vector<uint8_t> mask_;
  bool has_mask_ = false;
  bool pairs_ = false;
};

class Shard {
 public:
  // Maps and validates the file (magic, version, sizes, doc starts, token ids < n_vocab).
  static Shard open(const std::string& path);

  int64_t n_tokens() const { return n_tokens_; }
  int64_t n_docs() const { return int64_t(n_docs_); }
  int64_t n_vocab() const { return n_vocab_; }
  bool has_mask() const { return mask_ != nullptr; }
  bool is_pairs() const { return pairs_; }  // documents 2p, 2p+1: chosen and rejected of pair p
  int64_t n_pairs() const { return pairs_ ? n_docs() / 2 : 0; }
  int32_t token(int64_t i) const {
    return token_bytes_ == 2 ? int32_t(reinterpret_cast<const uint16_t*>(tokens_)[i])
                             : int32_t(reinterpret_cast<const uint32_t*>(tokens_)[i]);
  }
  uint8_t mask(int64_t i) const { return mask_ ? mask_[i] : 1; }
  int64_t doc_start(int64_t d) const { return int64_t(doc_starts_[d]); }
  int64_t doc_end(int64_t d) const { return d + 1 < n_docs() ? doc_start(d + 1) : n_tokens_; }
  const std::string& path() const { return map_.path(); }

 private:
  MappedFile map_;
  int64_t n_tokens_ = 0, n_vocab_ = 0;
  uint64_t n_docs_ = 0;
  uint32_t token_bytes_ = 2;
  bool pairs_ = false;
  const uint8_t* tokens_ = nullptr;
  const uint64_t* doc_starts_ = nullptr;
  const uint8_t* mask_ = nullptr;
};

// Writes the documents (or preference pairs) of `inputs`, in order, into one
// shard at `out` (atomically): the shards of several domains' examples rendered
// with one tokenizer become one training set (a base model for every device).
// The inputs must share their vocabulary size (a shard that does not know it,
// 0, takes the others') and all be pair shards or none. Returns what it wrote.
struct ShardCounts {
  int64_t n_docs = 0, n_tokens = 0, n_vocab = 0;
};
ShardCounts concat_shards(const std::vector<std::string>& inputs, const std::string& out);

}  // namespace edgelm::training
