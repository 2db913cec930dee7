#pragma once
// What a Tokenizer holds, shared by the loaders (tokenizer_io.cpp), the
// trainer (trainer.cpp) and the encoder (tokenizer.cpp). Not part of the
// public API: include tokenizer/tokenizer.h.
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

// Open-addressing hash map from a pair of token ids to (merge rank, merged
// id): the encoder's innermost lookup, so it avoids std::unordered_map's nodes.
class MergeTable {
 public:
  struct Entry {
    uint64_t key = kEmpty;
    int32_t rank = 0, result = 0;
  };
  static constexpr uint64_t kEmpty = ~uint64_t(0);
  static uint64_t key(int32_t a, int32_t b) { return (uint64_t(uint32_t(a)) << 32) | uint32_t(b); }

  void reserve(size_t n);
  // Keeps the first insertion of a pair (the lower rank); returns false for a repeat.
  bool insert(int32_t a, int32_t b, int32_t rank, int32_t result);
  const Entry* find(int32_t a, int32_t b) const {
    if (slots_.empty()) return nullptr;
    uint64_t k = key(a, b);
    for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
      const Entry& e = slots_[i];
      if (e.key == k) return &e;
      if (e.key == kEmpty) return nullptr;
    }
  }
  size_t size() const { return size_; }

 private:
  static size_t hash(uint64_t k) { return size_t((k * 0x9E3779B97F4A7C15ull) >> 20); }
  std::vector<Entry> slots_;
  size_t mask_ = 0, size_ = 0;
};

struct TokenizerData {
  std::string model = "gpt2";  // tokenizer.ggml.model
  PreTokenizer pre;
  std::vector<std::string> token_bytes;  // by id: the bytes (special tokens: their text)
  std::vector<TokenType> token_types;
  std::vector<float> scores;  // SentencePiece ("llama") vocabularies only
  // Bytes -> id of the ordinary (normal / byte) tokens, which merges produce.
  std::unordered_map<std::string, int32_t> normal_ids;
  std::unordered_map<std::string, int32_t> special_ids;  // text -> id of control / user-defined tokens
  struct Merge {
    int32_t left, right, result;
  };
  std::vector<Merge> merges;  // in rank order
  MergeTable merge_table;
  std::array<int32_t, 256> byte_token;  // the token of each single byte, -1 if none
  // Special tokens by first byte, longest first, for parse_special.
  std::array<std::vector<int32_t>, 256> specials_by_first_byte;
  int32_t bos = -1, eos = -1, pad = -1, unk = -1;
  bool has_user_defined = false;  // user-defined tokens split text even without parse_special
  bool add_space_prefix = true;  // SentencePiece only
  uint64_t instance = 0;         // tells the per-thread word caches apart

  // Rebuilds every lookup table from token_bytes, token_types and merges
  // (whose result ids must already be set). Throws Error on inconsistencies.
  void finalize(const std::string& what);
};

bool is_special_type(TokenType t);
Tokenizer make_tokenizer(std::shared_ptr<TokenizerData> data);

}  // namespace edgelm
