#pragma once
// Number words and durations in English and Korean. Durations are how people
// say an off-timer or a session length; the device wants minutes, so each
// surface form carries whether saying it needs a unit conversion
// ("an hour and a half" -> 90 is one, "90 minutes" is not).
//
// Korean counts hours with native numerals (한 시간, 두 시간, 열두 시간) and
// minutes with Sino-Korean ones (삼십 분, 사십오 분); digits work for both.
#include <cstdint>
#include <string>
#include <vector>

namespace edgelm::data {

struct DurationForm {
  std::string text;
  bool conversion = false;  // the text names hours (or half/quarter hours), not minutes
};

// "forty-five"; 0..999.
std::string english_number(int64_t n);
// Sino-Korean: 1 일, 15 십오, 120 백이십; 0..9999.
std::string korean_sino_number(int64_t n);
// Native Korean before a counter: 1 한, 2 두, 3 세, 12 열두, 20 스무; 1..99.
std::string korean_native_number(int64_t n);

// Every way this generator says the number `n` in `lang` ("en" or "ko"): its
// digits always, and its words where they exist (seventy-two for 0..999,
// 칠십이 for 0..9999). A unit around it ("degrees", "도") is the template's.
std::vector<std::string> number_forms(int64_t n, const std::string& lang);
// A number with decimals: its digits ("21.5"); whole values as number_forms.
std::vector<std::string> number_forms(double x, const std::string& lang);

// Every way this generator says `minutes` (1..1440) in `lang` ("en" or "ko").
// No two values share a form, which tests check.
std::vector<DurationForm> duration_forms(int64_t minutes, const std::string& lang);

}  // namespace edgelm::data
