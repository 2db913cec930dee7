#pragma once
// The English module (src/lang/rules.h): number words to 999, durations in
// minutes and hours, typing noise, a capital first letter half the time.
#include <cstdint>
#include <string>

#include "lang/rules.h"

namespace edgelm::lang {

const LanguageRules& english_rules();

// "forty-five"; 0..999.
std::string english_number(int64_t n);

}  // namespace edgelm::lang
