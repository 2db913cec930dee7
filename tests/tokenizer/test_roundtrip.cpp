// Round trips, the trainer against a naive reference, encoder equivalence,
// GGUF persistence and the streaming decoder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <unistd.h>

#include "platform/error.h"
#include "platform/random.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace edgelm {
namespace {

using Ids = std::vector<int32_t>;

// A small mixed English / Korean corpus, generated (not from any data set).
std::vector<std::string> corpus(uint64_t seed, int n_lines) {
  static const char* en[] = {"turn", "on", "the", "air", "purifier", "please", "set", "fan", "speed", "to", "high",
                             "sleep", "mode", "timer", "for", "minutes", "what's", "quality", "filter", "life", "I've",
                             "can't", "light", "off", "child", "lock", "auto", "it's", "90", "30", "level", "3"};
  static const char* ko[] = {"공기청정기", "켜줘", "꺼줘", "바람", "세기", "강으로", "수면", "모드", "타이머", "분",
                             "필터", "수명", "알려줘", "공기질", "어때", "잠금", "조명", "자동", "해줘", "좀"};
  Rng rng(seed);
  std::vector<std::string> lines;
  for (int i = 0; i < n_lines; ++i) {
    std::string line;
    int n = 3 + int(rng.below(8));
    for (int w = 0; w < n; ++w) {
      if (w) line += rng.below(10) == 0 ? "  " : " ";
      line += rng.below(3) == 0 ? ko[rng.below(std::size(ko))] : en[rng.below(std::size(en))];
      if (rng.below(12) == 0) line += rng.below(2) ? "!" : ",";
    }
    line += rng.below(2) ? ".\n" : "?\n";
    lines.push_back(line);
  }
  return lines;
}

const std::vector<std::string> kSpecials = {"<|user|>", "<|assistant|>", "<|end|>", "<|fn:set_timer|>"};

const Tokenizer& trained() {
  static const Tokenizer t = train_bpe(corpus(1, 400), 450, kSpecials);
  return t;
}

// Reference BPE training: recount every pair over the whole word table each merge.
std::vector<std::pair<std::string, std::string>> naive_train(const std::vector<std::string>& texts, int n_merges) {
  PreTokenizer pre;
  std::map<std::string, int64_t> counts;
  for (const auto& t : texts)
    for (const auto& w : pre.split(t)) ++counts[w];
  std::vector<std::pair<std::vector<std::string>, int64_t>> words;
  std::map<std::string, int32_t> id_of;  // bytes -> id in the trained numbering (4 specials, then bytes, then merges)
  for (int b = 0; b < 256; ++b) id_of[std::string(1, char(b))] = 4 + b;
  for (const auto& [w, c] : counts) {
    std::vector<std::string> s;
    for (char ch : w) s.emplace_back(1, ch);
    words.emplace_back(s, c);
  }
  std::vector<std::pair<std::string, std::string>> merges;
  for (int m = 0; m < n_merges; ++m) {
    std::map<std::pair<int32_t, int32_t>, int64_t> pc;
    for (const auto& [s, c] : words)
      for (size_t i = 0; i + 1 < s.size(); ++i) pc[{id_of[s[i]], id_of[s[i + 1]]}] += c;
    std::pair<int32_t, int32_t> best{-1, -1};
    int64_t best_count = 0;
    for (const auto& [p, c] : pc)
      if (c > best_count) best = p, best_count = c;  // map order: smallest ids first among equal counts
    if (best_count < 2) break;
    std::string a, b;
    for (const auto& [bytes, id] : id_of) {
      if (id == best.first) a = bytes;
      if (id == best.second) b = bytes;
    }
    merges.emplace_back(a, b);
    id_of[a + b] = 4 + 256 + m;
    for (auto& [s, c] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < s.size();) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) out.push_back(a + b), i += 2;
        else out.push_back(s[i++]);
      }
      s = out;
    }
  }
  return merges;
}

TEST(Trainer, MatchesNaiveReference) {
  auto texts = corpus(7, 150);
  Tokenizer t = train_bpe(texts, 4 + 256 + 120, kSpecials);
  auto ref = naive_train(texts, 120);
  ASSERT_EQ(int32_t(ref.size()), t.n_merges());
  for (int32_t m = 0; m < t.n_merges(); ++m)
    EXPECT_EQ(t.token_bytes(4 + 256 + m), ref[m].first + ref[m].second) << "merge " << m;
}

TEST(Trainer, LayoutAndDeterminism) {
  const Tokenizer& t = trained();
  EXPECT_EQ(t.n_vocab(), 450);
  EXPECT_EQ(t.special_id("<|end|>"), 2);
  EXPECT_EQ(t.eos_id(), 2);
  for (int b = 0; b < 256; ++b) EXPECT_EQ(t.token_bytes(4 + b), std::string(1, char(b)));
  Tokenizer again = train_bpe(corpus(1, 400), 450, kSpecials);
  for (int32_t i = 0; i < t.n_vocab(); ++i) ASSERT_EQ(t.token_bytes(i), again.token_bytes(i));
  EXPECT_THROW(train_bpe(corpus(1, 10), 100, kSpecials), Error);  // smaller than specials + 256 bytes
  EXPECT_THROW(train_bpe(corpus(1, 10), 300, {"<a>", "<a>"}), Error);
}

TEST(Trainer, SpecialTokenTextIsNotLearned) {
  std::vector<std::string> texts(50, "<|user|>hello<|end|>");
  Tokenizer t = train_bpe(texts, 300, kSpecials);
  for (int32_t i = 4 + 256; i < t.n_vocab(); ++i)
    EXPECT_EQ(t.token_bytes(i).find('|'), std::string::npos) << t.token_bytes(i);
  EXPECT_EQ(t.encode("<|user|>hello<|end|>", true).front(), 0);
  EXPECT_EQ(t.encode("<|user|>hello<|end|>", true).back(), 2);
}

// Reference encoder: the lowest-ranked adjacent pair, leftmost, one merge at a time.
Ids naive_encode_word(const Tokenizer& t, const std::string& word) {
  std::map<std::pair<int32_t, int32_t>, std::pair<int32_t, int32_t>> rank;  // pair -> (rank, result)
  int32_t base = t.n_vocab() - t.n_merges();
  for (int32_t m = 0; m < t.n_merges(); ++m) {
    const std::string& bytes = t.token_bytes(base + m);
    for (size_t cut = 1; cut < bytes.size(); ++cut) {
      auto a = t.token_id(bytes.substr(0, cut)), b = t.token_id(bytes.substr(cut));
      if (a && b && !rank.count({*a, *b})) {
        // Only the split that was the merge counts; find it via re-encoding would be circular, so
        // accept the first split whose halves are older tokens (true for trained vocabularies).
        if (*a < base + m && *b < base + m) {
          rank[{*a, *b}] = {m, base + m};
          break;
        }
      }
    }
  }
  Ids s;
  for (char c : word) s.push_back(*t.token_id(std::string(1, c)));
  while (s.size() > 1) {
    size_t best = 0;
    int32_t best_rank = INT32_MAX;
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      auto it = rank.find({s[i], s[i + 1]});
      if (it != rank.end() && it->second.first < best_rank) best = i, best_rank = it->second.first;
    }
    if (best_rank == INT32_MAX) break;
    s[best] = rank[{s[best], s[best + 1]}].second;
    s.erase(s.begin() + best + 1);
  }
  return s;
}

TEST(Encoder, ShortAndLongWordsMatchReference) {
  const Tokenizer& t = trained();
  Rng rng(3);
  const char* parts[] = {"air", "purifier", "공기", "청정기", "mode", "e", "ti", "mer", "ss", "on"};
  for (int i = 0; i < 60; ++i) {
    std::string word;
    int n = 1 + int(rng.below(i < 30 ? 6 : 40));  // the second half exceeds the short-word limit
    for (int k = 0; k < n; ++k) word += parts[rng.below(std::size(parts))];
    EXPECT_EQ(t.encode(word), naive_encode_word(t, word)) << word;
  }
}

TEST(RoundTrip, RandomBytesUnicodeKoreanEmoji) {
  const Tokenizer& t = trained();
  Rng rng(11);
  auto check = [&](const std::string& s) {
    Ids ids = t.encode(s);
    ASSERT_EQ(t.decode(ids), s);
    for (int32_t id : ids) ASSERT_FALSE(t.is_special(id));
  };
  for (int i = 0; i < 300; ++i) {  // random bytes, invalid UTF-8 included
    std::string s;
    size_t n = rng.below(80);
    for (size_t k = 0; k < n; ++k) s += char(rng.below(256));
    check(s);
  }
  for (int i = 0; i < 300; ++i) {  // random code points from every plane
    std::string s;
    size_t n = rng.below(30);
    for (size_t k = 0; k < n; ++k) {
      uint32_t c = uint32_t(rng.below(0x110000));
      if (c >= 0xD800 && c <= 0xDFFF) c = ' ';
      unicode::append_utf8(s, c);
    }
    check(s);
  }
  check("공기청정기를 수면 모드로 바꿔줘 😀👍🏽 👨‍👩‍👧 mixed 한국어 and English\n\t  ");
  check("<|end|> is plain text without parse_special");
  check(std::string(5000, 'a') + std::string(3000, '\xff'));
  check("");
}

TEST(RoundTrip, GgufFileEncodesIdentically) {
  const Tokenizer& t = trained();
  std::string path = "/tmp/edgelm_test_tokenizer_" + std::to_string(getpid()) + ".gguf";
  t.save_gguf(path);
  Tokenizer u = load_tokenizer(path);
  std::remove(path.c_str());
  ASSERT_EQ(u.n_vocab(), t.n_vocab());
  EXPECT_EQ(u.eos_id(), t.eos_id());
  for (int32_t i = 0; i < t.n_vocab(); ++i) {
    ASSERT_EQ(u.token_bytes(i), t.token_bytes(i));
    ASSERT_EQ(u.is_special(i), t.is_special(i));
  }
  for (const auto& line : corpus(99, 100)) EXPECT_EQ(u.encode(line), t.encode(line));
  std::string with_specials = "<|user|>켜줘<|end|><|assistant|><|fn:set_timer|>";
  EXPECT_EQ(u.encode(with_specials, true), t.encode(with_specials, true));
  Ids ids = u.encode(with_specials, true);
  EXPECT_EQ(std::count_if(ids.begin(), ids.end(), [&](int32_t id) { return u.is_special(id); }), 4);
  EXPECT_EQ(u.decode(ids), with_specials);
}

TEST(StreamDecoder, NeverEmitsHalfACharacter) {
  Tokenizer bytes_only = train_bpe({"x"}, 4 + 256, kSpecials);  // no merges: one token per byte
  std::string text = "공기 😀 ok \xff\xe4\xb8";                  // ends with invalid and truncated bytes
  for (const Tokenizer* t : std::vector<const Tokenizer*>{&bytes_only, &trained()}) {
    StreamDecoder dec(*t);
    std::string all;
    for (int32_t id : t->encode(text)) {
      std::string piece = dec.push(id);
      // Every emitted piece is whole characters, except bytes that can never become valid.
      std::string valid_part = piece;
      for (size_t pos = 0; pos < piece.size();) {
        size_t len;
        uint32_t c = unicode::decode_utf8(piece, pos, len);
        if (c >= unicode::INVALID_BASE) {
          uint8_t b = uint8_t(piece[pos]);
          EXPECT_TRUE(b == 0xff || pos + len < piece.size() || unicode::utf8_sequence_length(b) == 0)
              << "a held-back prefix was emitted";
        }
        pos += len;
      }
      all += piece;
    }
    std::string rest = dec.flush();
    EXPECT_EQ(rest, "\xe4\xb8");  // the truncated character is only given up at the end
    EXPECT_EQ(all + rest, text);
  }
  StreamDecoder dec(bytes_only);
  EXPECT_EQ(dec.push(4 + 0xEA), "");
  EXPECT_EQ(dec.push(4 + 0xB0), "");
  EXPECT_EQ(dec.push(4 + 0x80), "가");
  EXPECT_EQ(dec.push(4 + 0xE0), "");
  EXPECT_EQ(dec.push(4 + 0x80), "\xE0\x80");  // E0 80 can never complete: out it goes
}

TEST(Encoder, OutOfRangeIdsAreErrors) {
  const Tokenizer& t = trained();
  EXPECT_THROW(t.decode(Ids{0, 450}), Error);
  EXPECT_THROW(t.token_bytes(-1), Error);
}

}  // namespace
}  // namespace edgelm
