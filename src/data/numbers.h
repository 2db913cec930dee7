#pragma once
// Numbers and durations as the generator says them: digits always, and the
// words and phrases of the language's module (src/lang/) where it has them.
#include <cstdint>
#include <string>
#include <vector>

#include "lang/rules.h"

namespace edgelm::data {

using lang::DurationForm;

// Every way this generator says the number `n`: its digits always, and its
// words where the language has them (seventy-two, 칠십이). A unit around it
// ("degrees", "도") is the template's.
std::vector<std::string> number_forms(int64_t n, const lang::LanguageRules& rules);
// A number with decimals: its digits ("21.5"); whole values as number_forms.
std::vector<std::string> number_forms(double x, const lang::LanguageRules& rules);

// Every way this generator says `minutes` (1..1440). No two values share a
// form, which tests check.
std::vector<DurationForm> duration_forms(int64_t minutes, const lang::LanguageRules& rules);

}  // namespace edgelm::data
