#include "tokenizer/pretokenizer.h"

#include <algorithm>

#include "tokenizer/unicode.h"

namespace edgelm {
namespace {

using namespace unicode;

// The text decoded once: code points, their category flags, byte offsets.
struct Text {
  std::vector<uint32_t> cpt;
  std::vector<uint8_t> flag;
  std::vector<uint32_t> offset;  // size n + 1

  void assign(std::string_view s) {
    cpt.clear();
    flag.clear();
    offset.clear();
    cpt.reserve(s.size());
    flag.reserve(s.size());
    offset.reserve(s.size() + 1);
    for (size_t pos = 0; pos < s.size();) {
      size_t len;
      uint32_t c;
      if (uint8_t(s[pos]) < 0x80) {
        c = uint8_t(s[pos]);
        len = 1;
      } else {
        c = decode_utf8(s, pos, len);
      }
      cpt.push_back(c);
      flag.push_back(flags(c));
      offset.push_back(uint32_t(pos));
      pos += len;
    }
    offset.push_back(uint32_t(s.size()));
  }
  bool letter(size_t i) const { return flag[i] & LETTER; }
  bool number(size_t i) const { return flag[i] & NUMBER; }
  bool space(size_t i) const { return flag[i] & SPACE; }
  bool punct(size_t i) const { return flag[i] & PUNCT; }
  // [^\s\p{L}\p{N}]
  bool other(size_t i) const { return !(flag[i] & (SPACE | LETTER | NUMBER)); }
  bool newline(size_t i) const { return cpt[i] == '\r' || cpt[i] == '\n'; }
};

struct Span {
  size_t begin, end;  // code point indices
};

template <class Pred>
size_t run(const Text& t, size_t pos, size_t end, Pred pred) {
  size_t i = pos;
  while (i < end && pred(i)) ++i;
  return i - pos;
}

uint32_t lower_ascii(uint32_t c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

// 's|'t|'re|'ve|'m|'ll|'d, optionally case-insensitive; length or 0.
size_t match_contraction(const Text& t, size_t pos, size_t end, bool any_case) {
  if (t.cpt[pos] != '\'' || pos + 1 >= end) return 0;
  auto at = [&](size_t i) { return any_case ? lower_ascii(t.cpt[i]) : t.cpt[i]; };
  uint32_t c1 = at(pos + 1);
  if (c1 == 's' || c1 == 't' || c1 == 'm' || c1 == 'd') return 2;
  if (pos + 2 < end) {
    uint32_t c2 = at(pos + 2);
    if ((c1 == 'r' && c2 == 'e') || (c1 == 'v' && c2 == 'e') || (c1 == 'l' && c2 == 'l')) return 3;
  }
  return 0;
}

// \s+(?!\S) then, if `plain_run`, \s+ : the whitespace run, less its last
// character when that one is followed by a non-space (it goes with the word).
size_t match_space_run(const Text& t, size_t pos, size_t end, bool plain_run) {
  size_t k = run(t, pos, end, [&](size_t i) { return t.space(i); });
  if (k == 0) return 0;
  if (pos + k == end) return k;
  if (k > 1) return k - 1;
  return plain_run ? 1 : 0;
}

// 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)[|\s+]
size_t match_gpt2(const Text& t, size_t pos, size_t end, bool plain_space_run) {
  if (size_t n = match_contraction(t, pos, end, false)) return n;
  size_t q = (t.cpt[pos] == ' ' && pos + 1 < end) ? pos + 1 : pos;
  if (t.letter(q)) return q - pos + run(t, q, end, [&](size_t i) { return t.letter(i); });
  if (t.number(q)) return q - pos + run(t, q, end, [&](size_t i) { return t.number(i); });
  if (t.other(q)) return q - pos + run(t, q, end, [&](size_t i) { return t.other(i); });
  return match_space_run(t, pos, end, plain_space_run);
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,max_digits}|
//  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+
size_t match_llama3(const Text& t, size_t pos, size_t end, size_t max_digits) {
  if (size_t n = match_contraction(t, pos, end, true)) return n;
  auto letters = [&](size_t from) { return run(t, from, end, [&](size_t i) { return t.letter(i); }); };
  if (t.letter(pos)) return letters(pos);
  if (!t.newline(pos) && !t.number(pos) && pos + 1 < end && t.letter(pos + 1)) return 1 + letters(pos + 1);
  if (t.number(pos)) return std::min(max_digits, run(t, pos, end, [&](size_t i) { return t.number(i); }));
  size_t q = (t.cpt[pos] == ' ' && pos + 1 < end) ? pos + 1 : pos;
  if (t.other(q)) {
    size_t i = q + run(t, q, end, [&](size_t j) { return t.other(j); });
    while (i < end && t.newline(i)) ++i;
    return i - pos;
  }
  size_t k = run(t, pos, end, [&](size_t i) { return t.space(i); });
  for (size_t j = pos + k; j > pos; --j)
    if (t.newline(j - 1)) return j - pos;
  return match_space_run(t, pos, end, true);
}

// Keeps every match and every gap between matches as a piece.
template <class Match>
void split_pass(const Text& t, const std::vector<Span>& in, std::vector<Span>& out, Match match) {
  out.clear();
  for (const Span& s : in) {
    size_t gap = s.begin;
    for (size_t pos = s.begin; pos < s.end;) {
      size_t n = match(pos, s.end);
      if (n == 0) {
        ++pos;
        continue;
      }
      if (gap < pos) out.push_back({gap, pos});
      out.push_back({pos, pos + n});
      pos += n;
      gap = pos;
    }
    if (gap < s.end) out.push_back({gap, s.end});
  }
}

bool is_cjk_or_hangul(uint32_t c) {
  return (c >= 0x800 && c <= 0x9FA5) || (c >= 0xAC00 && c <= 0xD7FF);
}

// [\p{P}\$\+<=>\^~\|`] (falcon; the default pattern has no backquote)
bool is_falcon_punct(const Text& t, size_t i, bool backquote) {
  uint32_t c = t.cpt[i];
  return t.punct(i) || c == '$' || c == '+' || c == '<' || c == '=' || c == '>' || c == '^' || c == '~' ||
         c == '|' || (backquote && c == '`');
}

bool is_ascii_digit(uint32_t c) { return c >= '0' && c <= '9'; }

}  // namespace

PreTokenizer::PreTokenizer(PreTokenizerKind kind, std::string name) : kind_(kind), name_(std::move(name)) {}

std::optional<PreTokenizer> PreTokenizer::from_name(std::string_view name) {
  using K = PreTokenizerKind;
  struct Entry {
    const char* name;
    K kind;
    bool ignore_merges;
  };
  static const Entry table[] = {
      {"default", K::DEFAULT, false},       {"gpt-2", K::GPT2, false},           {"gpt2", K::GPT2, false},
      {"mpt", K::GPT2, false},              {"olmo", K::GPT2, false},            {"jais", K::GPT2, false},
      {"llama3", K::LLAMA3, true},          {"llama-v3", K::LLAMA3, true},       {"llama-bpe", K::LLAMA3, true},
      {"falcon3", K::LLAMA3, true},         {"dbrx", K::LLAMA3, false},          {"smaug-bpe", K::LLAMA3, false},
      {"qwen2", K::QWEN2, false},           {"qwen2.5", K::QWEN2, false},        {"qwen-2.5", K::QWEN2, false},
      {"deepseek-r1-qwen", K::QWEN2, false}, {"starcoder", K::STARCODER, false}, {"smollm", K::STARCODER, false},
      {"refact", K::STARCODER, false},      {"command-r", K::STARCODER, false},  {"codeshell", K::STARCODER, false},
      {"exaone", K::STARCODER, false},      {"minerva-7b", K::STARCODER, false}, {"deepseek-coder", K::DEEPSEEK_CODER, false},
      {"falcon", K::FALCON, false},
  };
  for (const Entry& e : table) {
    if (name == e.name) {
      PreTokenizer p(e.kind, e.name);
      p.ignore_merges_ = e.ignore_merges;
      return p;
    }
  }
  return std::nullopt;
}

std::vector<std::string> PreTokenizer::known_names() {
  return {"default", "gpt-2", "llama3", "llama-bpe", "qwen2", "starcoder", "smollm", "deepseek-coder", "falcon"};
}

void PreTokenizer::split(std::string_view text, std::vector<PreTokenPiece>& pieces) const {
  if (text.empty()) return;
  // Per-thread buffers: encode calls this once per text, often for short texts.
  thread_local Text t;
  thread_local std::vector<Span> a, b;
  t.assign(text);
  a.assign(1, Span{0, t.cpt.size()});
  auto pass = [&](auto match) {
    split_pass(t, a, b, match);
    std::swap(a, b);
  };
  using K = PreTokenizerKind;
  switch (kind_) {
    case K::GPT2:
      pass([&](size_t p, size_t e) { return match_gpt2(t, p, e, true); });
      break;
    case K::LLAMA3:
      pass([&](size_t p, size_t e) { return match_llama3(t, p, e, 3); });
      break;
    case K::QWEN2:
      pass([&](size_t p, size_t e) { return match_llama3(t, p, e, 1); });
      break;
    case K::STARCODER:
      pass([&](size_t p, size_t e) -> size_t { return t.number(p) ? 1 : 0; });
      pass([&](size_t p, size_t e) { return match_gpt2(t, p, e, false); });
      break;
    case K::DEEPSEEK_CODER:
      pass([&](size_t p, size_t e) -> size_t { return t.newline(p) ? 1 : 0; });
      for (auto cls : {LETTER, PUNCT}) {
        pass([&](size_t p, size_t e) -> size_t {
          size_t q = (t.space(p) && p + 1 < e && (t.flag[p + 1] & cls)) ? p + 1 : p;
          size_t n = run(t, q, e, [&](size_t i) { return (t.flag[i] & cls) != 0; });
          return n ? q - p + n : 0;
        });
      }
      pass([&](size_t p, size_t e) { return run(t, p, e, [&](size_t i) { return is_cjk_or_hangul(t.cpt[i]); }); });
      pass([&](size_t p, size_t e) -> size_t { return t.number(p) ? 1 : 0; });
      break;
    case K::FALCON:
    case K::DEFAULT: {
      bool backquote = kind_ == K::FALCON;
      pass([&](size_t p, size_t e) { return run(t, p, e, [&](size_t i) { return is_falcon_punct(t, i, backquote); }); });
      pass([&](size_t p, size_t e) { return match_gpt2(t, p, e, false); });
      if (kind_ == K::DEFAULT) pass([&](size_t p, size_t e) { return run(t, p, e, [&](size_t i) { return t.number(i); }); });
      pass([&](size_t p, size_t e) -> size_t {
        return (p + 3 <= e && is_ascii_digit(t.cpt[p]) && is_ascii_digit(t.cpt[p + 1]) && is_ascii_digit(t.cpt[p + 2]))
                   ? 3 : 0;
      });
      break;
    }
  }
  pieces.reserve(pieces.size() + a.size());
  for (const Span& s : a) pieces.push_back({t.offset[s.begin], t.offset[s.end] - t.offset[s.begin]});
}

std::vector<std::string> PreTokenizer::split(std::string_view text) const {
  std::vector<PreTokenPiece> pieces;
  split(text, pieces);
  std::vector<std::string> out;
  for (const auto& p : pieces) out.emplace_back(text.substr(p.offset, p.length));
  return out;
}

}  // namespace edgelm
