// Surface noise for generated commands: what typed and transcribed commands
// look like in practice. Digits are never touched, so a noisy command still
// means the same call.
#include <cctype>
#include <string>
#include <vector>

#include "data/generator.h"
#include "data/pattern.h"
#include "platform/utf8.h"

namespace edgelm::data {
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

// A typo inside a random ASCII word of at least four letters.
std::string typo(const std::string& s, Rng& rng) {
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

// Byte offsets of spaces, and of boundaries between two Hangul syllables.
std::vector<size_t> positions_of(const std::string& s, char c) {
  std::vector<size_t> out;
  for (size_t i = 0; i < s.size(); ++i)
    if (s[i] == c) out.push_back(i);
  return out;
}

std::vector<size_t> hangul_boundaries(const std::string& s) {
  std::vector<size_t> out;
  bool after_syllable = false;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const bool syllable = is_hangul_syllable(utf8_next_lenient(s, i));
    if (syllable && after_syllable) out.push_back(start);
    after_syllable = syllable;
  }
  return out;
}

std::string strip_final_punct(std::string s) {
  while (!s.empty() && (s.back() == '.' || s.back() == '!' || s.back() == '?' || s.back() == '~')) s.pop_back();
  return s;
}

}  // namespace

std::string Generator::add_noise(const std::string& text, const std::string& lang, Rng& rng) {
  std::string s = text;
  const int n_ops = 1 + int(rng.below(3) == 0);
  for (int op = 0; op < n_ops; ++op) {
    if (lang == "en") {
      switch (rng.below(9)) {
        case 0: case 1: s = typo(s, rng); break;
        case 2: for (auto& c : s) c = char(std::tolower((unsigned char)c)); break;
        case 3: if (rng.below(3) == 0) for (auto& c : s) c = char(std::toupper((unsigned char)c)); break;
        case 4: s = strip_final_punct(s); break;
        case 5: s = strip_final_punct(s) + (rng.below(2) ? "!!" : "..."); break;
        case 6: {  // dropped apostrophe: don't -> dont
          size_t p = s.find('\'');
          if (p != std::string::npos) s.erase(p, 1);
          else s = typo(s, rng);
          break;
        }
        case 7: {  // two words run together
          auto sp = positions_of(s, ' ');
          if (!sp.empty()) s.erase(sp[rng.below(sp.size())], 1);
          break;
        }
        default: {
          size_t p = s.find("please");
          if (p != std::string::npos) s.replace(p, 6, rng.below(2) ? "pls" : "plz");
          else s = typo(s, rng);
        }
      }
    } else {
      // Korean spacing varies a lot in practice; punctuation and laughter too.
      switch (rng.below(8)) {
        case 0: {
          std::string t;
          for (char c : s) if (c != ' ') t += c;
          s = t;
          break;
        }
        case 1: case 2: {
          auto sp = positions_of(s, ' ');
          if (!sp.empty()) s.erase(sp[rng.below(sp.size())], 1);
          break;
        }
        case 3: {
          auto b = hangul_boundaries(s);
          if (!b.empty()) s.insert(b[rng.below(b.size())], " ");
          break;
        }
        case 4: s = strip_final_punct(s) + (rng.below(2) ? "~" : "!!"); break;
        case 5: s = strip_final_punct(s) + (rng.below(2) ? " ㅎㅎ" : "ㅠㅠ"); break;
        case 6: s = strip_final_punct(s); break;
        default: if (contains_latin(s)) s = typo(s, rng); else s = strip_final_punct(s) + "..";
      }
    }
  }
  return s;
}

}  // namespace edgelm::data
