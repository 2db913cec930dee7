#pragma once
// The general pretraining corpus: text segments read from what Debian's
// packages carry (message catalogues, WordNet, HTML documentation, plain
// text), cleaned, filtered, deduplicated and balanced between languages.
//
// Everything here is a pure function of its inputs, in a fixed order, so the
// same inputs give the same corpus byte for byte (scripts/build-corpus runs it;
// docs/PRETRAINING.md describes the whole stage).
//
//   read_*_segments   one source format each -> Segments (corpus_sources.cpp)
//   clean_segment     whitespace, accelerator marks (_File, 파일(_F))
//   segment_problem   why a segment is dropped ("" keeps it): length, charset,
//                     script, format strings, boilerplate, symbols
//   dedup_key         the normalised form two near-identical segments share
//   build_corpus      all of it: clean, filter, dedup (exact and normalised),
//                     label the language, balance, order
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgelm::data {

struct Segment {
  std::string text;
  std::string source;  // the package (or other origin) it came from, for the manifest
};

// ---- Readers (corpus_sources.cpp). Each takes the file's bytes and never
// reads past them; a malformed file is an Error naming `name`.

// A GNU gettext .mo catalogue: every message's original (msgid, the first
// form of a plural) and its translation (msgstr), header and context left out.
std::vector<Segment> read_mo_segments(std::string_view bytes, const std::string& name, const std::string& source);
// A WordNet 3.0 data.* file: per synset "lemma, lemma: gloss" and each quoted
// example sentence. The licence header (lines starting with spaces) is skipped.
std::vector<Segment> read_wordnet_segments(std::string_view text, const std::string& name, const std::string& source);
// An HTML (or XHTML) page: the text of each block element (p, li, td, h1...),
// tags dropped, entities decoded; script, style and head skipped.
std::vector<Segment> read_html_segments(std::string_view text, const std::string& source);
// Plain text: paragraphs separated by blank lines, each joined into one line.
std::vector<Segment> read_text_segments(std::string_view text, const std::string& source);

// One input file of the corpus: its format (a key of corpus_formats()), the
// source it is counted under, its path.
struct CorpusInput {
  std::string format, source, path;
};
// The formats the readers above handle: "mo", "wordnet", "html", "text".
std::vector<std::string> corpus_formats();
// The input list: one "format<TAB>source<TAB>path" per line ('#' starts a
// comment), returned sorted by (source, path, format) so that the corpus does
// not depend on the order the list was written in. Error on a malformed line
// or an unknown format, naming `name` and the line.
std::vector<CorpusInput> parse_corpus_inputs(std::string_view text, const std::string& name);
// The file's segments, by its format's reader.
std::vector<Segment> read_corpus_input(const CorpusInput& input, std::string_view bytes);

// ---- Filtering and dedup.

struct CorpusOptions {
  std::vector<std::string> languages = {"en", "ko"};  // codes from the language table (domain/language.h)
  int64_t min_chars = 16, max_chars = 600;  // code points; longer segments are split at sentence ends first
  int64_t min_words = 3;
  double min_letter_share = 0.6;  // letters among the non-space characters
  double min_script_share = 0.6;  // the language's own script among the letters' bytes
  // Balance: every language gets as many bytes as the smallest one has
  // (capped by max_bytes_per_language when > 0), and no source more than
  // max_source_share of its language's bytes while others have text left.
  int64_t max_bytes_per_language = 0;
  double max_source_share = 0.5;
};

// Collapses whitespace (newlines and tabs included) to single spaces, trims,
// and removes keyboard-accelerator marks: "_File" -> "File", "파일(_F)" -> "파일".
std::string clean_segment(std::string_view text);
// Splits a long segment at sentence ends ('.', '?', '!' followed by a space)
// into pieces of at most max_chars code points; a piece with no sentence end
// that is still too long is left whole (the length filter drops it).
std::vector<std::string> split_long_segment(const std::string& text, int64_t max_chars);
// Why `text` (already cleaned) is not corpus text, or "" when it is. The
// reasons are fixed words, counted in the manifest: "invalid_utf8", "control",
// "too_short", "too_long", "few_words", "format_string", "markup",
// "boilerplate", "symbols", "script".
std::string segment_problem(std::string_view text, const CorpusOptions& options);
// The key near-duplicates share: letters lower-cased, digits as '0', every
// other character dropped ("Open the file." and "open the file" agree).
std::string dedup_key(std::string_view text);
// FNV-1a 64 of `bytes`, the corpus's stable order and fingerprint.
uint64_t corpus_hash(std::string_view bytes);

struct CorpusEntry {
  std::string text, language, source;
};

struct CorpusSourceStats {
  int64_t segments = 0, kept = 0, bytes_kept = 0;
  std::map<std::string, int64_t> dropped;  // reason -> count ("duplicate", "near_duplicate", "balance" too)
};

struct Corpus {
  std::vector<CorpusEntry> entries;  // in hash order (languages and sources interleaved)
  std::map<std::string, CorpusSourceStats> by_source;
  std::map<std::string, int64_t> bytes_by_language, segments_by_language, candidate_bytes_by_language;
};

// Cleans, splits, filters and deduplicates `segments` (the first occurrence
// of a text wins, so the caller passes them in a fixed order), labels each
// with its language, and balances the languages. Deterministic.
Corpus build_corpus(const std::vector<Segment>& segments, const CorpusOptions& options);

// The corpus as JSONL, one {"text","lang","source"} per line.
std::string corpus_jsonl(const Corpus& corpus);
// Sizes and counts for the manifest: per language and per source.
nlohmann::json corpus_summary(const Corpus& corpus, const CorpusOptions& options);

}  // namespace edgelm::data
