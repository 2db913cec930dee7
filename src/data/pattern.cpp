#include "data/pattern.h"

#include <cctype>

#include "platform/error.h"

namespace edgelm::data {
namespace {

struct Parser {
  std::string_view text;
  const std::string& where;
  size_t pos = 0;

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
        flush();
        ++pos;
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
        ++pos;
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
        if (!is_korean_particle(key)) error("unknown particle '~" + key + "' (known: ~로 ~를 ~가 ~는 ~와 ~랑)");
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
      p.has_latin |= contains_latin(n.text);
      p.has_hangul |= contains_hangul(n.text);
    }
    return p;
  }
};

}  // namespace

Pattern parse_pattern(std::string_view text, const std::string& where) {
  if (std::string bad = utf8_problem(text); !bad.empty()) fail(where, ": ", bad);
  Parser parser{text, where};
  Pattern p = parser.sequence("");
  p.source = std::string(text);
  return p;
}

bool is_korean_particle(std::string_view key) {
  return key == "로" || key == "를" || key == "가" || key == "는" || key == "와" || key == "랑";
}

void append_korean_particle(std::string& out, std::string_view key) {
  // Whether the preceding word ends in a consonant sound (받침), and whether
  // that consonant is ㄹ (which takes 로, not 으로).
  bool batchim = false, rieul = false;
  size_t end = out.size();
  while (end > 0 && out[end - 1] == ' ') --end;
  if (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(out[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    uint32_t cp = utf8_next_lenient(out, i);
    if (is_hangul_syllable(cp)) {
      int jong = (cp - 0xAC00) % 28;
      batchim = jong != 0;
      rieul = jong == 8;
    } else if (cp >= '0' && cp <= '9') {
      // 영 일 이 삼 사 오 육 칠 팔 구: how the last digit is read.
      static const bool digit_batchim[] = {true, true, false, true, false, false, true, true, true, false};
      batchim = digit_batchim[cp - '0'];
      rieul = cp == '1' || cp == '7' || cp == '8';
    } else if (cp < 0x80 && std::isalpha(int(cp))) {
      // English words read out: "mode" -> 모드로, "sleep" -> 슬립으로, "timer" -> 타이머를.
      char c = char(std::tolower(int(cp)));
      batchim = !(c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'r' || c == 'w');
      rieul = c == 'l';
    }
  }
  out.resize(end);
  if (key == "로") out += batchim && !rieul ? "으로" : "로";
  else if (key == "를") out += batchim ? "을" : "를";
  else if (key == "가") out += batchim ? "이" : "가";
  else if (key == "는") out += batchim ? "은" : "는";
  else if (key == "와") out += batchim ? "과" : "와";
  else if (key == "랑") out += batchim ? "이랑" : "랑";
}

std::optional<std::pair<std::string, std::string>> korean_hada_forms(std::string_view form) {
  constexpr std::string_view hada = "하다";
  if (form.size() < hada.size() || form.substr(form.size() - hada.size()) != hada) return std::nullopt;
  std::string stem(form.substr(0, form.size() - std::string_view("다").size()));
  return std::make_pair(std::string(form.substr(0, form.size() - hada.size())) + "해", stem);
}

}  // namespace edgelm::data
