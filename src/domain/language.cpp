#include "domain/language.h"

#include <algorithm>

#include "lang/english.h"
#include "lang/korean.h"
#include "lang/number_reader.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {

const std::vector<LanguageInfo>& known_languages() {
  static const std::vector<LanguageInfo> table = {
      {"en", "English", Script::Latin, &lang::english_rules()},
      {"ko", "Korean", Script::Hangul, &lang::korean_rules()},
  };
  return table;
}

const LanguageInfo* find_language_info(std::string_view code) {
  for (const auto& l : known_languages())
    if (code == l.code) return &l;
  return nullptr;
}

const LanguageInfo& language_info(std::string_view code) {
  const LanguageInfo* info = find_language_info(code);
  if (!info) fail("language '", code, "' has no language module (known: ", known_language_codes(), "; see src/lang/rules.h)");
  return *info;
}

const lang::LanguageRules& language_rules(std::string_view code) { return *language_info(code).rules; }

std::vector<std::string> language_labels(const std::vector<std::string>& languages) {
  std::vector<std::string> out = languages;
  if (languages.size() >= 2) out.push_back(kMixedLanguage);
  return out;
}

std::string read_numbers(std::string_view text) {
  // Built once (each language's table holds its number words to 9999 and its durations to a day).
  static const std::vector<lang::NumberReader> readers = [] {
    std::vector<lang::NumberReader> r;
    for (const LanguageInfo& l : known_languages()) r.emplace_back(*l.rules);
    return r;
  }();
  std::string s(text);
  for (const lang::NumberReader& r : readers) s = r.read(s);
  return s;
}

std::string model_text(std::string_view text) {
  std::string s(text);
  auto to_small = [&](size_t from, size_t to) {
    for (size_t k = from; k < to; ++k) s[k] = ascii_lower(s[k]);
  };
  auto lower = [](char c) { return c >= 'a' && c <= 'z'; };
  // Words (runs between spaces) whose letters are all capitals, two or more.
  for (size_t i = 0; i < s.size();) {
    size_t j = std::min(s.find(' ', i), s.size());
    const auto word = std::string_view(s).substr(i, j - i);
    if (std::count_if(word.begin(), word.end(), ascii_upper) >= 2 && std::none_of(word.begin(), word.end(), lower)) to_small(i, j);
    i = j + 1;
  }
  // Each language's words written in small letters ("I", so "I'm" too), as whole words.
  static const std::vector<std::string> small = [] {
    std::vector<std::string> w;
    for (const LanguageInfo& l : known_languages())
      for (std::string& x : l.rules->small_letter_words()) w.push_back(std::move(x));
    return w;
  }();
  for (const std::string& w : small)
    for (size_t p = s.find(w); p != std::string::npos; p = s.find(w, p + 1))
      if ((p == 0 || s[p - 1] == ' ') && (p + w.size() == s.size() || !ascii_letter(s[p + w.size()])))
        to_small(p, p + w.size());
  // Closing punctuation and spaces: ? ! . and the ellipsis character.
  for (;;) {
    if (!s.empty() && (s.back() == '?' || s.back() == '!' || s.back() == '.' || s.back() == ' ')) s.pop_back();
    else if (s.size() >= 3 && s.compare(s.size() - 3, 3, "\xE2\x80\xA6") == 0) s.resize(s.size() - 3);
    else break;
  }
  return read_numbers(s);
}

std::string known_language_codes() {
  std::string s;
  for (const auto& l : known_languages()) s += (s.empty() ? "" : ", ") + std::string(l.code);
  return s;
}

int64_t count_script(std::string_view text, Script script) {
  int64_t n = 0;
  for (size_t i = 0; i < text.size();) {
    const uint32_t cp = utf8_next_lenient(text, i);
    bool latin = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (script == Script::Latin ? latin : is_hangul(cp)) ++n;
  }
  return n;
}

namespace {

bool contains_script(std::string_view text, Script script) {
  for (size_t i = 0; i < text.size();) {
    const uint32_t cp = utf8_next_lenient(text, i);
    bool latin = (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
    if (script == Script::Latin ? latin : is_hangul(cp)) return true;
  }
  return false;
}

}  // namespace

bool has_other_script(std::string_view text, Script own) {
  for (Script s : kScripts)
    if (s != own && contains_script(text, s)) return true;
  return false;
}

std::string language_of_text(std::string_view text, const std::vector<std::string>& languages) {
  if (languages.empty()) return "";
  std::string best = languages[0];
  int64_t best_count = 0;
  for (const auto& code : languages) {
    const LanguageInfo* info = find_language_info(code);
    if (!info) continue;
    int64_t n = count_script(text, info->script);
    if (n > best_count) best = code, best_count = n;
  }
  return best;
}

}  // namespace edgelm
