#pragma once
// A synthetic vocabulary for grammar tests: the agent's special tokens, the
// 256 single bytes, and multi-byte tokens, including some that end inside a
// Hangul syllable, so the tests need no trained tokenizer.
#include <memory>
#include <string>
#include <vector>

#include "agent/answer_grammar.h"
#include "agent/format.h"
#include "agent/grammar_matcher.h"
#include "domain/schema.h"
#include "platform/error.h"

namespace edgelm::test {

inline std::shared_ptr<const TokenVocab> synthetic_vocab(const DomainSchema& schema, std::vector<std::string> extra = {}) {
  std::vector<std::string> bytes = agent_special_tokens(schema);
  std::vector<bool> special(bytes.size(), true);
  for (int b = 0; b < 256; ++b) {
    bytes.push_back(std::string(1, char(b)));
    special.push_back(false);
  }
  std::vector<std::string> words = {"on", "off", "sleep", "sl", "eep", "turbo", "auto", "manual", "medium", "white_noise",
                                    "white", "_noise", "12", "720", "72", "00", "90", " Timer", " set", ".", " to",
                                    " minutes", " 안녕", "하세요", "\xEC\x95", "\x88\xEB\x85", "\x95", "안", " Sleep",
                                    " mode", "on Done", "5,"};
  words.insert(words.end(), extra.begin(), extra.end());
  for (auto& w : words) {
    bytes.push_back(w);
    special.push_back(false);
  }
  int32_t eos = 3;  // <|end|>
  return std::make_shared<TokenVocab>(std::move(bytes), std::move(special), eos);
}

// Splits an answer text into tokens of the synthetic vocabulary: special
// tokens and placeholders by text, everything else byte by byte.
inline std::vector<int32_t> tokenize_bytes(const TokenVocab& vocab, const std::string& text) {
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    for (int32_t id = 0; id < vocab.n_vocab() && vocab.is_special(id); ++id) {
      const std::string& t = vocab.bytes(id);
      if (text.compare(i, t.size(), t) == 0) {
        out.push_back(id);
        i += t.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    for (int32_t id = 0; id < vocab.n_vocab(); ++id)
      if (!vocab.is_special(id) && vocab.bytes(id).size() == 1 && vocab.bytes(id)[0] == text[i]) {
        out.push_back(id);
        break;
      }
    ++i;
  }
  return out;
}

// True if the whole text (tokenised byte by byte) is a complete answer under
// the schema's constraint with this reply budget.
inline bool accepts_answer(const DomainSchema& schema, std::shared_ptr<const TokenVocab> vocab, const std::string& text,
                           int max_reply_tokens = 48) {
  AnswerConstraint c(schema, vocab, max_reply_tokens);
  for (int32_t id : tokenize_bytes(*vocab, text)) {
    try {
      c.accept(id);
    } catch (const Error&) {
      return false;
    }
  }
  return c.done();
}

}  // namespace edgelm::test
