// The corpus's source formats: gettext catalogues, WordNet data files, HTML
// pages and plain text, each turned into raw segments (corpus.h). The readers
// take the bytes (not a path), so the fuzz target drives them directly.
#include <algorithm>
#include <cstring>
#include <tuple>

#include "data/corpus.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::data {

namespace {

uint32_t read_u32(std::string_view bytes, uint64_t offset, bool big_endian) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data() + offset);
  return big_endian ? (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]
                    : (uint32_t(p[3]) << 24) | (uint32_t(p[2]) << 16) | (uint32_t(p[1]) << 8) | p[0];
}

// The first form of a message: a plural's forms are separated by NUL bytes.
std::string_view first_form(std::string_view s) {
  size_t nul = s.find('\0');
  return nul == std::string_view::npos ? s : s.substr(0, nul);
}

bool starts_with_ci(std::string_view s, size_t pos, std::string_view word) {
  if (pos + word.size() > s.size()) return false;
  for (size_t i = 0; i < word.size(); ++i)
    if (ascii_lower(s[pos + i]) != word[i]) return false;
  return true;
}

bool is_ascii_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

}  // namespace

std::vector<Segment> read_mo_segments(std::string_view bytes, const std::string& name, const std::string& source) {
  // GNU gettext's format: magic, revision, N, offset of the originals' table,
  // offset of the translations' table; each table holds N (length, offset) pairs.
  if (bytes.size() < 20) fail(name, ": too short for a .mo catalogue (", bytes.size(), " bytes)");
  const uint32_t magic_le = read_u32(bytes, 0, false);
  bool big_endian;
  if (magic_le == 0x950412deu) big_endian = false;
  else if (magic_le == 0xde120495u) big_endian = true;
  else fail(name, ": not a .mo catalogue (magic number 0x", std::hex, magic_le, ")");
  const uint32_t revision = read_u32(bytes, 4, big_endian);
  if ((revision >> 16) > 1) fail(name, ": .mo revision ", revision >> 16, ".", (revision & 0xffff), " is not supported (0 or 1)");
  const uint64_t n = read_u32(bytes, 8, big_endian);
  const uint64_t originals = read_u32(bytes, 12, big_endian), translations = read_u32(bytes, 16, big_endian);
  for (uint64_t table : {originals, translations})
    if (table + n * 8 > bytes.size())
      fail(name, ": a string table of ", n, " entries at byte ", table, " runs past the end of the file (", bytes.size(), " bytes)");
  auto string_at = [&](uint64_t table, uint64_t i) {
    const uint64_t length = read_u32(bytes, table + 8 * i, big_endian), offset = read_u32(bytes, table + 8 * i + 4, big_endian);
    if (offset + length > bytes.size())
      fail(name, ": string ", i, " (", length, " bytes at byte ", offset, ") runs past the end of the file (", bytes.size(), " bytes)");
    return bytes.substr(size_t(offset), size_t(length));
  };
  std::vector<Segment> out;
  for (uint64_t i = 0; i < n; ++i) {
    std::string_view id = string_at(originals, i), str = string_at(translations, i);
    // A context ("menu\x04Open") is a key, not text.
    if (size_t eot = id.find('\x04'); eot != std::string_view::npos) id = id.substr(eot + 1);
    id = first_form(id);
    if (id.empty()) continue;  // the header entry
    str = first_form(str);
    out.push_back({std::string(id), source});
    if (!str.empty() && str != id) out.push_back({std::string(str), source});
  }
  return out;
}

std::vector<Segment> read_wordnet_segments(std::string_view text, const std::string& name, const std::string& source) {
  // A data line: offset lex_filenum ss_type w_cnt (hex) {word lex_id}... | gloss
  // The gloss is "definition; "example"; "example"".
  std::vector<Segment> out;
  int64_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.empty() || line[0] == ' ') continue;  // the licence header
    size_t bar = line.find(" | ");
    if (bar == std::string_view::npos) fail(name, " line ", line_no, ": a WordNet data line without ' | ' before its gloss");
    // Words: the fields after the fourth.
    std::vector<std::string_view> fields;
    std::string_view head = line.substr(0, bar);
    for (size_t p = 0; p < head.size();) {
      size_t q = head.find(' ', p);
      if (q == std::string_view::npos) q = head.size();
      if (q > p) fields.push_back(head.substr(p, q - p));
      p = q + 1;
    }
    if (fields.size() < 4) fail(name, " line ", line_no, ": a WordNet data line with fewer than 4 fields before its gloss");
    size_t w_cnt = 0;
    for (char c : fields[3]) {
      int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
      if (digit < 0 || w_cnt > 0xfff) fail(name, " line ", line_no, ": word count '", fields[3], "' is not a hexadecimal number");
      w_cnt = w_cnt * 16 + size_t(digit);
    }
    if (4 + 2 * w_cnt > fields.size()) fail(name, " line ", line_no, ": ", w_cnt, " words announced, fewer present");
    std::string lemmas;
    for (size_t w = 0; w < std::min<size_t>(w_cnt, 3); ++w) {
      std::string word(fields[4 + 2 * w]);
      if (size_t paren = word.find('('); paren != std::string::npos) word.resize(paren);  // adjective markers: "(a)"
      std::replace(word.begin(), word.end(), '_', ' ');
      if (!lemmas.empty()) lemmas += ", ";
      lemmas += word;
    }
    std::string_view gloss = line.substr(bar + 3);
    while (!gloss.empty() && gloss.back() == ' ') gloss.remove_suffix(1);
    std::string definition;
    for (size_t p = 0; p < gloss.size();) {
      size_t q = gloss.find("; ", p);
      if (q == std::string_view::npos) q = gloss.size();
      std::string_view item = gloss.substr(p, q - p);
      p = q + 2;
      if (!item.empty() && item[0] == '"') {
        size_t close = item.find('"', 1);
        std::string_view example = item.substr(1, close == std::string_view::npos ? std::string_view::npos : close - 1);
        if (!example.empty()) out.push_back({std::string(example), source});
      } else if (!item.empty()) {
        if (!definition.empty()) definition += "; ";
        definition += item;
      }
    }
    if (!definition.empty() && !lemmas.empty()) out.push_back({lemmas + ": " + definition, source});
  }
  return out;
}

namespace {

// Elements that end a run of text: what the reader turns into separate segments.
bool is_block_tag(std::string_view tag) {
  static const char* const kBlock[] = {"p", "div", "li", "ul", "ol", "td", "th", "tr", "table", "h1", "h2", "h3",
                                       "h4", "h5", "h6", "dt", "dd", "dl", "br", "hr", "title", "pre", "blockquote",
                                       "section", "header", "footer", "nav", "aside", "caption", "body", "html",
                                       "article", "main", "figure", "figcaption", "form", "button", "label", "input"};
  for (const char* b : kBlock)
    if (tag == b) return true;
  return false;
}

// Elements whose content is not prose.
bool is_skipped_tag(std::string_view tag) {
  return tag == "script" || tag == "style" || tag == "head" || tag == "noscript" || tag == "svg";
}

// Decodes the entity at text[pos] ('&'); returns its length, 0 if it is not one.
size_t decode_entity(std::string_view text, size_t pos, std::string& out) {
  // The longest entity read here is "&#x10FFFF;" (10 bytes).
  size_t semi = text.substr(pos, 11).find(';');
  if (semi == std::string_view::npos) return 0;
  semi += pos;
  std::string_view body = text.substr(pos + 1, semi - pos - 1);
  if (!body.empty() && body[0] == '#') {
    uint32_t cp = 0;
    bool hex = body.size() > 1 && (body[1] == 'x' || body[1] == 'X');
    std::string_view digits = body.substr(hex ? 2 : 1);
    if (digits.empty()) return 0;
    for (char c : digits) {
      int d = c >= '0' && c <= '9' ? c - '0' : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10 : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (d < 0) return 0;
      cp = cp * (hex ? 16 : 10) + uint32_t(d);
      if (cp > 0x10FFFF) return 0;
    }
    if (cp == 0 || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    utf8_append(out, cp == 0xA0 ? uint32_t(' ') : cp);
    return semi - pos + 1;
  }
  static const struct {
    const char* name;
    uint32_t cp;
  } kNamed[] = {{"amp", '&'},     {"lt", '<'},        {"gt", '>'},        {"quot", '"'},      {"apos", '\''},
                {"nbsp", ' '},    {"mdash", 0x2014},  {"ndash", 0x2013},  {"hellip", 0x2026}, {"rsquo", 0x2019},
                {"lsquo", 0x2018}, {"rdquo", 0x201D}, {"ldquo", 0x201C},  {"laquo", 0xAB},    {"raquo", 0xBB},
                {"middot", 0xB7}, {"bull", 0x2022},   {"copy", 0xA9},     {"reg", 0xAE},      {"trade", 0x2122}};
  for (const auto& e : kNamed)
    if (body == e.name) {
      utf8_append(out, e.cp);
      return semi - pos + 1;
    }
  return 0;
}

}  // namespace

std::vector<Segment> read_html_segments(std::string_view text, const std::string& source) {
  std::vector<Segment> out;
  std::string current;
  auto flush = [&] {
    if (current.find_first_not_of(" \t\r\n") != std::string::npos) out.push_back({current, source});
    current.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    char c = text[pos];
    if (c == '&') {
      size_t used = decode_entity(text, pos, current);
      if (used) {
        pos += used;
      } else {
        current += c;
        ++pos;
      }
      continue;
    }
    if (c != '<') {
      current += c;
      ++pos;
      continue;
    }
    if (text.compare(pos, 4, "<!--") == 0) {
      size_t close = text.find("-->", pos + 4);
      pos = close == std::string_view::npos ? text.size() : close + 3;
      continue;
    }
    const bool closing = pos + 1 < text.size() && text[pos + 1] == '/';
    size_t name_start = pos + (closing ? 2 : 1);
    if (name_start >= text.size() || !(is_ascii_alpha(text[name_start]) || text[name_start] == '!' || text[name_start] == '?')) {
      current += c;  // a '<' in text
      ++pos;
      continue;
    }
    size_t name_end = name_start;
    while (name_end < text.size() && (is_ascii_alpha(text[name_end]) || (text[name_end] >= '0' && text[name_end] <= '9')))
      ++name_end;
    std::string tag;
    for (size_t i = name_start; i < name_end; ++i) tag += ascii_lower(text[i]);
    size_t tag_end = text.find('>', name_end);
    if (tag_end == std::string_view::npos) break;  // a tag cut off at the end of the file
    pos = tag_end + 1;
    if (is_block_tag(tag)) flush();
    if (!closing && is_skipped_tag(tag) && text[tag_end - 1] != '/') {
      // Skip to the matching closing tag (these elements do not nest in practice).
      size_t p = pos;
      for (;;) {
        size_t lt = text.find("</", p);
        if (lt == std::string_view::npos) {
          pos = text.size();
          break;
        }
        if (starts_with_ci(text, lt + 2, tag)) {
          size_t gt = text.find('>', lt);
          pos = gt == std::string_view::npos ? text.size() : gt + 1;
          break;
        }
        p = lt + 2;
      }
    }
  }
  flush();
  return out;
}

std::vector<Segment> read_text_segments(std::string_view text, const std::string& source) {
  std::vector<Segment> out;
  std::string paragraph;
  for (size_t pos = 0; pos <= text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) {
      if (!paragraph.empty()) out.push_back({paragraph, source});
      paragraph.clear();
    } else {
      if (!paragraph.empty()) paragraph += ' ';
      paragraph += line;
    }
    if (end == text.size()) break;
  }
  if (!paragraph.empty()) out.push_back({paragraph, source});
  return out;
}

}  // namespace edgelm::data

namespace edgelm::data {

namespace {

struct CorpusFormat {
  const char* name;
  std::vector<Segment> (*read)(const CorpusInput& input, std::string_view bytes);
};

const CorpusFormat kCorpusFormats[] = {
    {"mo", [](const CorpusInput& in, std::string_view b) { return read_mo_segments(b, in.path, in.source); }},
    {"wordnet", [](const CorpusInput& in, std::string_view b) { return read_wordnet_segments(b, in.path, in.source); }},
    {"html", [](const CorpusInput& in, std::string_view b) { return read_html_segments(b, in.source); }},
    {"text", [](const CorpusInput& in, std::string_view b) { return read_text_segments(b, in.source); }},
};

const CorpusFormat* find_format(std::string_view name) {
  for (const auto& f : kCorpusFormats)
    if (name == f.name) return &f;
  return nullptr;
}

}  // namespace

std::vector<std::string> corpus_formats() {
  std::vector<std::string> names;
  for (const auto& f : kCorpusFormats) names.push_back(f.name);
  return names;
}

std::vector<CorpusInput> parse_corpus_inputs(std::string_view text, const std::string& name) {
  std::vector<CorpusInput> out;
  int64_t line_no = 0;
  for (size_t pos = 0; pos < text.size();) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    size_t t1 = line.find('\t'), t2 = t1 == std::string_view::npos ? t1 : line.find('\t', t1 + 1);
    if (t2 == std::string_view::npos || line.find('\t', t2 + 1) != std::string_view::npos)
      fail(name, " line ", line_no, ": expected three tab-separated fields: format, source, path");
    CorpusInput in{std::string(line.substr(0, t1)), std::string(line.substr(t1 + 1, t2 - t1 - 1)),
                   std::string(line.substr(t2 + 1))};
    if (!find_format(in.format)) {
      std::string known;
      for (const auto& f : corpus_formats()) known += (known.empty() ? "" : ", ") + f;
      fail(name, " line ", line_no, ": unknown format '", in.format, "' (known: ", known, ")");
    }
    if (in.source.empty() || in.path.empty()) fail(name, " line ", line_no, ": empty source or path");
    out.push_back(std::move(in));
  }
  std::sort(out.begin(), out.end(), [](const CorpusInput& a, const CorpusInput& b) {
    return std::tie(a.source, a.path, a.format) < std::tie(b.source, b.path, b.format);
  });
  return out;
}

std::vector<Segment> read_corpus_input(const CorpusInput& input, std::string_view bytes) {
  const CorpusFormat* f = find_format(input.format);
  if (!f) fail(input.path, ": unknown corpus format '", input.format, "'");
  return f->read(input, bytes);
}

}  // namespace edgelm::data
