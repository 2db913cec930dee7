#include "lang/number_reader.h"

#include <algorithm>

#include "platform/utf8.h"

namespace edgelm::lang {
namespace {

bool ascii_alnum(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool ascii_digit(char c) { return c >= '0' && c <= '9'; }
bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0) == 0x80; }

// A phrase may start at byte i: not inside a word, a code point or a number
// ("21.5": the 5 is not a start). A letter of another script before it is not
// a word (Korean-English code switching writes "timer 삼십 분" and "타이머 thirty
// minutes" alike, but also "바람세게").
bool word_start(std::string_view s, size_t i) {
  if (i == 0) return true;
  if (continuation(s[i])) return false;
  const char prev = s[i - 1];
  if (ascii_alnum(prev) || static_cast<unsigned char>(prev) >= 0x80) return false;
  if ((prev == '.' || prev == ',') && i >= 2 && ascii_digit(s[i - 2])) return false;
  return true;
}

}  // namespace

NumberReader::NumberReader(const LanguageRules& rules) : units_(rules.number_units()) {
  auto add = [&](const std::string& phrase, std::string digits, bool ambiguous) {
    std::string key = ascii_lower(phrase);
    if (key.empty() || key == digits) return;
    longest_ = std::max(longest_, key.size());
    phrases_.insert_or_assign(std::move(key), Reading{std::move(digits), ambiguous});
  };
  auto add_words = [&](const std::string& words, int64_t n) {
    const bool ambiguous = rules.ambiguous_number_words(words);
    add(words, std::to_string(n), ambiguous);
    if (words.find('-') != std::string::npos) {  // "seventy-two" is also typed "seventy two"
      std::string spaced = words;
      std::replace(spaced.begin(), spaced.end(), '-', ' ');
      add(spaced, std::to_string(n), ambiguous);
    }
  };
  for (int64_t n = 0; n <= 9999; ++n) {
    if (const std::optional<std::string> words = rules.number_words(n)) add_words(*words, n);
  }
  // Variants after the generator's own forms, which keep their readings.
  for (int64_t n = 0; n <= 9999; ++n)
    for (const std::string& words : rules.number_word_variants(n))
      if (!phrases_.contains(ascii_lower(words))) add_words(words, n);
  // Durations last: a duration phrase that is also a number's words reads as the duration.
  for (int64_t m = 1; m <= 1440; ++m)
    for (const DurationForm& f : rules.duration_forms(m)) add(f.text, rules.minutes_in_digits(m), false);
  for (std::string& u : units_) u = ascii_lower(u);
}

bool NumberReader::unit_follows(std::string_view lower, size_t pos) const {
  while (pos < lower.size() && lower[pos] == ' ') ++pos;
  for (const std::string& u : units_)
    if (lower.substr(pos, u.size()) == u) return true;
  return false;
}

std::string NumberReader::read(std::string_view text) const {
  const std::string lower = ascii_lower(text);
  std::string out;
  out.reserve(text.size());
  std::string key;
  size_t i = 0;
  while (i < text.size()) {
    bool matched = false;
    if (word_start(text, i)) {
      for (size_t j = std::min(text.size(), i + longest_); j > i && !matched; --j) {
        // The phrase ends at a code point boundary and not inside an ASCII word or number.
        if (j < text.size() && (continuation(text[j]) || ascii_alnum(text[j]))) continue;
        key.assign(lower, i, j - i);
        const auto it = phrases_.find(key);
        if (it == phrases_.end() || (it->second.ambiguous && !unit_follows(lower, j))) continue;
        out += it->second.digits;
        i = j;
        matched = true;
      }
    }
    if (matched) continue;
    const size_t start = i;
    utf8_next_lenient(text, i);
    out.append(text.substr(start, i - start));
  }
  return out;
}

}  // namespace edgelm::lang
