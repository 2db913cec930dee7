#pragma once
// What edgelm knows about each language it can generate and read: its code,
// its script, and whether number and duration words exist for it. A domain
// lists its languages (generate.toml); everything language-specific beyond
// this table lives in one module per language (src/data/lang_*.cpp).
#include <string>
#include <string_view>
#include <vector>

namespace edgelm {

enum class Script { Latin, Hangul };

struct LanguageInfo {
  const char* code;  // "en", "ko"
  const char* name;  // "English", "Korean"
  Script script;
};

// The languages edgelm has a module for, in a fixed order.
const std::vector<LanguageInfo>& known_languages();
const LanguageInfo* find_language_info(std::string_view code);
// "en, ko": for error messages.
std::string known_language_codes();

// The code-switched label of an example that mixes two languages' scripts.
inline constexpr const char* kMixedLanguage = "mix";

// Of `languages`, the one whose script holds most of `text`'s letters (the
// first listed on a tie or when none is present).
std::string language_of_text(std::string_view text, const std::vector<std::string>& languages);
// Letters of `text` in a script.
int64_t count_script(std::string_view text, Script script);

}  // namespace edgelm
