#pragma once
// The small part of Unicode the tokenizer needs: UTF-8 decoding that never
// fails (a byte that does not start a valid sequence is its own "code point"
// outside Unicode, so invalid text still splits and round-trips), general
// category classes, and GPT-2's byte-to-unicode mapping.
#include <cstdint>
#include <string>
#include <string_view>

namespace edgelm::unicode {

// Category classes (bit flags) as the pre-tokenizer patterns name them.
enum : uint8_t {
  LETTER = 1,      // \p{L}
  NUMBER = 2,      // \p{N}
  PUNCT = 4,       // \p{P}
  SYMBOL = 8,      // \p{S}
  MARK = 16,       // \p{M}
  SEPARATOR = 32,  // \p{Z}
  OTHER = 64,      // \p{C}
  SPACE = 128,     // \s (the White_Space property)
};

// A byte that is not part of a valid UTF-8 sequence decodes to INVALID_BASE + byte.
constexpr uint32_t INVALID_BASE = 0x110000;

uint8_t flags(uint32_t cpt);  // 0 for unassigned code points and invalid bytes

// Decodes the code point at text[pos]; sets `len` to its length in bytes (1..4).
// Overlong forms, surrogates and truncated sequences decode byte by byte as invalid.
uint32_t decode_utf8(std::string_view text, size_t pos, size_t& len);
void append_utf8(std::string& out, uint32_t cpt);
// Length of the valid UTF-8 sequence starting with `lead` (0: not a lead byte).
int utf8_sequence_length(uint8_t lead);

// GPT-2's byte-level mapping: every byte becomes one printable code point, so
// token strings in vocabulary files are valid, visible text.
const std::string& byte_to_unicode(uint8_t byte);  // the UTF-8 of the mapped code point
// The byte a mapped code point stands for, or -1 if it is not in the mapping.
int unicode_to_byte(uint32_t cpt);
// Maps raw bytes to the file form, and back. from_byte_level returns false if a
// code point is outside the mapping (the caller decides what that means).
std::string to_byte_level(std::string_view bytes);
bool from_byte_level(std::string_view text, std::string& bytes);

}  // namespace edgelm::unicode
