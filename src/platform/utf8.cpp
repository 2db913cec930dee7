#include "platform/utf8.h"

#include <algorithm>
#include <cstdio>

namespace edgelm {

bool utf8_next(std::string_view s, size_t& i, uint32_t& cp) {
  if (i >= s.size()) return false;
  uint8_t c = uint8_t(s[i]);
  int n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || i + size_t(n) > s.size()) return false;
  uint32_t v = n == 1 ? c : n == 2 ? (c & 0x1Fu) : n == 3 ? (c & 0x0Fu) : (c & 0x07u);
  for (int k = 1; k < n; ++k) {
    uint8_t d = uint8_t(s[i + size_t(k)]);
    if ((d & 0xC0) != 0x80) return false;
    v = (v << 6) | (d & 0x3Fu);
  }
  if ((n == 2 && v < 0x80) || (n == 3 && v < 0x800) || (n == 4 && v < 0x10000) || (v >= 0xD800 && v <= 0xDFFF) ||
      v > 0x10FFFF)
    return false;
  cp = v;
  i += size_t(n);
  return true;
}

uint32_t utf8_next_lenient(std::string_view s, size_t& i) {
  uint32_t cp = 0;
  if (utf8_next(s, i, cp)) return cp;
  ++i;
  return kUtf8Replacement;
}

std::string utf8_problem(std::string_view s) {
  size_t i = 0;
  uint32_t cp = 0;
  while (i < s.size()) {
    if (!utf8_next(s, i, cp)) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "invalid UTF-8 byte 0x%02x at byte %zu", unsigned(uint8_t(s[i])), i);
      return buf;
    }
  }
  return "";
}

int64_t utf8_length(std::string_view s) {
  int64_t n = 0;
  for (size_t i = 0; i < s.size(); ++n) utf8_next_lenient(s, i);
  return n;
}

void utf8_append(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

std::string utf8_encode(uint32_t cp) {
  std::string out;
  utf8_append(out, cp);
  return out;
}

bool is_hangul_syllable(uint32_t cp) { return cp >= 0xAC00 && cp <= 0xD7A3; }

bool is_hangul(uint32_t cp) {
  return (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0x1100 && cp <= 0x11FF) || (cp >= 0x3131 && cp <= 0x318E);
}

bool contains_hangul(std::string_view s) {
  for (size_t i = 0; i < s.size();)
    if (is_hangul(utf8_next_lenient(s, i))) return true;
  return false;
}

std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = ascii_lower(c);
  return out;
}

bool contains_latin(std::string_view s) {
  return std::any_of(s.begin(), s.end(), ascii_letter);
}

}  // namespace edgelm
