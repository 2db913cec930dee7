#pragma once
// Pieces of surface noise that several language modules use: typos in words
// written in Latin letters (a Korean command's English device words get them
// too), trailing punctuation, and where the spaces are.
#include <string>
#include <vector>

#include "platform/random.h"

namespace edgelm::lang {

// A typo inside a random ASCII word of at least four letters: a transposition,
// a dropped or doubled letter, or a neighbouring key on a QWERTY keyboard.
// Never the first letter; the text unchanged when it has no such word.
std::string latin_typo(const std::string& s, Rng& rng);
// `s` without its final . ! ? ~ characters.
std::string strip_final_punct(std::string s);
// Byte offsets of the character `c` in `s`.
std::vector<size_t> positions_of(const std::string& s, char c);

}  // namespace edgelm::lang
