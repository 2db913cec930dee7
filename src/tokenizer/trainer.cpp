// Byte-level BPE training.
//
// The corpus is reduced to a table of distinct pre-tokens ("words") with
// their counts. Pair counts are kept incrementally: a merge only visits the
// words that contain its pair (an index from pair to words), and only the
// pairs next to each merged occurrence change. A max-heap with lazy deletion
// picks the next pair, so a merge costs about the number of its occurrences,
// not a pass over the corpus.
#include <algorithm>
#include <queue>
#include <unordered_map>

#include "platform/error.h"
#include "platform/progress.h"
#include "tokenizer/tokenizer_data.h"

namespace edgelm {
namespace {

struct Word {
  std::vector<int32_t> sym;
  int64_t count;
  int32_t last_merge = -1;  // the merge that last visited this word (dedupes the pair index)
};

struct HeapEntry {
  int64_t count;
  uint64_t pair;
  // Highest count first; among equal counts the smaller (left, right) ids, so runs are deterministic.
  bool operator<(const HeapEntry& o) const { return count != o.count ? count < o.count : pair > o.pair; }
};

int32_t left_of(uint64_t pair) { return int32_t(pair >> 32); }
int32_t right_of(uint64_t pair) { return int32_t(uint32_t(pair)); }

bool looks_like_end_token(const std::string& s) {
  return s == "<|end|>" || s == "<|endoftext|>" || s == "</s>" || s == "<|im_end|>" || s == "<|eot_id|>" ||
         s == "<|end_of_text|>";
}

}  // namespace

Tokenizer train_bpe(const std::vector<std::string>& texts, int32_t vocab_size, const std::vector<std::string>& special_tokens,
                    const TrainOptions& options) {
  auto pre = PreTokenizer::from_name(options.pre);
  if (!pre) fail("train: unknown pre-tokenizer '", options.pre, "'");
  auto d = std::make_shared<TokenizerData>();
  d->model = "gpt2";
  d->pre = *pre;
  for (const auto& s : special_tokens) {
    if (s.empty()) fail("train: a special token is empty");
    for (const auto& t : d->token_bytes)
      if (t == s) fail("train: special token '", s, "' is listed twice");
    d->token_bytes.push_back(s);
    d->token_types.push_back(TokenType::CONTROL);
    if (looks_like_end_token(s)) d->eos = int32_t(d->token_bytes.size() - 1);
  }
  const int32_t n_special = int32_t(special_tokens.size());
  if (vocab_size < n_special + 256)
    fail("train: --vocab-size ", vocab_size, " is too small: it must hold the ", n_special, " special tokens and 256 byte tokens (at least ",
         n_special + 256, ")");
  for (int b = 0; b < 256; ++b) {
    d->token_bytes.push_back(std::string(1, char(b)));
    d->token_types.push_back(TokenType::NORMAL);
  }

  // Distinct pre-tokens with their counts. Special tokens in the text are cut
  // out so that their text is never learned as ordinary merges.
  std::unordered_map<std::string, int64_t> counts_by_text;
  std::vector<PreTokenPiece> pieces;
  auto add_text = [&](std::string_view text) {
    pieces.clear();
    pre->split(text, pieces);
    for (const auto& p : pieces) ++counts_by_text[std::string(text.substr(p.offset, p.length))];
  };
  for (const std::string& text : texts) {
    size_t start = 0;
    if (!special_tokens.empty()) {
      for (size_t pos = 0; pos < text.size(); ++pos) {
        for (const auto& s : special_tokens) {
          if (text[pos] == s[0] && text.compare(pos, s.size(), s) == 0) {
            add_text(std::string_view(text).substr(start, pos - start));
            pos += s.size();
            start = pos;
            break;
          }
        }
      }
    }
    add_text(std::string_view(text).substr(std::min(start, text.size())));
  }
  std::vector<std::pair<std::string, int64_t>> sorted(counts_by_text.begin(), counts_by_text.end());
  counts_by_text.clear();
  std::sort(sorted.begin(), sorted.end());
  std::vector<Word> words;
  words.reserve(sorted.size());
  for (const auto& [text, count] : sorted) {
    Word w;
    w.count = count;
    for (char c : text) w.sym.push_back(n_special + uint8_t(c));
    words.push_back(std::move(w));
  }
  sorted.clear();

  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::vector<uint32_t>> pair_words;
  for (uint32_t wi = 0; wi < words.size(); ++wi) {
    const Word& w = words[wi];
    for (size_t i = 0; i + 1 < w.sym.size(); ++i) {
      uint64_t p = MergeTable::key(w.sym[i], w.sym[i + 1]);
      pair_count[p] += w.count;
      auto& list = pair_words[p];
      if (list.empty() || list.back() != wi) list.push_back(wi);
    }
  }
  std::priority_queue<HeapEntry> heap;
  for (const auto& [p, c] : pair_count) heap.push({c, p});

  const int32_t n_merges_wanted = vocab_size - n_special - 256;
  std::unique_ptr<ProgressBar> bar;
  if (options.show_progress) bar = std::make_unique<ProgressBar>("train", n_merges_wanted, "merges");
  std::vector<uint64_t> grown;  // pairs with the new token, whose counts went up
  while (int32_t(d->merges.size()) < n_merges_wanted && !heap.empty()) {
    HeapEntry top = heap.top();
    heap.pop();
    auto it = pair_count.find(top.pair);
    int64_t current = it == pair_count.end() ? 0 : it->second;
    if (current != top.count) {  // stale: counts only go down between pushes
      if (current > 0) heap.push({current, top.pair});
      continue;
    }
    if (current < options.min_frequency) break;
    const int32_t a = left_of(top.pair), b = right_of(top.pair);
    const int32_t merge_index = int32_t(d->merges.size());
    const int32_t new_id = int32_t(d->token_bytes.size());
    d->token_bytes.push_back(d->token_bytes[a] + d->token_bytes[b]);
    d->token_types.push_back(TokenType::NORMAL);
    d->merges.push_back({a, b, new_id});

    grown.clear();
    auto change = [&](int32_t x, int32_t y, int64_t delta, uint32_t wi) {
      uint64_t p = MergeTable::key(x, y);
      pair_count[p] += delta;
      if (delta > 0) {
        auto& list = pair_words[p];
        if (list.empty() || list.back() != wi) list.push_back(wi);
        grown.push_back(p);
      }
    };
    std::vector<uint32_t> where = std::move(pair_words[top.pair]);
    pair_words.erase(top.pair);
    for (uint32_t wi : where) {
      Word& w = words[wi];
      if (w.last_merge == merge_index) continue;
      w.last_merge = merge_index;
      std::vector<int32_t>& s = w.sym;
      size_t out = 0;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          // The neighbours of this occurrence: (prev, a) becomes (prev, new), (b, next) becomes (new, next).
          if (out > 0) {
            change(s[out - 1], a, -w.count, wi);
            change(s[out - 1], new_id, w.count, wi);
          }
          if (i + 2 < s.size()) {
            change(b, s[i + 2], -w.count, wi);
            change(new_id, s[i + 2], w.count, wi);
          }
          pair_count[top.pair] -= w.count;
          s[out++] = new_id;
          i += 2;
        } else {
          s[out++] = s[i++];
        }
      }
      s.resize(out);
    }
    pair_count.erase(top.pair);
    std::sort(grown.begin(), grown.end());
    grown.erase(std::unique(grown.begin(), grown.end()), grown.end());
    for (uint64_t p : grown) {
      auto c = pair_count.find(p);
      if (c != pair_count.end() && c->second > 0) heap.push({c->second, p});
    }
    if (bar && (merge_index % 64 == 0)) bar->update(merge_index + 1);
  }
  if (bar) bar->finish(cat(d->merges.size(), " merges, ", d->token_bytes.size(), " tokens"));
  d->finalize("trained tokenizer");
  return make_tokenizer(std::move(d));
}

}  // namespace edgelm
