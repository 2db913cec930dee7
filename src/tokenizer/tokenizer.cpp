// Byte-level BPE encoding and decoding.
#include "tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <queue>

#include "platform/error.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace edgelm {

void MergeTable::reserve(size_t n) {
  size_t cap = 16;
  while (cap < n * 2) cap <<= 1;
  std::vector<Entry> old;
  old.swap(slots_);
  slots_.assign(cap, Entry{});
  mask_ = cap - 1;
  size_ = 0;
  for (const Entry& e : old)
    if (e.key != kEmpty) insert(int32_t(e.key >> 32), int32_t(uint32_t(e.key)), e.rank, e.result);
}

bool MergeTable::insert(int32_t a, int32_t b, int32_t rank, int32_t result) {
  if ((size_ + 1) * 2 > slots_.size()) reserve(std::max<size_t>(size_ + 1, slots_.size()));
  uint64_t k = key(a, b);
  for (size_t i = hash(k) & mask_;; i = (i + 1) & mask_) {
    Entry& e = slots_[i];
    if (e.key == k) return false;
    if (e.key == kEmpty) {
      e = Entry{k, rank, result};
      ++size_;
      return true;
    }
  }
}

bool is_special_type(TokenType t) {
  return t == TokenType::CONTROL || t == TokenType::USER_DEFINED || t == TokenType::UNKNOWN;
}

void TokenizerData::finalize(const std::string& what) {
  static std::atomic<uint64_t> next_instance{1};
  instance = next_instance++;
  size_t n = token_bytes.size();
  if (n == 0) fail(what, ": the vocabulary is empty");
  if (n > size_t(INT32_MAX)) fail(what, ": too many tokens (", n, ")");
  if (token_types.empty()) token_types.assign(n, TokenType::NORMAL);
  if (token_types.size() != n)
    fail(what, ": ", token_types.size(), " token types for ", n, " tokens (tokenizer.ggml.token_type must match tokens)");
  normal_ids.clear();
  special_ids.clear();
  normal_ids.reserve(n);
  byte_token.fill(-1);
  for (size_t i = 0; i < n; ++i) {
    if (is_special_type(token_types[i])) {
      if (!token_bytes[i].empty()) special_ids.emplace(token_bytes[i], int32_t(i));
    } else if (token_types[i] == TokenType::BYTE) {
      if (token_bytes[i].size() == 1 && byte_token[uint8_t(token_bytes[i][0])] < 0)
        byte_token[uint8_t(token_bytes[i][0])] = int32_t(i);
    } else if (token_types[i] != TokenType::UNUSED) {
      normal_ids.emplace(token_bytes[i], int32_t(i));  // a repeated string keeps its first id
    }
  }
  // Byte tokens (SentencePiece's <0xAB>) are the fallback; an ordinary token
  // with the same single byte is what merges produce and lookups find.
  for (size_t i = 0; i < n; ++i)
    if (token_types[i] == TokenType::BYTE) normal_ids.emplace(token_bytes[i], int32_t(i));
  for (int b = 0; b < 256; ++b) {
    if (byte_token[b] >= 0) continue;
    auto it = normal_ids.find(std::string(1, char(b)));
    if (it != normal_ids.end()) byte_token[b] = it->second;
  }
  merge_table = MergeTable();
  merge_table.reserve(merges.size());
  for (size_t r = 0; r < merges.size(); ++r) {
    const Merge& m = merges[r];
    if (m.left < 0 || size_t(m.left) >= n || m.right < 0 || size_t(m.right) >= n || m.result < 0 || size_t(m.result) >= n)
      fail(what, ": merge ", r, " refers to a token id outside the vocabulary");
    merge_table.insert(m.left, m.right, int32_t(r), m.result);
  }
  has_user_defined = false;
  for (size_t i = 0; i < n; ++i) has_user_defined |= token_types[i] == TokenType::USER_DEFINED && !token_bytes[i].empty();
  for (auto& list : specials_by_first_byte) list.clear();
  for (const auto& [text, id] : special_ids) specials_by_first_byte[uint8_t(text[0])].push_back(id);
  for (auto& list : specials_by_first_byte) {
    std::sort(list.begin(), list.end(), [&](int32_t a, int32_t b) {
      if (token_bytes[a].size() != token_bytes[b].size()) return token_bytes[a].size() > token_bytes[b].size();
      return a < b;
    });
  }
  for (int32_t id : {bos, eos, pad, unk})
    if (id >= int32_t(n)) fail(what, ": special token id ", id, " is outside the vocabulary of ", n, " tokens");
}

namespace {

// Words recently encoded, per thread and per tokenizer: natural text repeats
// a few thousand words, so most pre-tokens skip the merge loop entirely.
struct WordCache {
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  uint64_t instance = 0;
  std::unordered_map<std::string, std::pair<uint32_t, uint32_t>, Hash, std::equal_to<>> words;  // -> arena span
  std::vector<int32_t> arena;
  static constexpr size_t kMaxWords = 1 << 17, kMaxWordBytes = 64;

  void bind(uint64_t id) {
    if (instance != id || words.size() >= kMaxWords) {
      words.clear();
      arena.clear();
      instance = id;
    }
  }
};
thread_local WordCache t_cache;

// Merge by rank, lowest first, leftmost among equals, one merge at a time
// (as Hugging Face and llama.cpp do), for short words: a linear scan of the
// cached pair ranks beats a heap below a few dozen symbols.
void merge_short(const TokenizerData& d, std::vector<int32_t>& sym) {
  constexpr int32_t kNone = INT32_MAX;
  thread_local std::vector<int32_t> rank, result;
  size_t n = sym.size();
  rank.resize(n);
  result.resize(n);
  auto look = [&](size_t i) {
    const MergeTable::Entry* e = d.merge_table.find(sym[i], sym[i + 1]);
    rank[i] = e ? e->rank : kNone;
    result[i] = e ? e->result : -1;
  };
  for (size_t i = 0; i + 1 < n; ++i) look(i);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i)
      if (rank[i] < rank[best]) best = i;
    if (rank[best] == kNone) break;
    sym[best] = result[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      sym[i] = sym[i + 1];
      rank[i] = rank[i + 1];
      result[i] = result[i + 1];
    }
    --n;
    sym.resize(n);
    if (best > 0) look(best - 1);
    if (best + 1 < n) look(best);
  }
}

// The same merge order for long words with a heap over a linked list: O(n log n).
void merge_long(const TokenizerData& d, std::vector<int32_t>& sym) {
  struct Node {
    int32_t id;
    int32_t prev, next;
  };
  struct Cand {
    int32_t rank, left, right_id, left_id;
    bool operator>(const Cand& o) const { return rank != o.rank ? rank > o.rank : left > o.left; }
  };
  int32_t n = int32_t(sym.size());
  std::vector<Node> nodes(n);
  for (int32_t i = 0; i < n; ++i) nodes[i] = {sym[i], i - 1, i + 1 < n ? i + 1 : -1};
  std::priority_queue<Cand, std::vector<Cand>, std::greater<>> heap;
  auto push = [&](int32_t left) {
    if (left < 0 || nodes[left].next < 0) return;
    const Node& a = nodes[left];
    if (const MergeTable::Entry* e = d.merge_table.find(a.id, nodes[a.next].id))
      heap.push({e->rank, left, nodes[a.next].id, a.id});
  };
  for (int32_t i = 0; i + 1 < n; ++i) push(i);
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Node& a = nodes[c.left];
    if (a.id != c.left_id || a.next < 0 || nodes[a.next].id != c.right_id) continue;  // stale
    const MergeTable::Entry* e = d.merge_table.find(a.id, nodes[a.next].id);
    if (!e || e->rank != c.rank) continue;
    int32_t right = a.next;
    a.id = e->result;
    a.next = nodes[right].next;
    if (a.next >= 0) nodes[a.next].prev = c.left;
    nodes[right].id = -1;
    push(a.prev);
    push(c.left);
  }
  sym.clear();
  for (int32_t i = 0; i >= 0 && i < n; i = nodes[i].next) sym.push_back(nodes[i].id);
}

void encode_word(const TokenizerData& d, std::string_view word, std::vector<int32_t>& out) {
  if (d.pre.ignore_merges()) {
    auto it = d.normal_ids.find(std::string(word));
    if (it != d.normal_ids.end()) {
      out.push_back(it->second);
      return;
    }
  }
  WordCache& cache = t_cache;
  bool cacheable = word.size() <= WordCache::kMaxWordBytes;
  if (cacheable) {
    cache.bind(d.instance);
    auto it = cache.words.find(word);
    if (it != cache.words.end()) {
      out.insert(out.end(), cache.arena.begin() + it->second.first,
                 cache.arena.begin() + it->second.first + it->second.second);
      return;
    }
  }
  thread_local std::vector<int32_t> sym;
  sym.clear();
  for (char c : word) {
    int32_t id = d.byte_token[uint8_t(c)];
    if (id < 0) fail("tokenizer: the vocabulary has no token for byte 0x", std::hex, int(uint8_t(c)), ", so this text cannot be encoded");
    sym.push_back(id);
  }
  if (sym.size() <= 48) merge_short(d, sym);
  else merge_long(d, sym);
  if (cacheable) {
    cache.words.emplace(std::string(word), std::make_pair(uint32_t(cache.arena.size()), uint32_t(sym.size())));
    cache.arena.insert(cache.arena.end(), sym.begin(), sym.end());
  }
  out.insert(out.end(), sym.begin(), sym.end());
}

}  // namespace

void encode_spm(const TokenizerData& d, std::string_view text, bool at_start, std::vector<int32_t>& out);

Tokenizer::Tokenizer() : data_(std::make_shared<TokenizerData>()) {}
Tokenizer::Tokenizer(std::shared_ptr<TokenizerData> data) : data_(std::move(data)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(const Tokenizer&) = default;
Tokenizer& Tokenizer::operator=(const Tokenizer&) = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

Tokenizer make_tokenizer(std::shared_ptr<TokenizerData> data) { return Tokenizer(std::move(data)); }

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool parse_special) const {
  const TokenizerData& d = *data_;
  if (d.token_bytes.empty()) fail("tokenizer: encode on an empty tokenizer");
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  std::vector<PreTokenPiece> pieces;
  bool prev_special = true;  // SentencePiece puts a space before text that starts or follows a special token
  auto encode_segment = [&](std::string_view seg) {
    if (seg.empty()) return;
    if (d.model == "llama") {
      encode_spm(d, seg, prev_special, out);
    } else {
      pieces.clear();
      d.pre.split(seg, pieces);
      for (const auto& p : pieces) encode_word(d, seg.substr(p.offset, p.length), out);
    }
    prev_special = false;
  };
  // Split around special tokens: control ones only when asked, user-defined
  // ones always (as llama.cpp does); leftmost, then longest match.
  size_t start = 0;
  if (parse_special ? !d.special_ids.empty() : d.has_user_defined) {
    for (size_t pos = 0; pos < text.size();) {
      int32_t found = -1;
      for (int32_t id : d.specials_by_first_byte[uint8_t(text[pos])]) {
        if (!parse_special && d.token_types[id] != TokenType::USER_DEFINED) continue;
        const std::string& s = d.token_bytes[id];
        if (text.compare(pos, s.size(), s) == 0) {
          found = id;
          break;
        }
      }
      if (found < 0) {
        ++pos;
        continue;
      }
      encode_segment(text.substr(start, pos - start));
      out.push_back(found);
      prev_special = true;
      pos += d.token_bytes[found].size();
      start = pos;
    }
  }
  encode_segment(text.substr(start));
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const {
  std::string out;
  for (int32_t id : ids) out += token_bytes(id);
  return out;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || id >= n_vocab()) fail("token id ", id, " is outside the vocabulary (0..", n_vocab() - 1, ")");
  return data_->token_bytes[size_t(id)];
}

std::string Tokenizer::token_text(int32_t id) const {
  const std::string& b = token_bytes(id);
  if (is_special(id) || data_->model != "gpt2") return b;
  return unicode::to_byte_level(b);
}

int32_t Tokenizer::n_vocab() const { return int32_t(data_->token_bytes.size()); }

std::optional<int32_t> Tokenizer::special_id(std::string_view text) const {
  auto it = data_->special_ids.find(std::string(text));
  if (it == data_->special_ids.end()) return std::nullopt;
  return it->second;
}

std::optional<int32_t> Tokenizer::token_id(std::string_view bytes) const {
  auto it = data_->normal_ids.find(std::string(bytes));
  if (it != data_->normal_ids.end()) return it->second;
  return special_id(bytes);
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && id < n_vocab() && is_special_type(data_->token_types[size_t(id)]);
}

TokenType Tokenizer::token_type(int32_t id) const {
  token_bytes(id);  // range check
  return data_->token_types[size_t(id)];
}

int32_t Tokenizer::eos_id() const { return data_->eos; }
int32_t Tokenizer::bos_id() const { return data_->bos; }
int32_t Tokenizer::pad_id() const { return data_->pad; }
int32_t Tokenizer::n_merges() const { return int32_t(data_->merges.size()); }
const std::string& Tokenizer::pre() const { return data_->pre.name(); }
const std::string& Tokenizer::model() const { return data_->model; }

static void check_id(const Tokenizer& t, int32_t id) {
  if (id < -1 || id >= t.n_vocab()) fail("special token id ", id, " is outside the vocabulary (0..", t.n_vocab() - 1, ")");
}
void Tokenizer::set_eos_id(int32_t id) { check_id(*this, id); data_ = std::make_shared<TokenizerData>(*data_); data_->eos = id; }
void Tokenizer::set_bos_id(int32_t id) { check_id(*this, id); data_ = std::make_shared<TokenizerData>(*data_); data_->bos = id; }
void Tokenizer::set_pad_id(int32_t id) { check_id(*this, id); data_ = std::make_shared<TokenizerData>(*data_); data_->pad = id; }

// Whether bytes p[0..n) (a lead byte and n-1 continuation bytes) begin some
// valid UTF-8 character: the second byte's range depends on the lead.
static bool utf8_prefix_can_complete(const char* p, size_t n) {
  uint8_t lead = uint8_t(p[0]);
  if (n < 2) return true;
  uint8_t c = uint8_t(p[1]);
  if (lead == 0xE0) return c >= 0xA0 && c <= 0xBF;
  if (lead == 0xED) return c >= 0x80 && c <= 0x9F;
  if (lead == 0xF0) return c >= 0x90 && c <= 0xBF;
  if (lead == 0xF4) return c >= 0x80 && c <= 0x8F;
  return true;  // continuation bytes were checked by the caller
}

StreamDecoder::StreamDecoder(const Tokenizer& tokenizer) : tokenizer_(&tokenizer) {}

std::string StreamDecoder::push(int32_t id) {
  pending_ += tokenizer_->token_bytes(id);
  // Hold back the tail if it is the start of a UTF-8 character still missing
  // continuation bytes; anything that cannot become valid goes out as it is.
  size_t n = pending_.size();
  size_t keep = 0;
  for (size_t back = 1; back <= 3 && back <= n; ++back) {
    uint8_t c = uint8_t(pending_[n - back]);
    if ((c & 0xC0) == 0x80) continue;  // a continuation byte: look further back
    int len = unicode::utf8_sequence_length(c);
    if (len > int(back) && utf8_prefix_can_complete(pending_.data() + n - back, back)) keep = back;
    break;
  }
  std::string out = pending_.substr(0, n - keep);
  pending_.erase(0, n - keep);
  return out;
}

std::string StreamDecoder::flush() {
  std::string out;
  out.swap(pending_);
  return out;
}

}  // namespace edgelm
