#pragma once
// What differs between the languages edgelm generates and reads, behind one
// interface: number words, duration phrases, surface noise, capitalisation,
// the grammar hooks of the phrasing mini-language (Korean particles and
// derived verb forms), and how code-switched examples are drawn.
//
// One module per language implements it (src/lang/english.cpp,
// src/lang/korean.cpp); the language table (src/domain/language.cpp) gives
// each language code its module. Adding a language is one module here plus
// one row there; nothing else names a language.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "platform/random.h"

namespace edgelm::lang {

// One way of saying a duration. The device wants minutes, so each form
// carries whether saying it needs a unit conversion ("an hour and a half" ->
// 90 is one, "90 minutes" is not).
struct DurationForm {
  std::string text;
  bool conversion = false;  // the text names hours (or half/quarter hours), not minutes
};

// The two forms of a verb that endings attach to (src/data/pattern.h <verb>).
struct VerbForms {
  std::string a;     // the form endings attach to (Korean 아/어 form: 켜, 설정해)
  std::string stem;  // the stem connective endings attach to (켜, 설정하)
};

class LanguageRules {
 public:
  virtual ~LanguageRules() = default;

  // --- Numbers ---
  // The words for `n` where this language's module has them (seventy-two,
  // 칠십이); none outside the range it covers. Digits are always a form too.
  virtual std::optional<std::string> number_words(int64_t n) const = 0;
  // Every way of saying `minutes` (1..1440, checked by the caller). No two
  // values share a form, which tests check.
  virtual std::vector<DurationForm> duration_forms(int64_t minutes) const = 0;

  // --- Reading numbers (src/lang/number_reader.h: the inverse of the two above) ---
  // How a recognised duration is written for the model: "90 minutes", "90분".
  virtual std::string minutes_in_digits(int64_t minutes) const = 0;
  // Other words people use for `n` that number_words does not give: read as
  // `n` too, never generated ("one hundred and five", "a hundred").
  virtual std::vector<std::string> number_word_variants(int64_t /*n*/) const { return {}; }
  // Words that follow a number ("degrees", "도"). A number word that also means
  // something else is read only right before one of them.
  virtual std::vector<std::string> number_units() const = 0;
  // Whether these words for a number also mean something else ("one" the
  // pronoun; Korean single syllables: 이 "this", 사, 오, 일 "work").
  virtual bool ambiguous_number_words(std::string_view words) const = 0;

  // --- Surface ---
  // Varies the case of a finished command the way people type it (English
  // capitalises the first letter half the time); scripts without case leave it.
  virtual void vary_case(std::string& /*text*/, Rng& /*rng*/) const {}
  // Words people capitalise that the phrasing files write in small letters
  // (English "I"; a whole word, or before an apostrophe: "I'm"): the model
  // reads them in small letters (model_text).
  virtual std::vector<std::string> small_letter_words() const { return {}; }
  // What typed and transcribed commands look like in practice: typos, case,
  // spacing, punctuation. Digits are never touched, so the call stays the same.
  virtual std::string add_noise(const std::string& text, Rng& rng) const = 0;

  // --- Grammar hooks of the phrasing files ---
  // The particles written "~로" in a pattern, which agree with the word before
  // them. Empty for a language without them.
  virtual std::vector<std::string> particles() const { return {}; }
  // Appends the particle `key` (one of particles()) in the form that agrees
  // with the end of `out`.
  virtual void append_particle(std::string& out, std::string_view key) const;
  // Forms of a verb the language can derive from its dictionary form alone
  // (Korean regular 하다 verbs); none where the phrasing file must list them.
  virtual std::optional<VerbForms> derived_verb_forms(std::string_view /*dictionary_form*/) const { return std::nullopt; }

  // --- Code switching ---
  // How much of the code-switched ("mix") share is based in this language:
  // the weights of a domain's languages are normalised, heaviest first.
  virtual double mix_base_weight() const = 0;
  // How often the unbalanced (raw) generator code-switches an example based
  // in this language.
  virtual double raw_mix_rate() const = 0;

  // Whether `key` is one of particles().
  bool is_particle(std::string_view key) const;
};

}  // namespace edgelm::lang
