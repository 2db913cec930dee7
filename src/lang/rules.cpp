#include "lang/rules.h"

#include <algorithm>

#include "platform/error.h"

namespace edgelm::lang {

void LanguageRules::append_particle(std::string& out, std::string_view key) const {
  // The phrasing files are checked against particles() when a domain loads,
  // so reaching this is a bug in the caller, not a user error.
  fail("particle '~", key, "' rendered in a language that has no particles");
}

bool LanguageRules::is_particle(std::string_view key) const {
  const std::vector<std::string> keys = particles();
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace edgelm::lang
