#include "data/pattern.h"

#include <cctype>

#include "platform/error.h"

namespace edgelm::data {
namespace {

struct Parser {
  std::string_view text;
  const std::string& where;
  const LanguageInfo& lang;
  size_t pos = 0;
  int depth = 0;  // '(' and '[' open around pos

  [[noreturn]] void error(const std::string& problem) const {
    fail(where, ": ", problem, " in \"", text, "\"");
  }

  // Parses until one of the stop characters (not consumed) or the end.
  Pattern sequence(std::string_view stops) {
    Pattern p;
    std::string literal;
    auto flush = [&] {
      if (literal.empty()) return;
      PatternNode n;
      n.kind = PatternNode::Kind::Text;
      n.text = std::move(literal);
      literal.clear();
      p.nodes.push_back(std::move(n));
    };
    while (pos < text.size()) {
      char c = text[pos];
      if (stops.find(c) != std::string_view::npos) break;
      if (c == ')' || c == ']' || c == '}' || c == '>' || (c == '|' && stops.find('|') == std::string_view::npos))
        error(std::string("unexpected '") + c + "'");
      if (c == '(' || c == '[') {
        // The built-in phrasings nest two deep; the bound keeps every walk over a pattern's tree shallow.
        if (depth == kMaxPatternNesting) error(cat("'(' and '[' nested more than ", kMaxPatternNesting, " deep"));
        flush();
        ++pos, ++depth;
        PatternNode n;
        n.kind = PatternNode::Kind::Choice;
        n.optional = c == '[';
        char close = c == '(' ? ')' : ']';
        for (;;) {
          n.choices.push_back(sequence(c == '(' ? "|)" : "]"));
          if (pos >= text.size()) error(std::string("unclosed '") + c + "'");
          if (text[pos] == close) break;
          ++pos;  // '|'
        }
        ++pos, --depth;
        p.nodes.push_back(std::move(n));
      } else if (c == '{') {
        flush();
        size_t end = text.find('}', pos);
        if (end == std::string_view::npos) error("unclosed '{'");
        std::string inner(text.substr(pos + 1, end - pos - 1));
        pos = end + 1;
        PatternNode n;
        n.kind = PatternNode::Kind::Slot;
        if (!inner.empty() && inner.back() == '?') n.optional = true, inner.pop_back();
        if (size_t colon = inner.find(':'); colon != std::string::npos) {
          n.format = inner.substr(colon + 1);
          inner.resize(colon);
          if (n.format != "duration" && n.format != "number")
            error("unknown slot format ':" + n.format + "' (known: duration, number)");
        }
        if (inner.empty()) error("empty slot '{}'");
        for (char ch : inner)
          if (!(std::isalnum((unsigned char)ch) || ch == '_')) error("slot name '" + inner + "' is not an identifier");
        n.text = inner;
        p.nodes.push_back(std::move(n));
      } else if (c == '<') {
        flush();
        size_t end = text.find('>', pos);
        if (end == std::string_view::npos) error("unclosed '<'");
        PatternNode n;
        n.kind = PatternNode::Kind::Verb;
        n.text = std::string(text.substr(pos + 1, end - pos - 1));
        if (n.text.empty()) error("empty verb '<>'");
        pos = end + 1;
        p.nodes.push_back(std::move(n));
      } else if (c == '~' && pos + 1 < text.size() && static_cast<unsigned char>(text[pos + 1]) >= 0x80) {
        // "~" before a Korean syllable is a particle; elsewhere ("켜줘~") it is text.
        flush();
        ++pos;
        size_t start = pos;
        if (pos < text.size()) utf8_next_lenient(text, pos);  // parse_pattern checked the text
        std::string key(text.substr(start, pos - start));
        if (!lang.rules->is_particle(key)) {
          std::string known;
          for (const auto& k : lang.rules->particles()) known += " ~" + k;
          if (known.empty()) error(cat("particle '~", key, "': ", lang.name, " has no particles"));
          error(cat("unknown particle '~", key, "' (", lang.name, " particles:", known, ")"));
        }
        PatternNode n;
        n.kind = PatternNode::Kind::Particle;
        n.text = key;
        p.nodes.push_back(std::move(n));
      } else {
        literal += c;
        ++pos;
      }
    }
    flush();
    for (const auto& n : p.nodes) {
      if (n.kind != PatternNode::Kind::Text) continue;
      for (Script s : kScripts)
        if (count_script(n.text, s) > 0) p.scripts |= 1u << unsigned(s);
    }
    return p;
  }
};

}  // namespace

Pattern parse_pattern(std::string_view text, const std::string& where, const LanguageInfo& lang) {
  if (std::string bad = utf8_problem(text); !bad.empty()) fail(where, ": ", bad);
  Parser parser{text, where, lang};
  Pattern p = parser.sequence("");
  p.source = std::string(text);
  return p;
}

}  // namespace edgelm::data
