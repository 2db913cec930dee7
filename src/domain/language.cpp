#include "domain/language.h"

#include "platform/utf8.h"

namespace edgelm {

const std::vector<LanguageInfo>& known_languages() {
  static const std::vector<LanguageInfo> table = {
      {"en", "English", Script::Latin},
      {"ko", "Korean", Script::Hangul},
  };
  return table;
}

const LanguageInfo* find_language_info(std::string_view code) {
  for (const auto& l : known_languages())
    if (code == l.code) return &l;
  return nullptr;
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
