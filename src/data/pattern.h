#pragma once
// The phrasing mini-language of domain files. A pattern is text with:
//   (a|b|c)      one of the alternatives        [x]       x or nothing
//   {slot}       a lexicon entry, or the words for an argument value
//   {slot?}      the same, or nothing            {minutes:duration}  a duration
//   {degrees:number}  an integer or number argument said as digits or words (72, seventy-two, 칠십이)
//   <verb>       a verb (dictionary form) with an ending chosen by
//                position: final (켜줘, 켜 주세요, 켜라) or connective (켜고)
//   ~로 ~를 ~가 ~는 ~와 ~랑   a particle of the language that agrees with the
//                preceding word (Korean: 모드로, 자동으로; 타이머를, 전원을);
//                which particles exist is the language module's (src/lang/)
// Patterns are parsed once when the domain loads, so malformed text is
// reported with its file and line before generation starts.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/language.h"
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
  uint32_t scripts = 0;          // bit per Script its literal text has letters of (code-switch filtering)
  bool has_script(Script s) const { return scripts & (1u << unsigned(s)); }
  // Whether its literal text has letters of a script other than `own`.
  bool has_other_script(Script own) const { return scripts & ~(1u << unsigned(own)); }
};

// How deep '(' and '[' may nest in one pattern.
inline constexpr int kMaxPatternNesting = 16;

// `lang` says which particles (~로) exist. Throws Error("<where>: <problem> in \"<text>\"").
Pattern parse_pattern(std::string_view text, const std::string& where, const LanguageInfo& lang);

// Calls fn(node) for every node, depth first.
template <class Fn>
void for_each_node(const Pattern& p, Fn&& fn) {
  for (const auto& n : p.nodes) {
    fn(n);
    for (const auto& c : n.choices) for_each_node(c, fn);
  }
}

}  // namespace edgelm::data
