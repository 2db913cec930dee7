#pragma once
// The Korean module (src/lang/rules.h): Sino-Korean number words, durations
// with native-numeral hours (두 시간) and Sino-Korean minutes (삼십 분),
// particles that agree with the word before them (모드로, 전원을), regular
// 하다 verbs, and spacing and spelling noise.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "lang/rules.h"
#include "platform/random.h"

namespace edgelm::lang {

const LanguageRules& korean_rules();

// Sino-Korean: 1 일, 15 십오, 120 백이십; 0..9999.
std::string korean_sino_number(int64_t n);
// Native Korean before a counter: 1 한, 2 두, 3 세, 12 열두, 20 스무; 1..99.
std::string korean_native_number(int64_t n);

// Appends the particle `key` (로, 를, 가, 는, 와, 랑) in the form that agrees
// with the end of `out` (자동 -> 자동으로, 모드 -> 모드로, 전원 -> 전원을).
void append_korean_particle(std::string& out, std::string_view key);
bool is_korean_particle(std::string_view key);

// One typing or spelling slip of the kind Korean users make, on a random syllable (never 백, 세
// or 네, whose slips read as other words: 벡, 새, 내): a final consonant written as pronounced (잠겼어 -> 잠겻어, 부엌 -> 부억), a vowel
// confused with its look-alike (ㅐ/ㅔ, 돼/되, 줘 -> 조, ㅢ -> ㅣ), or a syllable written as spoken
// (했어 -> 해써, 좋아 -> 조아). `s` unchanged when no syllable allows one.
std::string hangul_typo(const std::string& s, Rng& rng);

// The forms of a regular 하다 verb: 설정하다 -> {"설정해", "설정하"}, 하다 -> {"해", "하"} (the 아/어
// form and the stem); none for other verbs, whose forms a phrasing file lists.
std::optional<VerbForms> korean_hada_forms(std::string_view dictionary_form);

}  // namespace edgelm::lang
