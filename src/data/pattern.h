#pragma once
// The phrasing mini-language of domain files. A pattern is text with:
//   (a|b|c)      one of the alternatives        [x]       x or nothing
//   {slot}       a lexicon entry, or the words for an argument value
//   {slot?}      the same, or nothing            {minutes:duration}  a duration
//   {degrees:number}  an integer or number argument said as digits or words (72, seventy-two, 칠십이)
//   <verb>       a Korean verb (dictionary form) with an ending chosen by
//                position: final (켜줘, 켜 주세요, 켜라) or connective (켜고)
//   ~로 ~를 ~가 ~는 ~와 ~랑   a Korean particle that agrees with the
//                preceding syllable (모드로, 자동으로; 타이머를, 전원을)
// Patterns are parsed once when the domain loads, so malformed text is
// reported with its file and line before generation starts.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "platform/utf8.h"

namespace edgelm::data {

struct Pattern;

struct PatternNode {
  enum class Kind : uint8_t { Text, Choice, Slot, Verb, Particle };
  Kind kind = Kind::Text;
  std::string text;              // Text: the literal; Slot: its name; Verb: dictionary form; Particle: 로, 를, ...
  std::string format;            // Slot: "", "duration" or "number"
  bool optional = false;         // {slot?} or [..]
  std::vector<Pattern> choices;  // Choice: the alternatives ([x] is one alternative, optional)
};

struct Pattern {
  std::vector<PatternNode> nodes;
  std::string source;            // the text as written, for messages
  bool has_latin = false;        // literal text holds ASCII letters / Hangul (code-switch filtering)
  bool has_hangul = false;
};

// Throws Error("<where>: <problem> in \"<text>\"").
Pattern parse_pattern(std::string_view text, const std::string& where);

// Calls fn(node) for every node, depth first.
template <class Fn>
void for_each_node(const Pattern& p, Fn&& fn) {
  for (const auto& n : p.nodes) {
    fn(n);
    for (const auto& c : n.choices) for_each_node(c, fn);
  }
}

// Appends the particle `key` (로, 를, 가, 는, 와, 랑) in the form that agrees
// with the end of `out` (자동 -> 자동으로, 모드 -> 모드로, 전원 -> 전원을).
void append_korean_particle(std::string& out, std::string_view key);
bool is_korean_particle(std::string_view key);

// The forms of a regular 하다 verb: 설정하다 -> {"설정해", "설정하"}, 하다 -> {"해", "하"} (the 아/어
// form and the stem); none for other verbs, whose forms a phrasing file lists.
std::optional<std::pair<std::string, std::string>> korean_hada_forms(std::string_view dictionary_form);

}  // namespace edgelm::data
