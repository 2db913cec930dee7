#pragma once
// What edgelm knows about each language it can generate and read: its code,
// its name, its script and its module (src/lang/rules.h), which holds every
// language-specific behaviour: number words, durations, particles, noise.
// A domain lists its languages (generate.toml); adding a language is one
// module under src/lang/ plus one row in the table (language.cpp).
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "lang/rules.h"

namespace edgelm {

enum class Script { Latin, Hangul };
inline constexpr Script kScripts[] = {Script::Latin, Script::Hangul};

struct LanguageInfo {
  const char* code;  // ISO 639-1
  const char* name;  // for messages
  Script script;
  const lang::LanguageRules* rules;
};

// The languages edgelm has a module for, in a fixed order.
const std::vector<LanguageInfo>& known_languages();
const LanguageInfo* find_language_info(std::string_view code);
// The row of `code`; an Error naming the language and the known ones when
// edgelm has no module for it.
const LanguageInfo& language_info(std::string_view code);
// Its module (language_info(code).rules).
const lang::LanguageRules& language_rules(std::string_view code);
// `text` with the number words and spoken durations of every known language
// in digits ("an hour and a half" -> "90 minutes", "십 분" -> "10분";
// src/lang/number_reader.h): the last step of model_text.
std::string read_numbers(std::string_view text);
// What the model reads of a user's command, in training and at run time alike:
// - a word in capitals in small letters ("LOCK THE DOOR", "the AC" -> "lock the
//   door", "the ac"): the templates are written in small letters, and a speech
//   recogniser decides capitals, not the speaker;
// - the words a language writes small though people capitalise them (English
//   "I", "I'm": LanguageRules::small_letter_words) in small letters;
// - no punctuation at the end: a recogniser rarely writes a question mark, so
//   "is the hall light on" must read as a question by its words;
// - then number words in digits (read_numbers).
// Words with a small letter keep their case; a free-text argument copied from a
// word in capitals comes out in small letters.
std::string model_text(std::string_view text);
// The known codes, comma-separated: for error messages.
std::string known_language_codes();

// The code-switched label of an example that mixes two languages' scripts.
inline constexpr const char* kMixedLanguage = "mix";
// The labels a report breaks results down by: `languages`, then the
// code-switched label when there are at least two.
std::vector<std::string> language_labels(const std::vector<std::string>& languages);

// Of `languages`, the one whose script holds most of `text`'s letters (the
// first listed on a tie or when none is present).
std::string language_of_text(std::string_view text, const std::vector<std::string>& languages);
// Letters of `text` in a script.
int64_t count_script(std::string_view text, Script script);
// Whether `text` holds a letter of a script other than `own` (a code switch,
// for a text in a language written in `own`).
bool has_other_script(std::string_view text, Script own);

}  // namespace edgelm
