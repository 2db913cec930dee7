#include "lang/surface_noise.h"

#include <cctype>

namespace edgelm::lang {
namespace {

// Neighbouring keys on a QWERTY keyboard, for substitution typos.
char neighbour_key(char c, Rng& rng) {
  static const char* rows[] = {"qwertyuiop", "asdfghjkl", "zxcvbnm"};
  for (const char* row : rows) {
    std::string r(row);
    size_t i = r.find(char(std::tolower(c)));
    if (i == std::string::npos) continue;
    if (i == 0) return r[1];
    if (i + 1 == r.size()) return r[i - 1];
    return r[rng.below(2) ? i + 1 : i - 1];
  }
  return c;
}

}  // namespace

std::string latin_typo(const std::string& s, Rng& rng) {
  std::vector<std::pair<size_t, size_t>> words;
  for (size_t i = 0; i < s.size();) {
    if (!std::isalpha((unsigned char)s[i])) { ++i; continue; }
    size_t j = i;
    while (j < s.size() && std::isalpha((unsigned char)s[j])) ++j;
    if (j - i >= 4) words.push_back({i, j});
    i = j;
  }
  if (words.empty()) return s;
  auto [b, e] = words[rng.below(words.size())];
  size_t k = b + 1 + rng.below(e - b - 2);  // never the first letter
  std::string out = s;
  switch (rng.below(4)) {
    case 0: std::swap(out[k], out[k + 1]); break;           // transposition
    case 1: out.erase(k, 1); break;                         // dropped letter
    case 2: out.insert(k, 1, out[k]); break;                // doubled letter
    default: out[k] = neighbour_key(out[k], rng); break;    // fat finger
  }
  return out;
}

std::vector<size_t> positions_of(const std::string& s, char c) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == c) out.push_back(i);
  return out;
}

std::string strip_final_punct(std::string s) {
  while (!s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == '?' || s.back() == '~')) s.pop_back();
  return s;
}

}  // namespace edgelm::lang
