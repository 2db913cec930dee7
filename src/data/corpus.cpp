// Cleaning, filtering, dedup and balance of the pretraining corpus (corpus.h).
#include "data/corpus.h"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include "domain/language.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::data {

namespace {

bool is_ascii_alpha(uint32_t c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool is_ascii_alnum(uint32_t c) { return is_ascii_alpha(c) || (c >= '0' && c <= '9'); }
bool is_space(uint32_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == 0xA0 || c == 0x3000; }

// Letters as the filters see them: a script edgelm knows (kScripts), or
// another alphabet or ideographic block (which the script filter counts as
// foreign). Approximate by block, which is all a share needs.
enum class LetterKind { None, Known, Foreign };
LetterKind letter_kind(uint32_t cp, Script& script) {
  if (is_ascii_alpha(cp) || (cp >= 0xC0 && cp <= 0x24F && cp != 0xD7 && cp != 0xF7)) {
    script = Script::Latin;
    return LetterKind::Known;
  }
  if (is_hangul(cp)) {
    script = Script::Hangul;
    return LetterKind::Known;
  }
  if ((cp >= 0x370 && cp <= 0x52F) || (cp >= 0x590 && cp <= 0x6FF) || (cp >= 0x900 && cp <= 0xDFF) ||
      (cp >= 0xE00 && cp <= 0xEFF) || (cp >= 0x3040 && cp <= 0x30FF) || (cp >= 0x3400 && cp <= 0x9FFF) ||
      (cp >= 0xF900 && cp <= 0xFAFF))
    return LetterKind::Foreign;
  return LetterKind::None;
}

bool contains_any(const std::string& lower, std::initializer_list<const char*> words) {
  for (const char* w : words)
    if (lower.find(w) != std::string::npos) return true;
  return false;
}

// printf-style conversions (%s, %-5d, %1$s, %lu, %(name)s), .NET/Python
// placeholders ({0}, {name}), shell variables (${x}, $1), escapes (\n).
bool has_format_string(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    char c = s[i];
    if (c == '%') {
      size_t j = i + 1;
      if (s[j] == '(') return true;
      while (j < s.size() && ((s[j] >= '0' && s[j] <= '9') || s[j] == '$' || s[j] == '-' || s[j] == '+' || s[j] == '#' ||
                              s[j] == '.' || s[j] == '*'))
        ++j;
      while (j < s.size() && (s[j] == 'l' || s[j] == 'h' || s[j] == 'z' || s[j] == 'j' || s[j] == 't' || s[j] == 'L' ||
                              s[j] == 'q' || s[j] == 'I'))
        ++j;
      if (j < s.size() && std::string_view("sdiuxXfFeEgGcpoaSnm").find(s[j]) != std::string_view::npos) {
        // "%s" but not "50% of" (handled: a space stops it) nor "100%" at the end.
        return true;
      }
    } else if (c == '{') {
      size_t close = s.find('}', i);
      if (close != std::string_view::npos && close - i <= 20) {
        bool word = close > i + 1;
        for (size_t k = i + 1; k < close; ++k)
          if (!is_ascii_alnum(uint8_t(s[k])) && s[k] != '_' && s[k] != ':') word = false;
        if (word) return true;
      }
    } else if (c == '$' && (s[i + 1] == '{' || s[i + 1] == '(' || (s[i + 1] >= '0' && s[i + 1] <= '9') || is_ascii_alpha(uint8_t(s[i + 1])))) {
      return true;
    } else if (c == '\\' && is_ascii_alpha(uint8_t(s[i + 1]))) {
      return true;
    }
  }
  return false;
}

// Code and command-line text: identifiers with '_' inside, '::', '->',
// '()', '==', options (--all, -v), paths.
bool looks_like_code(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i) {
    char c = s[i], d = s[i + 1];
    if (c == '_' && i > 0 && is_ascii_alnum(uint8_t(s[i - 1])) && is_ascii_alnum(uint8_t(d))) return true;
    if ((c == ':' && d == ':') || (c == '-' && d == '>') || (c == '(' && d == ')') || (c == '=' && d == '=')) return true;
    const bool word_start = i == 0 || s[i - 1] == ' ';
    if (c == '-' && d == '-' && word_start && i + 2 < s.size() && is_ascii_alpha(uint8_t(s[i + 2]))) return true;
    if (c == '-' && word_start && is_ascii_alpha(uint8_t(d)) && (i + 2 >= s.size() || s[i + 2] == ' ' || s[i + 2] == ','))
      return true;
    if (c == '/' && (d == '/' || is_ascii_alpha(uint8_t(d))) && i > 0 && (s[i - 1] == ' ' || s[i - 1] == '~')) return true;
  }
  return false;
}

bool has_markup(std::string_view s) {
  for (size_t i = 0; i + 1 < s.size(); ++i)
    if (s[i] == '<' && (is_ascii_alpha(uint8_t(s[i + 1])) || s[i + 1] == '/') && s.find('>', i) != std::string_view::npos)
      return true;
  return false;
}

bool is_boilerplate(std::string_view s) {
  std::string lower = ascii_lower(s);
  if (contains_any(lower, {"license", "licence", "copyright", "warranty", "free software foundation", "general public",
                           "all rights reserved", "http://", "https://", "www.", "ftp://", "라이선스", "라이센스",
                           "저작권", "사용 허가서", "(c)"}))
    return true;
  // An e-mail address: name@host.tld.
  for (size_t at = lower.find('@'); at != std::string::npos; at = lower.find('@', at + 1))
    if (at > 0 && is_ascii_alnum(uint8_t(lower[at - 1])) && lower.find('.', at) != std::string::npos) return true;
  return false;
}

size_t utf8_width(uint32_t cp) { return cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4; }

// The language of the listed ones whose script holds the most letter bytes
// (bytes, not letters: a Hangul syllable says about as much as three Latin
// letters, and Korean prose quotes Latin names), and that script's share.
struct ScriptShares {
  std::string language;
  double own_share = 0, foreign_share = 0;
  int64_t letters = 0;
};
ScriptShares script_shares(std::string_view text, const std::vector<std::string>& languages) {
  int64_t by_script[std::size(kScripts)] = {};
  int64_t foreign = 0, total = 0, letters = 0;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = utf8_next_lenient(text, i);
    Script script = Script::Latin;
    LetterKind kind = letter_kind(cp, script);
    if (kind == LetterKind::None) continue;
    ++letters;
    int64_t w = int64_t(utf8_width(cp));
    total += w;
    if (kind == LetterKind::Foreign) foreign += w;
    else by_script[size_t(script)] += w;
  }
  ScriptShares s;
  s.letters = letters;
  if (total == 0) return s;
  int64_t best = -1;
  for (const auto& code : languages) {
    int64_t n = by_script[size_t(language_info(code).script)];
    if (n > best) best = n, s.language = code;
  }
  s.own_share = double(best) / double(total);
  s.foreign_share = double(foreign) / double(total);
  return s;
}

}  // namespace

uint64_t corpus_hash(std::string_view bytes) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string clean_segment(std::string_view text) {
  // Whitespace first (a lenient decode: invalid bytes pass through for the filter to see).
  std::string spaced;
  bool pending_space = false;
  for (size_t i = 0; i < text.size();) {
    size_t start = i;
    uint32_t cp = utf8_next_lenient(text, i);
    if (is_space(cp)) {
      pending_space = !spaced.empty();
      continue;
    }
    if (pending_space) spaced += ' ';
    pending_space = false;
    spaced.append(text.substr(start, i - start));
  }
  // Accelerators: "(_F)" / "(&F)" after a label, and '_' / '&' starting a word.
  std::string out;
  for (size_t i = 0; i < spaced.size(); ++i) {
    char c = spaced[i];
    if (c == '(' && i + 3 < spaced.size() && (spaced[i + 1] == '_' || spaced[i + 1] == '&') &&
        is_ascii_alnum(uint8_t(spaced[i + 2])) && spaced[i + 3] == ')') {
      i += 3;
      continue;
    }
    bool word_start = i == 0 || spaced[i - 1] == ' ' || spaced[i - 1] == '"' || spaced[i - 1] == '(';
    if ((c == '_' || c == '&') && word_start && i + 1 < spaced.size() &&
        (is_ascii_alpha(uint8_t(spaced[i + 1])) || uint8_t(spaced[i + 1]) >= 0x80))
      continue;
    out += c;
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

std::vector<std::string> split_long_segment(const std::string& text, int64_t max_chars) {
  if (utf8_length(text) <= max_chars) return {text};
  // Sentences: up to and including ". ", "? ", "! ".
  std::vector<std::string> sentences;
  size_t start = 0;
  for (size_t i = 0; i + 1 < text.size(); ++i)
    if ((text[i] == '.' || text[i] == '?' || text[i] == '!') && text[i + 1] == ' ') {
      sentences.push_back(text.substr(start, i + 1 - start));
      start = i + 2;
    }
  if (start < text.size()) sentences.push_back(text.substr(start));
  std::vector<std::string> out;
  std::string piece;
  int64_t piece_chars = 0;
  for (const auto& s : sentences) {
    const int64_t chars = utf8_length(s);
    if (!piece.empty() && piece_chars + 1 + chars > max_chars) {
      out.push_back(piece);
      piece.clear();
      piece_chars = 0;
    }
    if (!piece.empty()) piece += ' ', ++piece_chars;
    piece += s;
    piece_chars += chars;
  }
  if (!piece.empty()) out.push_back(piece);
  return out;
}

std::string segment_problem(std::string_view text, const CorpusOptions& o) {
  if (!utf8_problem(text).empty()) return "invalid_utf8";
  int64_t chars = 0, non_space = 0, letters_or_digits = 0, words = text.empty() ? 0 : 1;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = utf8_next_lenient(text, i);
    ++chars;
    if (cp < 0x20 || (cp >= 0x7F && cp < 0xA0) || cp == 0xFFFD) return "control";
    if (cp == ' ') {
      ++words;
      continue;
    }
    ++non_space;
    Script script;
    if (letter_kind(cp, script) != LetterKind::None || (cp >= '0' && cp <= '9')) ++letters_or_digits;
  }
  if (chars < o.min_chars) return "too_short";
  if (chars > o.max_chars) return "too_long";
  if (words < o.min_words) return "few_words";
  if (has_format_string(text)) return "format_string";
  if (has_markup(text)) return "markup";
  if (is_boilerplate(text)) return "boilerplate";
  if (looks_like_code(text)) return "code";
  if (double(letters_or_digits) < o.min_letter_share * double(non_space)) return "symbols";
  ScriptShares shares = script_shares(text, o.languages);
  if (shares.letters == 0 || shares.own_share < o.min_script_share || shares.foreign_share > 0.05) return "script";
  return "";
}

std::string dedup_key(std::string_view text) {
  std::string key;
  for (size_t i = 0; i < text.size();) {
    uint32_t cp = utf8_next_lenient(text, i);
    Script script;
    if (cp >= '0' && cp <= '9') key += '0';
    else if (cp >= 'A' && cp <= 'Z') key += char(cp - 'A' + 'a');
    else if (letter_kind(cp, script) != LetterKind::None) utf8_append(key, cp);
  }
  return key;
}

Corpus build_corpus(const std::vector<Segment>& segments, const CorpusOptions& o) {
  if (o.languages.empty()) fail("corpus: no languages given");
  for (const auto& code : o.languages) language_info(code);  // an unknown code is an Error naming the known ones
  Corpus corpus;
  struct Candidate {
    std::string text, source, language;
    uint64_t hash;
  };
  std::vector<Candidate> candidates;
  std::unordered_set<std::string> seen_texts, seen_keys;
  for (const Segment& raw : segments) {
    CorpusSourceStats& stats = corpus.by_source[raw.source];
    std::string cleaned = clean_segment(raw.text);
    for (std::string& text : split_long_segment(cleaned, o.max_chars)) {
      ++stats.segments;
      std::string problem = segment_problem(text, o);
      if (problem.empty()) {
        if (!seen_texts.insert(text).second) problem = "duplicate";
        else if (!seen_keys.insert(dedup_key(text)).second) problem = "near_duplicate";
      }
      if (!problem.empty()) {
        ++stats.dropped[problem];
        continue;
      }
      std::string language = script_shares(text, o.languages).language;
      corpus.candidate_bytes_by_language[language] += int64_t(text.size());
      uint64_t hash = corpus_hash(text);
      candidates.push_back({std::move(text), raw.source, std::move(language), hash});
    }
  }
  for (const auto& code : o.languages) corpus.candidate_bytes_by_language.try_emplace(code, 0);

  // Balance: each language gets the smallest language's bytes; candidates are
  // taken in hash order (a fixed pseudo-random order that mixes the sources).
  int64_t budget = -1;
  for (const auto& [code, bytes] : corpus.candidate_bytes_by_language) budget = budget < 0 ? bytes : std::min(budget, bytes);
  if (o.max_bytes_per_language > 0) budget = std::min(budget, o.max_bytes_per_language);
  std::sort(candidates.begin(), candidates.end(),
            [](const Candidate& a, const Candidate& b) { return a.hash != b.hash ? a.hash < b.hash : a.text < b.text; });
  const int64_t source_cap = int64_t(o.max_source_share * double(budget));
  std::map<std::string, int64_t> language_bytes;
  std::map<std::pair<std::string, std::string>, int64_t> source_bytes;
  std::vector<char> taken(candidates.size(), 0);
  // First pass with the per-source cap; the second lets capped sources fill
  // what the others could not.
  for (int pass = 0; pass < 2; ++pass)
    for (size_t i = 0; i < candidates.size(); ++i) {
      if (taken[i]) continue;
      const Candidate& c = candidates[i];
      int64_t size = int64_t(c.text.size());
      if (language_bytes[c.language] + size > budget) continue;
      int64_t& from_source = source_bytes[{c.language, c.source}];
      if (pass == 0 && from_source + size > source_cap) continue;
      taken[i] = 1;
      language_bytes[c.language] += size;
      from_source += size;
    }
  for (size_t i = 0; i < candidates.size(); ++i) {
    Candidate& c = candidates[i];
    CorpusSourceStats& stats = corpus.by_source[c.source];
    if (!taken[i]) {
      ++stats.dropped["balance"];
      continue;
    }
    ++stats.kept;
    stats.bytes_kept += int64_t(c.text.size());
    corpus.bytes_by_language[c.language] += int64_t(c.text.size());
    ++corpus.segments_by_language[c.language];
    corpus.entries.push_back({std::move(c.text), c.language, c.source});
  }
  return corpus;
}

std::string corpus_jsonl(const Corpus& corpus) {
  std::string out;
  for (const auto& e : corpus.entries)
    out += nlohmann::json{{"text", e.text}, {"lang", e.language}, {"source", e.source}}.dump() + "\n";
  return out;
}

nlohmann::json corpus_summary(const Corpus& corpus, const CorpusOptions& o) {
  nlohmann::json sources = nlohmann::json::object();
  for (const auto& [name, s] : corpus.by_source)
    sources[name] = {{"segments", s.segments}, {"kept", s.kept}, {"bytes_kept", s.bytes_kept}, {"dropped", s.dropped}};
  int64_t bytes = 0;
  for (const auto& [code, n] : corpus.bytes_by_language) bytes += n;
  return {{"segments", corpus.entries.size()},
          {"bytes", bytes},
          {"bytes_by_language", corpus.bytes_by_language},
          {"segments_by_language", corpus.segments_by_language},
          {"candidate_bytes_by_language", corpus.candidate_bytes_by_language},
          {"options",
           {{"languages", o.languages}, {"min_chars", o.min_chars}, {"max_chars", o.max_chars}, {"min_words", o.min_words},
            {"min_letter_share", o.min_letter_share}, {"min_script_share", o.min_script_share},
            {"max_bytes_per_language", o.max_bytes_per_language}, {"max_source_share", o.max_source_share}}},
          {"sources", sources}};
}

}  // namespace edgelm::data
