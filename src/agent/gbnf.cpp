// The GBNF parser: llama.cpp's grammar notation into a Grammar. Recursive
// descent over groups, with the nesting bounded so that hostile input cannot
// overflow the stack.
#include <algorithm>

#include "agent/grammar.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {
namespace {

class GbnfParser {
 public:
  explicit GbnfParser(std::string_view text) : s_(text) {}

  Grammar parse(const std::string& root_name) {
    skip_space(true);
    while (pos_ < s_.size()) {
      std::string name = parse_name();
      skip_space(false);
      if (s_.substr(pos_, 3) != "::=") error("expected '::=' after rule name '" + name + "'");
      pos_ += 3;
      skip_space(true);
      uint32_t rule = g_.add_rule(name);
      if (std::find(defined_.begin(), defined_.end(), rule) != defined_.end()) error("rule '" + name + "' defined twice");
      defined_.push_back(rule);
      g_.define_rule(rule, parse_alternatives(name, 0));
      // A rule ends at a newline.
      skip_space(false);
      if (pos_ < s_.size() && s_[pos_] != '\n' && s_[pos_] != '\r') error("expected the end of the line");
      skip_space(true);
    }
    g_.finalize(root_name);
    return std::move(g_);
  }

 private:
  [[noreturn]] void error(const std::string& what) const {
    size_t line = 1, col = 1;
    for (size_t i = 0; i < pos_ && i < s_.size(); ++i) {
      if (s_[i] == '\n') ++line, col = 1;
      else ++col;
    }
    fail("grammar line ", line, " column ", col, ": ", what);
  }

  void skip_space(bool newlines) {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == '#') {
        while (pos_ < s_.size() && s_[pos_] != '\n') ++pos_;
      } else if (c == ' ' || c == '\t' || (newlines && (c == '\n' || c == '\r'))) {
        ++pos_;
      } else {
        break;
      }
    }
  }

  static bool is_name_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  }

  std::string parse_name() {
    size_t start = pos_;
    while (pos_ < s_.size() && is_name_char(s_[pos_])) ++pos_;
    if (pos_ == start) error("expected a rule name");
    return std::string(s_.substr(start, pos_ - start));
  }

  // One code point of a literal or class, with escapes; advances pos_.
  uint32_t parse_char() {
    if (pos_ >= s_.size()) error("unexpected end of grammar");
    uint8_t c = uint8_t(s_[pos_]);
    if (c == '\\') {
      ++pos_;
      if (pos_ >= s_.size()) error("unexpected end after '\\'");
      char e = s_[pos_++];
      switch (e) {
        case 'n': return '\n';
        case 'r': return '\r';
        case 't': return '\t';
        case '\\': case '"': case '[': case ']': case '-': case '^': return uint32_t(e);
        case 'x': return parse_hex(2);
        case 'u': return parse_hex(4);
        case 'U': return parse_hex(8);
        default: --pos_; error(std::string("unknown escape '\\") + e + "'");
      }
    }
    // One UTF-8 character of the grammar text itself.
    uint32_t cp = 0;
    if (!utf8_next(s_, pos_, cp)) error("invalid UTF-8 in the grammar text");
    return cp;
  }

  uint32_t parse_hex(int digits) {
    uint32_t v = 0;
    for (int i = 0; i < digits; ++i) {
      if (pos_ >= s_.size()) error("unexpected end in a hex escape");
      char c = s_[pos_++];
      int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) error("bad hex digit in an escape");
      v = v * 16 + uint32_t(d);
    }
    if (v > 0x10FFFF) error("code point beyond U+10FFFF");
    return v;
  }

  Grammar::Sequence code_points_element(const std::vector<std::pair<uint32_t, uint32_t>>& ranges, const std::string& base) {
    std::vector<Grammar::Sequence> alts = g_.code_point_ranges(ranges);
    if (alts.empty()) error("character class matches nothing");
    if (alts.size() == 1 && alts[0].size() == 1) return alts[0];
    uint32_t rule = g_.new_helper_rule(base + "-char");
    g_.define_rule(rule, alts);
    return {g_.ref(rule)};
  }

  std::vector<Grammar::Sequence> parse_alternatives(const std::string& rule_name, int depth) {
    if (depth > kGrammarMaxNesting) error(cat("groups nested deeper than ", kGrammarMaxNesting));
    std::vector<Grammar::Sequence> alts;
    alts.push_back(parse_sequence(rule_name, depth));
    while (pos_ < s_.size() && s_[pos_] == '|') {
      ++pos_;
      skip_space(true);
      alts.push_back(parse_sequence(rule_name, depth));
    }
    return alts;
  }

  Grammar::Sequence parse_sequence(const std::string& rule_name, int depth) {
    Grammar::Sequence seq;
    size_t last_start = 0;  // where the last item's elements begin, for postfix operators
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      size_t item_start = seq.size();
      if (c == '"') {
        ++pos_;
        while (pos_ < s_.size() && s_[pos_] != '"') {
          if (s_[pos_] == '\n') error("unterminated string literal");
          uint32_t cp = parse_char();
          auto el = g_.code_point_ranges({{cp, cp}});
          if (el.empty()) error("a surrogate code point cannot be matched");
          seq.insert(seq.end(), el[0].begin(), el[0].end());
        }
        if (pos_ >= s_.size()) error("unterminated string literal");
        ++pos_;
        if (seq.size() == item_start) {  // "" matches the empty string: an empty helper rule keeps postfix ops sane
          uint32_t rule = g_.new_helper_rule(rule_name + "-empty");
          g_.define_rule(rule, {{}});
          seq.push_back(g_.ref(rule));
        } else if (seq.size() - item_start > 1) {
          // A multi-element literal is one item for postfix operators.
          Grammar::Sequence lit(seq.begin() + long(item_start), seq.end());
          seq.resize(item_start);
          uint32_t rule = g_.new_helper_rule(rule_name + "-lit");
          g_.define_rule(rule, {lit});
          seq.push_back(g_.ref(rule));
        }
      } else if (c == '[') {
        ++pos_;
        bool negate = false;
        if (pos_ < s_.size() && s_[pos_] == '^') negate = true, ++pos_;
        std::vector<std::pair<uint32_t, uint32_t>> ranges;
        while (pos_ < s_.size() && s_[pos_] != ']') {
          if (s_[pos_] == '\n') error("unterminated character class");
          uint32_t lo = parse_char(), hi = lo;
          if (pos_ + 1 < s_.size() && s_[pos_] == '-' && s_[pos_ + 1] != ']') {
            if (s_[pos_ + 1] == '\n') error("unterminated character class");
            ++pos_;
            hi = parse_char();
            if (hi < lo) error("character range with its end before its start");
          }
          ranges.emplace_back(lo, hi);
        }
        if (pos_ >= s_.size()) error("unterminated character class");
        ++pos_;
        if (negate) {
          std::sort(ranges.begin(), ranges.end());
          std::vector<std::pair<uint32_t, uint32_t>> inv;
          uint32_t next = 0;
          for (auto [lo, hi] : ranges) {
            if (lo > next) inv.emplace_back(next, lo - 1);
            next = std::max(next, hi + 1);
          }
          if (next <= 0x10FFFF) inv.emplace_back(next, 0x10FFFF);
          ranges = inv;
        }
        auto el = code_points_element(ranges, rule_name);
        seq.insert(seq.end(), el.begin(), el.end());
        if (seq.size() - item_start > 1) error("internal: class became several elements");
      } else if (c == '.') {
        ++pos_;
        auto el = code_points_element({{0, 0x10FFFF}}, rule_name);
        seq.insert(seq.end(), el.begin(), el.end());
      } else if (c == '<') {
        size_t close = s_.find('>', pos_ + 1);
        if (close == std::string_view::npos) error("unterminated token reference '<...>'");
        // Special tokens such as <|end|> contain '|' and end with '>'.
        seq.push_back(g_.token(std::string(s_.substr(pos_, close - pos_ + 1))));
        pos_ = close + 1;
      } else if (c == '(') {
        ++pos_;
        skip_space(true);
        auto alts = parse_alternatives(rule_name, depth + 1);
        if (pos_ >= s_.size() || s_[pos_] != ')') error("expected ')'");
        ++pos_;
        uint32_t rule = g_.new_helper_rule(rule_name);
        g_.define_rule(rule, alts);
        seq.push_back(g_.ref(rule));
      } else if (is_name_char(c)) {
        std::string name = parse_name();
        skip_space(false);
        if (s_.substr(pos_, 3) == "::=") error("missing newline before rule '" + name + "'");
        seq.push_back(g_.ref(g_.add_rule(name)));
      } else if (c == '*' || c == '+' || c == '?' || c == '{') {
        if (seq.empty() || last_start >= seq.size()) error(std::string("'") + c + "' without an item before it");
        apply_postfix(seq, last_start, rule_name);
        skip_space(depth > 0);
        continue;
      } else {
        break;
      }
      last_start = item_start;
      skip_space(depth > 0);
    }
    return seq;
  }

  void apply_postfix(Grammar::Sequence& seq, size_t item_start, const std::string& rule_name) {
    Grammar::Sequence item(seq.begin() + long(item_start), seq.end());
    seq.resize(item_start);
    int64_t min = 0, max = -1;  // -1: unbounded
    char c = s_[pos_++];
    if (c == '*') min = 0;
    else if (c == '+') min = 1;
    else if (c == '?') min = 0, max = 1;
    else {
      auto number = [&] {
        size_t start = pos_;
        int64_t v = 0;
        while (pos_ < s_.size() && s_[pos_] >= '0' && s_[pos_] <= '9' && v <= kGrammarMaxRepetition) v = v * 10 + (s_[pos_++] - '0');
        if (pos_ == start) error("expected a number in {m,n}");
        if (v > kGrammarMaxRepetition) error(cat("repetition count above ", kGrammarMaxRepetition));
        return v;
      };
      skip_space(false);
      min = number();
      skip_space(false);
      if (pos_ < s_.size() && s_[pos_] == ',') {
        ++pos_;
        skip_space(false);
        max = pos_ < s_.size() && s_[pos_] == '}' ? -1 : number();
      } else {
        max = min;
      }
      skip_space(false);
      if (pos_ >= s_.size() || s_[pos_] != '}') error("expected '}'");
      ++pos_;
      if (max >= 0 && max < min) error("repetition {m,n} with n < m");
    }
    for (int64_t i = 0; i < min; ++i) seq.insert(seq.end(), item.begin(), item.end());
    if (max < 0) {
      // x* as a right-recursive rule: r ::= x r | "" (the stack stays flat).
      uint32_t rule = g_.new_helper_rule(rule_name + "-star");
      Grammar::Sequence again = item;
      again.push_back(g_.ref(rule));
      g_.define_rule(rule, {again, {}});
      seq.push_back(g_.ref(rule));
    } else if (max > min) {
      // Nested optionals: r_k ::= x r_{k-1} | "", so x{0,3} cannot match in two ways.
      uint32_t inner = 0;
      bool have_inner = false;
      for (int64_t k = 0; k < max - min; ++k) {
        uint32_t rule = g_.new_helper_rule(rule_name + "-opt");
        Grammar::Sequence s = item;
        if (have_inner) s.push_back(g_.ref(inner));
        g_.define_rule(rule, {s, {}});
        inner = rule;
        have_inner = true;
      }
      seq.push_back(g_.ref(inner));
    }
  }

  std::string_view s_;
  size_t pos_ = 0;
  Grammar g_;
  std::vector<uint32_t> defined_;
};

}  // namespace

Grammar parse_gbnf(std::string_view text, const std::string& root_name) {
  return GbnfParser(text).parse(root_name);
}

}  // namespace edgelm
