#pragma once
// UTF-8 for the whole project: strict decoding (overlong forms, surrogates and
// values past U+10FFFF are invalid), validation with the byte offset of the
// first problem, length in code points, and the script tests the bilingual
// pipeline needs (Hangul, Latin letters).
#include <cstdint>
#include <string>
#include <string_view>

namespace edgelm {

// U+FFFD, what lenient decoding reads an invalid byte as.
constexpr uint32_t kUtf8Replacement = 0xFFFD;

// Decodes the code point at s[i] and advances i past it. Returns false (and
// leaves i) on an invalid or truncated sequence.
bool utf8_next(std::string_view s, size_t& i, uint32_t& cp);
// For text that was validated before, or whose invalid bytes must pass
// through: the code point at s[i] as utf8_next decodes it, or U+FFFD for a
// byte that starts no valid sequence. Always advances i, by one byte for an
// invalid one, so a loop over the text never stalls. Requires i < s.size().
uint32_t utf8_next_lenient(std::string_view s, size_t& i);
// Empty if `s` is valid UTF-8, else "invalid UTF-8 byte 0xff at byte 11".
std::string utf8_problem(std::string_view s);
// Code points in `s`; an invalid byte counts as one.
int64_t utf8_length(std::string_view s);
// Appends the UTF-8 form of `cp` (which must be a Unicode scalar value).
void utf8_append(std::string& out, uint32_t cp);
std::string utf8_encode(uint32_t cp);

bool is_hangul_syllable(uint32_t cp);  // U+AC00..U+D7A3, the precomposed syllables

bool is_hangul(uint32_t cp);  // syllables, jamo and compatibility jamo
bool contains_hangul(std::string_view s);
bool contains_latin(std::string_view s);  // an ASCII letter

// ASCII letters only; every other byte (UTF-8 included) passes through.
inline bool ascii_upper(char c) { return c >= 'A' && c <= 'Z'; }
inline bool ascii_letter(char c) { return ascii_upper(c) || (c >= 'a' && c <= 'z'); }
inline char ascii_lower(char c) { return ascii_upper(c) ? char(c - 'A' + 'a') : c; }
std::string ascii_lower(std::string_view s);

}  // namespace edgelm
