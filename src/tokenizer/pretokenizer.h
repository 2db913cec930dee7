#pragma once
// Pre-tokenizers: split text into the pieces BPE merges within, as the split
// regexes of llama.cpp / Hugging Face do, but hand-written over the Unicode
// category table (no std::regex: it is slow and its \p{..} support is absent).
//
// A pre-tokenizer is a list of passes; each pass splits every piece of the
// previous one by one pattern, keeping both the matches and the text between
// them (as llama.cpp's unicode_regex_split does). Invalid UTF-8 bytes count as
// code points of no category, so they fall in [^\s\p{L}\p{N}] and still split.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace edgelm {

enum class PreTokenizerKind {
  DEFAULT,         // llama.cpp's default for BPE vocabularies without tokenizer.ggml.pre
  GPT2,            // 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  LLAMA3,          // Llama 3: case-insensitive contractions, \p{N}{1,3}, newline handling
  QWEN2,           // as LLAMA3 with single digits
  STARCODER,       // single digits, then GPT-2 (also smollm, refact, command-r, ...)
  DEEPSEEK_CODER,  // [\r\n], \s?\p{L}+, \s?\p{P}+, CJK/Hangul runs, single digits
  FALCON,          // punctuation runs, GPT-2, then digit triples
};

struct PreTokenPiece {
  uint32_t offset, length;  // in bytes
};

class PreTokenizer {
 public:
  // Knows llama.cpp's tokenizer.ggml.pre names; nullopt for an unknown one.
  static std::optional<PreTokenizer> from_name(std::string_view name);
  explicit PreTokenizer(PreTokenizerKind kind = PreTokenizerKind::GPT2, std::string name = "gpt-2");

  // Appends the pieces of `text` (covering all of it, in order) to `pieces`.
  void split(std::string_view text, std::vector<PreTokenPiece>& pieces) const;
  std::vector<std::string> split(std::string_view text) const;  // convenience for tests

  PreTokenizerKind kind() const { return kind_; }
  const std::string& name() const { return name_; }
  // Llama 3 looks a whole piece up in the vocabulary before merging it.
  bool ignore_merges() const { return ignore_merges_; }
  static std::vector<std::string> known_names();

 private:
  PreTokenizerKind kind_;
  std::string name_;
  bool ignore_merges_ = false;
};

}  // namespace edgelm
