#include "training/shard.h"

#include <algorithm>
#include <cstring>

#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm::training {

namespace {

constexpr size_t kHeaderBytes = 64;

template <class T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t b[sizeof(T)];
  std::memcpy(b, &v, sizeof(T));  // the build targets little-endian machines (x86-64, aarch64)
  out.insert(out.end(), b, b + sizeof(T));
}

template <class T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

uint64_t pad8(uint64_t n) { return (n + 7) / 8 * 8; }

}  // namespace

ShardWriter::ShardWriter(int64_t n_vocab) : n_vocab_(n_vocab) {
  if (n_vocab <= 0) fail("token shard: vocabulary size must be positive (got ", n_vocab, ")");
}

void ShardWriter::add_document(std::span<const int32_t> tokens, std::span<const uint8_t> mask) {
  if (pairs_) fail("token shard: a shard of preference pairs takes pairs only (add_pair)");
  add(tokens, mask);
}

void ShardWriter::add_pair(std::span<const int32_t> chosen, std::span<const uint8_t> chosen_mask,
                           std::span<const int32_t> rejected, std::span<const uint8_t> rejected_mask) {
  if (!pairs_ && n_docs() > 0) fail("token shard: a shard of documents cannot take preference pairs");
  // An empty side would leave the pair without its partner; a missing mask would train the prompt.
  if (chosen.empty() || rejected.empty()) fail("token shard: pair ", n_docs() / 2, " has an empty side");
  if (chosen_mask.empty() || rejected_mask.empty()) fail("token shard: pair ", n_docs() / 2, " needs a loss mask on both sides");
  pairs_ = true;
  add(chosen, chosen_mask);
  add(rejected, rejected_mask);
}

void ShardWriter::add(std::span<const int32_t> tokens, std::span<const uint8_t> mask) {
  if (!mask.empty() && mask.size() != tokens.size())
    fail("token shard: document ", n_docs(), " has ", tokens.size(), " tokens but ", mask.size(), " mask bytes");
  if (tokens.empty()) return;
  for (int32_t t : tokens)
    if (t < 0 || t >= n_vocab_) fail("token shard: token id ", t, " outside the vocabulary of ", n_vocab_);
  if (!mask.empty() && !has_mask_) {
    has_mask_ = true;
    mask_.assign(tokens_.size(), 1);  // earlier documents were fully trained
  }
  doc_starts_.push_back(uint64_t(tokens_.size()));
  tokens_.insert(tokens_.end(), tokens.begin(), tokens.end());
  if (has_mask_) {
    if (mask.empty())
      mask_.insert(mask_.end(), tokens.size(), 1);
    else
      for (uint8_t m : mask) mask_.push_back(m ? 1 : 0);
  }
}

void ShardWriter::write(const std::string& path) const {
  const uint32_t token_bytes = n_vocab_ <= 65536 ? 2 : 4;
  std::vector<uint8_t> out;
  out.insert(out.end(), kShardMagic, kShardMagic + 8);
  put<uint32_t>(out, kShardVersion);
  put<uint32_t>(out, token_bytes);
  put<uint64_t>(out, tokens_.size());
  put<uint64_t>(out, doc_starts_.size());
  put<uint32_t>(out, (has_mask_ ? 1u : 0u) | (pairs_ ? 2u : 0u));
  put<uint32_t>(out, uint32_t(n_vocab_));
  out.resize(kHeaderBytes, 0);
  for (int32_t t : tokens_) {
    if (token_bytes == 2)
      put<uint16_t>(out, uint16_t(t));
    else
      put<uint32_t>(out, uint32_t(t));
  }
  out.resize(kHeaderBytes + pad8(tokens_.size() * token_bytes), 0);
  for (uint64_t d : doc_starts_) put<uint64_t>(out, d);
  if (has_mask_) out.insert(out.end(), mask_.begin(), mask_.end());
  AtomicFile file(path);
  file.write(out.data(), out.size());
  file.commit();
}

Shard Shard::open(const std::string& path) {
  Shard s;
  s.map_ = MappedFile(path);
  const uint8_t* p = s.map_.data();
  const uint64_t size = s.map_.size();
  if (size < kHeaderBytes) fail(path, ": not a token shard (", size, " bytes, shorter than the 64-byte header)");
  if (std::memcmp(p, kShardMagic, 8) != 0) fail(path, ": not a token shard (bad magic; make one with `edgelm data tokenize`)");
  const uint32_t version = get<uint32_t>(p + 8);
  if (version != kShardVersion) fail(path, ": token shard version ", version, " is not supported (expected ", kShardVersion, ")");
  s.token_bytes_ = get<uint32_t>(p + 12);
  if (s.token_bytes_ != 2 && s.token_bytes_ != 4) fail(path, ": token width ", s.token_bytes_, " bytes (expected 2 or 4)");
  const uint64_t n_tokens = get<uint64_t>(p + 16);
  s.n_docs_ = get<uint64_t>(p + 24);
  const uint32_t flags = get<uint32_t>(p + 32);
  s.n_vocab_ = get<uint32_t>(p + 36);
  if (n_tokens == 0) fail(path, ": the token shard is empty (no tokens)");
  if (s.n_docs_ == 0 || s.n_docs_ > n_tokens) fail(path, ": bad document count ", s.n_docs_, " for ", n_tokens, " tokens");
  if (n_tokens > (size - kHeaderBytes) / s.token_bytes_) fail(path, ": truncated token shard (header says ", n_tokens, " tokens)");
  const uint64_t tokens_end = kHeaderBytes + pad8(n_tokens * s.token_bytes_);
  const uint64_t docs_end = tokens_end + s.n_docs_ * 8;
  const uint64_t need = docs_end + ((flags & 1u) ? n_tokens : 0);
  if (s.n_docs_ > size / 8 || tokens_end > size || need > size)
    fail(path, ": truncated token shard (", size, " bytes, the header needs ", need, ")");
  if (need < size) fail(path, ": ", size - need, " unexpected bytes after the token shard's data");
  s.n_tokens_ = int64_t(n_tokens);
  s.tokens_ = p + kHeaderBytes;
  s.doc_starts_ = reinterpret_cast<const uint64_t*>(p + tokens_end);
  if (flags & 1u) s.mask_ = p + docs_end;
  s.pairs_ = (flags & 2u) != 0;
  if (s.pairs_ && (s.n_docs_ % 2 || !s.mask_))
    fail(path, ": a shard of preference pairs needs an even number of documents and a loss mask (has ", s.n_docs_,
         " documents", s.mask_ ? "" : ", no mask", ")");
  for (uint64_t d = 0; d < s.n_docs_; ++d) {
    const uint64_t start = s.doc_starts_[d];
    const bool ok = d == 0 ? start == 0 : start > s.doc_starts_[d - 1] && start < n_tokens;
    if (!ok) fail(path, ": document ", d, " starts at ", start, ", out of order or past the end");
  }
  // A 32-bit id past INT32_MAX would read as a negative token id (an index before the embedding table).
  if (s.n_vocab_ > 0 || s.token_bytes_ == 4)
    for (int64_t i = 0; i < s.n_tokens_; ++i) {
      const uint32_t id = s.token_bytes_ == 2 ? get<uint16_t>(s.tokens_ + 2 * i) : get<uint32_t>(s.tokens_ + 4 * i);
      if (id > uint32_t(INT32_MAX) || (s.n_vocab_ > 0 && int64_t(id) >= s.n_vocab_))
        fail(path, ": token ", i, " has id ", id, s.n_vocab_ > 0 ? cat(" >= the shard's vocabulary ", s.n_vocab_) : " (too large)");
    }
  return s;
}

ShardCounts concat_shards(const std::vector<std::string>& inputs, const std::string& out) {
  if (inputs.empty()) fail("no token shards to concatenate");
  std::vector<Shard> shards;
  shards.reserve(inputs.size());
  int64_t n_vocab = 0;
  for (const std::string& path : inputs) {
    shards.push_back(Shard::open(path));
    const Shard& s = shards.back();
    if (s.is_pairs() != shards.front().is_pairs())
      fail(path, ": a ", s.is_pairs() ? "pairs" : "documents", " shard cannot join ", inputs.front(), ", a ",
           shards.front().is_pairs() ? "pairs" : "documents", " shard");
    if (s.n_vocab() && n_vocab && s.n_vocab() != n_vocab)
      fail(path, ": vocabulary of ", s.n_vocab(), " tokens, but the shards before it have ", n_vocab,
           " (render every shard with the same tokenizer)");
    if (s.n_vocab()) n_vocab = s.n_vocab();
  }
  if (!n_vocab)  // no shard knows its vocabulary: the largest id decides the width
    for (const Shard& s : shards)
      for (int64_t i = 0; i < s.n_tokens(); ++i) n_vocab = std::max<int64_t>(n_vocab, int64_t(s.token(i)) + 1);
  ShardWriter writer(n_vocab);
  std::vector<int32_t> tokens[2];
  std::vector<uint8_t> mask[2];
  for (const Shard& s : shards) {
    const int per = s.is_pairs() ? 2 : 1;
    for (int64_t d = 0; d < s.n_docs(); d += per) {
      for (int k = 0; k < per; ++k) {
        tokens[k].clear();
        mask[k].clear();
        for (int64_t i = s.doc_start(d + k); i < s.doc_end(d + k); ++i) {
          tokens[k].push_back(s.token(i));
          if (s.has_mask()) mask[k].push_back(s.mask(i));
        }
      }
      if (s.is_pairs())
        writer.add_pair(tokens[0], mask[0], tokens[1], mask[1]);
      else
        writer.add_document(tokens[0], mask[0]);
    }
  }
  writer.write(out);
  return {writer.n_docs(), writer.n_tokens(), n_vocab};
}

}  // namespace edgelm::training
