#include "data/numbers.h"

#include <cmath>

#include "domain/schema.h"
#include "platform/error.h"

namespace edgelm::data {

std::vector<std::string> number_forms(int64_t n, const lang::LanguageRules& rules) {
  std::vector<std::string> out = {std::to_string(n)};
  if (std::optional<std::string> words = rules.number_words(n)) out.push_back(std::move(*words));
  return out;
}

std::vector<std::string> number_forms(double x, const lang::LanguageRules& rules) {
  if (std::fabs(x) < 1e15 && x == std::floor(x)) return number_forms(int64_t(x), rules);
  return {number_text(x)};
}

std::vector<DurationForm> duration_forms(int64_t minutes, const lang::LanguageRules& rules) {
  if (minutes < 1 || minutes > 1440) fail("duration_forms: ", minutes, " minutes is outside 1..1440");
  return rules.duration_forms(minutes);
}

}  // namespace edgelm::data
