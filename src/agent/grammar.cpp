#include "agent/grammar.h"

#include <algorithm>

#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {

uint32_t Grammar::add_rule(const std::string& name) {
  for (uint32_t i = 0; i < names_.size(); ++i)
    if (names_[i] == name) return i;
  names_.push_back(name);
  rules_.emplace_back();
  defined_.push_back(false);
  finalized_ = false;
  return uint32_t(names_.size() - 1);
}

uint32_t Grammar::new_helper_rule(const std::string& base_name) {
  for (int i = 1;; ++i) {
    std::string name = cat(base_name, "-", i);
    if (std::find(names_.begin(), names_.end(), name) == names_.end()) return add_rule(name);
  }
}

void Grammar::define_rule(uint32_t rule, const std::vector<Sequence>& alternatives) {
  if (rule >= rules_.size()) fail("grammar: rule id ", rule, " out of range");
  if (defined_[rule]) fail("grammar: rule '", names_[rule], "' defined twice");
  for (const auto& seq : alternatives)
    for (const auto& e : seq)
      if (e.op == GrammarOp::End || e.op == GrammarOp::Alt) fail("grammar: End/Alt inside an alternative");
  rules_[rule] = alternatives;
  if (rules_[rule].empty()) rules_[rule].emplace_back();
  defined_[rule] = true;
  finalized_ = false;
}

GrammarElem Grammar::bytes(const ByteSet& set) {
  for (uint32_t i = 0; i < byte_sets_.size(); ++i)
    if (byte_sets_[i] == set) return {GrammarOp::Bytes, i};
  byte_sets_.push_back(set);
  return {GrammarOp::Bytes, uint32_t(byte_sets_.size() - 1)};
}

GrammarElem Grammar::byte(uint8_t b) {
  ByteSet s;
  s.set(b);
  return bytes(s);
}

GrammarElem Grammar::token(const std::string& special_text) {
  for (uint32_t i = 0; i < tokens_.size(); ++i)
    if (tokens_[i] == special_text) return {GrammarOp::Token, i};
  tokens_.push_back(special_text);
  return {GrammarOp::Token, uint32_t(tokens_.size() - 1)};
}

Grammar::Sequence Grammar::literal(std::string_view text) {
  Sequence seq;
  for (char c : text) seq.push_back(byte(uint8_t(c)));
  return seq;
}

namespace {

// Splits [lo, hi] (same encoded length) into ranges whose UTF-8 forms are a
// product of byte ranges: each byte position ranges independently.
void utf8_split(uint32_t lo, uint32_t hi, std::vector<std::vector<std::pair<uint8_t, uint8_t>>>& out) {
  const std::string a = utf8_encode(lo), b = utf8_encode(hi);
  const int n = int(a.size());
  for (int i = 1; i < n; ++i) {
    uint32_t m = (1u << (6 * i)) - 1;  // the low 6*i bits
    if ((lo & ~m) != (hi & ~m)) {
      if ((lo & m) != 0) {
        utf8_split(lo, lo | m, out);
        utf8_split((lo | m) + 1, hi, out);
        return;
      }
      if ((hi & m) != m) {
        utf8_split(lo, (hi & ~m) - 1, out);
        utf8_split(hi & ~m, hi, out);
        return;
      }
    }
  }
  std::vector<std::pair<uint8_t, uint8_t>> seq;
  for (int i = 0; i < n; ++i) seq.emplace_back(uint8_t(a[size_t(i)]), uint8_t(b[size_t(i)]));
  out.push_back(seq);
}

}  // namespace

std::vector<Grammar::Sequence> Grammar::code_point_ranges(const std::vector<std::pair<uint32_t, uint32_t>>& ranges) {
  std::vector<std::vector<std::pair<uint8_t, uint8_t>>> parts;
  for (auto [lo, hi] : ranges) {
    hi = std::min<uint32_t>(hi, 0x10FFFF);
    if (lo > hi) continue;
    // Surrogates have no UTF-8 form; split at every change of encoded length.
    std::vector<std::pair<uint32_t, uint32_t>> pieces;
    if (lo < 0xD800 && hi > 0xDFFF) pieces = {{lo, 0xD7FF}, {0xE000, hi}};
    else if (lo >= 0xD800 && hi <= 0xDFFF) continue;
    else if (lo >= 0xD800 && lo <= 0xDFFF) pieces = {{0xE000, hi}};
    else if (hi >= 0xD800 && hi <= 0xDFFF) pieces = {{lo, 0xD7FF}};
    else pieces = {{lo, hi}};
    for (auto [a, b] : pieces) {
      for (uint32_t bound : {0x7Fu, 0x7FFu, 0xFFFFu, 0x10FFFFu}) {
        if (a > b) break;
        if (a <= bound) {
          uint32_t e = std::min(b, bound);
          utf8_split(a, e, parts);
          a = e + 1;
        }
      }
    }
  }
  // Merge single-byte pieces into one set so that an ASCII class is one element.
  ByteSet ascii;
  std::vector<Sequence> out;
  for (const auto& p : parts) {
    if (p.size() == 1) {
      for (int c = p[0].first; c <= p[0].second; ++c) ascii.set(c);
      continue;
    }
    Sequence seq;
    for (auto [x, y] : p) {
      ByteSet s;
      for (int c = x; c <= y; ++c) s.set(c);
      seq.push_back(bytes(s));
    }
    out.push_back(seq);
  }
  if (ascii.any()) out.insert(out.begin(), Sequence{bytes(ascii)});
  return out;
}

void Grammar::finalize(const std::string& root_name) {
  uint32_t n = uint32_t(names_.size());
  for (uint32_t r = 0; r < n; ++r)
    if (!defined_[r]) fail("grammar: rule '", names_[r], "' is used but never defined");
  auto root = std::find(names_.begin(), names_.end(), root_name);
  if (root == names_.end()) fail("grammar: no rule named '", root_name, "' (the start rule)");
  root_ = uint32_t(root - names_.begin());

  // Nullable rules, by fixed point.
  std::vector<bool> nullable(n, false);
  for (bool changed = true; changed;) {
    changed = false;
    for (uint32_t r = 0; r < n; ++r) {
      if (nullable[r]) continue;
      for (const auto& seq : rules_[r]) {
        bool all = std::all_of(seq.begin(), seq.end(),
                               [&](const GrammarElem& e) { return e.op == GrammarOp::RuleRef && nullable[e.value]; });
        if (all) {
          nullable[r] = changed = true;
          break;
        }
      }
    }
  }
  // Left edges: rule r can start with rule s. A cycle is left recursion, which
  // would make the matcher expand forever.
  std::vector<std::vector<uint32_t>> left(n);
  for (uint32_t r = 0; r < n; ++r)
    for (const auto& seq : rules_[r])
      for (const auto& e : seq) {
        if (e.op != GrammarOp::RuleRef) break;
        left[r].push_back(e.value);
        if (!nullable[e.value]) break;
      }
  std::vector<uint8_t> color(n, 0);  // 0 new, 1 on the path, 2 done
  for (uint32_t start = 0; start < n; ++start) {
    if (color[start]) continue;
    std::vector<std::pair<uint32_t, size_t>> path = {{start, 0}};  // iterative DFS: no recursion
    color[start] = 1;
    while (!path.empty()) {
      auto& [r, i] = path.back();
      if (i < left[r].size()) {
        uint32_t s = left[r][i++];
        if (color[s] == 1) {
          std::string chain;
          bool on = false;
          for (auto& [q, unused] : path) {
            if (q == s) on = true;
            if (on) chain += names_[q] + " -> ";
          }
          fail("grammar: rule '", names_[s], "' is left-recursive (", chain, names_[s],
               "); rewrite it with repetition, e.g. x ::= y (\"+\" y)*");
        }
        if (color[s] == 0) {
          color[s] = 1;
          path.push_back({s, 0});
        }
      } else {
        color[r] = 2;
        path.pop_back();
      }
    }
  }

  elems_.clear();
  rule_starts_.assign(n, 0);
  rule_ends_.assign(n, 0);
  for (uint32_t r = 0; r < n; ++r) {
    rule_starts_[r] = uint32_t(elems_.size());
    for (size_t a = 0; a < rules_[r].size(); ++a) {
      elems_.insert(elems_.end(), rules_[r][a].begin(), rules_[r][a].end());
      elems_.push_back({a + 1 < rules_[r].size() ? GrammarOp::Alt : GrammarOp::End, 0});
    }
    rule_ends_[r] = uint32_t(elems_.size());
  }
  finalized_ = true;
}

uint32_t Grammar::rule_of_position(uint32_t pos) const {
  auto it = std::upper_bound(rule_starts_.begin(), rule_starts_.end(), pos);
  return uint32_t(it - rule_starts_.begin()) - 1;
}

namespace {

std::string byte_set_to_gbnf(const ByteSet& s) {
  auto esc = [](int c) {
    if (c >= 0x21 && c < 0x7F && c != '\\' && c != ']' && c != '^' && c != '-' && c != '"') return std::string(1, char(c));
    char buf[8];
    std::snprintf(buf, sizeof buf, "\\x%02X", c);
    return std::string(buf);
  };
  if (s.count() == 1)
    for (int c = 0; c < 256; ++c)
      if (s.test(c)) {
        std::string e = esc(c);
        return "[" + e + "]";
      }
  std::string out = "[";
  for (int c = 0; c < 256;) {
    if (!s.test(c)) {
      ++c;
      continue;
    }
    int e = c;
    while (e + 1 < 256 && s.test(e + 1)) ++e;
    out += esc(c);
    if (e > c) out += "-" + esc(e);
    c = e + 1;
  }
  return out + "]";
}

}  // namespace

std::string Grammar::to_gbnf() const {
  std::string out;
  for (uint32_t r = 0; r < names_.size(); ++r) {
    out += names_[r] + " ::=";
    for (size_t a = 0; a < rules_[r].size(); ++a) {
      if (a) out += " |";
      if (rules_[r][a].empty()) out += " \"\"";
      for (const auto& e : rules_[r][a]) {
        switch (e.op) {
          case GrammarOp::RuleRef: out += " " + names_[e.value]; break;
          case GrammarOp::Bytes: out += " " + byte_set_to_gbnf(byte_sets_[e.value]); break;
          case GrammarOp::Token: out += " " + tokens_[e.value]; break;
          default: break;
        }
      }
    }
    out += "\n";
  }
  return out;
}

}  // namespace edgelm
