#pragma once
// Reading numbers: number words and spoken durations become digits before a
// command reaches the model ("an hour and a half" -> "90 minutes",
// "seventy-two degrees" -> "72 degrees", "십 분" -> "10분"), so the model copies
// digits instead of doing arithmetic on words (speech systems call this
// inverse text normalisation). It is the inverse of a language module's
// number_words and duration_forms, so every form the generator says reads
// back to its value; it also reads number_word_variants, forms people use
// that the generator does not say ("one hundred and five"). Training examples
// and run-time prompts both pass through it (src/agent/format.cpp), so the
// model sees the same text in both.
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "lang/rules.h"

namespace edgelm::lang {

class NumberReader {
 public:
  explicit NumberReader(const LanguageRules& rules);
  // `text` with every number phrase of this language written in digits (the
  // longest phrase at each word start wins; ASCII letters compare without
  // case); every other byte is kept.
  std::string read(std::string_view text) const;

 private:
  struct Reading {
    std::string digits;
    bool ambiguous = false;  // read only right before a unit
  };
  bool unit_follows(std::string_view lower, size_t pos) const;

  std::unordered_map<std::string, Reading> phrases_;  // lower-case phrase -> its reading
  std::vector<std::string> units_;
  size_t longest_ = 0;  // bytes
};

}  // namespace edgelm::lang
