// SentencePiece-style BPE (llama.cpp's "llama" vocabulary model): merges are
// not listed; any two adjacent pieces whose concatenation is a token merge,
// highest score first, and characters outside the vocabulary fall back to
// <0xAB> byte tokens.
#include <queue>

#include "platform/error.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace edgelm {

void encode_spm(const TokenizerData& d, std::string_view segment, bool add_prefix, std::vector<int32_t>& out) {
  std::string text;
  if (add_prefix && d.add_space_prefix) text = " ";
  text.append(segment);
  struct Sym {
    int32_t prev, next;
    uint32_t begin, len;
  };
  std::vector<Sym> sym;
  for (size_t pos = 0; pos < text.size();) {
    size_t len;
    unicode::decode_utf8(text, pos, len);
    int32_t i = int32_t(sym.size());
    sym.push_back({i - 1, -1, uint32_t(pos), uint32_t(len)});
    if (i > 0) sym[i - 1].next = i;
    pos += len;
  }
  struct Cand {
    float score;
    int32_t left, right;
    uint32_t len;
    bool operator<(const Cand& o) const { return score != o.score ? score < o.score : left > o.left; }
  };
  std::priority_queue<Cand> heap;
  auto push = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    auto it = d.normal_ids.find(text.substr(sym[left].begin, sym[left].len + sym[right].len));
    if (it == d.normal_ids.end() || d.token_types[it->second] == TokenType::BYTE) return;
    heap.push({d.scores[it->second], left, right, sym[left].len + sym[right].len});
  };
  for (size_t i = 1; i < sym.size(); ++i) push(int32_t(i - 1), int32_t(i));
  while (!heap.empty()) {
    Cand c = heap.top();
    heap.pop();
    Sym& a = sym[c.left];
    Sym& b = sym[c.right];
    if (a.len == 0 || b.len == 0 || a.len + b.len != c.len || a.next != c.right) continue;  // stale
    a.len += b.len;
    b.len = 0;
    a.next = b.next;
    if (b.next >= 0) sym[b.next].prev = c.left;
    push(a.prev, c.left);
    push(c.left, a.next);
  }
  for (int32_t i = sym.empty() ? -1 : 0; i >= 0; i = sym[i].next) {
    std::string piece = text.substr(sym[i].begin, sym[i].len);
    auto it = d.normal_ids.find(piece);
    if (it != d.normal_ids.end() && d.token_types[it->second] != TokenType::BYTE) {
      out.push_back(it->second);
      continue;
    }
    for (char c : piece) {
      int32_t id = d.byte_token[uint8_t(c)];
      if (id >= 0) out.push_back(id);
      else if (d.unk >= 0) out.push_back(d.unk);
      else fail("tokenizer: no token for byte 0x", std::hex, int(uint8_t(c)), " and no unknown token");
    }
  }
}

}  // namespace edgelm
