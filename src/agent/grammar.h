#pragma once
// A context-free grammar over bytes and special tokens: the form that both the
// schema compiler (answer_grammar.h) and the GBNF parser (llama.cpp's grammar
// notation) produce, and that GrammarAutomaton (grammar_matcher.h) matches.
//
// Terminals are byte sets (a code point class is expanded into the UTF-8 byte
// sequences that spell it, so a token that ends inside a character simply
// leaves the matcher in the middle of a sequence) and special tokens by text
// (e.g. "<|end|>"), which only that token matches. Repetitions are expanded
// into right-recursive helper rules, as llama.cpp does.
#include <bitset>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace edgelm {

enum class GrammarOp : uint8_t {
  End,      // end of an alternative (and of the rule)
  Alt,      // end of an alternative, another follows
  RuleRef,  // value: rule id
  Bytes,    // value: index into byte_sets
  Token,    // value: index into tokens (special token text)
};

struct GrammarElem {
  GrammarOp op = GrammarOp::End;
  uint32_t value = 0;
};

using ByteSet = std::bitset<256>;

// Limits that keep hostile grammars from exhausting the stack or memory.
inline constexpr int kGrammarMaxNesting = 64;       // parentheses in GBNF text
inline constexpr int kGrammarMaxStackDepth = 256;   // rule frames while matching
inline constexpr int kGrammarMaxRepetition = 1000;  // x{m,n}: n at most this

class Grammar {
 public:
  // Builder. An alternative is a sequence of elements (no End/Alt); a rule is a
  // list of alternatives (an empty alternative matches the empty string).
  using Sequence = std::vector<GrammarElem>;
  uint32_t add_rule(const std::string& name);  // declares; returns its id (existing id if declared)
  void define_rule(uint32_t rule, const std::vector<Sequence>& alternatives);
  GrammarElem ref(uint32_t rule) const { return {GrammarOp::RuleRef, rule}; }
  GrammarElem bytes(const ByteSet& set);
  GrammarElem byte(uint8_t b);
  GrammarElem token(const std::string& special_text);
  Sequence literal(std::string_view text);  // one Bytes element per byte
  // The UTF-8 spellings of code points in [lo, hi] (surrogates excluded), as alternatives.
  std::vector<Sequence> code_point_ranges(const std::vector<std::pair<uint32_t, uint32_t>>& ranges);
  uint32_t new_helper_rule(const std::string& base_name);  // a fresh, unique name

  // Checks every rule is defined and none is left-recursive (directly, through
  // other rules, or after a nullable prefix); throws Error naming the rule.
  // Then lays the rules out flat for matching.
  void finalize(const std::string& root_name = "root");

  // After finalize():
  const std::vector<GrammarElem>& elems() const { return elems_; }  // all rules, flat
  uint32_t rule_start(uint32_t rule) const { return rule_starts_[rule]; }
  uint32_t root() const { return root_; }
  const std::vector<ByteSet>& byte_sets() const { return byte_sets_; }
  const std::vector<std::string>& tokens() const { return tokens_; }
  const std::string& rule_name(uint32_t rule) const { return names_[rule]; }
  uint32_t n_rules() const { return uint32_t(names_.size()); }
  uint32_t rule_of_position(uint32_t pos) const;  // which rule a flat position belongs to
  std::string to_gbnf() const;                    // for display / debugging
  bool finalized() const { return finalized_; }

  // Optional: tokens consumed while every parse is inside this rule are counted
  // (GrammarMatcher::counted_tokens), e.g. an answer's reply text.
  void set_counted_rule(uint32_t rule) { counted_rule_ = int64_t(rule); }
  int64_t counted_rule() const { return counted_rule_; }

 private:
  std::vector<std::string> names_;
  std::vector<std::vector<Sequence>> rules_;
  std::vector<bool> defined_;
  std::vector<ByteSet> byte_sets_;
  std::vector<std::string> tokens_;
  std::vector<GrammarElem> elems_;
  std::vector<uint32_t> rule_starts_, rule_ends_;
  uint32_t root_ = 0;
  int64_t counted_rule_ = -1;
  bool finalized_ = false;
};

// Parses llama.cpp's GBNF notation: `name ::= alternatives`, "literals" with
// \n \t \r \\ \" \xHH \uHHHH \UHHHHHHHH escapes, [a-z] / [^...] classes, `.`,
// ( groups ), `|`, postfix * + ? {m} {m,} {m,n}, `#` comments, and <text> for a
// special token by its text (as llama.cpp's token syntax). Throws Error with
// the line and column on a syntax error, an undefined rule, left recursion, or
// nesting deeper than kGrammarMaxNesting.
Grammar parse_gbnf(std::string_view text, const std::string& root_name = "root");

}  // namespace edgelm
