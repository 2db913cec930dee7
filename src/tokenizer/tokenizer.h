#pragma once
// Byte-level BPE tokenizer (the GPT-2 / Llama-3 / SmolLM2 / Qwen2 family), as
// llama.cpp's "gpt2" vocabulary model.
//
// Every token stands for a byte string. Token strings in files use GPT-2's
// byte-to-unicode mapping (each byte is one printable code point), so that
// vocabularies written here are read by llama.cpp and Hugging Face unchanged.
// Text is split into pre-tokens by a regex-like matcher chosen by
// `tokenizer.ggml.pre`; each pre-token is mapped to the 256 byte tokens and
// merged by rank. Any byte string encodes and decodes losslessly.
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "platform/gguf.h"

namespace edgelm {

// llama.cpp's llama_token_type values, as stored in tokenizer.ggml.token_type.
enum class TokenType : int32_t {
  UNDEFINED = 0, NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6,
};

struct TokenizerData;  // the vocabulary, merges and lookup tables (tokenizer_data.h)

// Whether the metadata holds a tokenizer: a tokenizer.ggml.model that does
// not mean "no vocabulary" (gguf_means_no_vocabulary, platform/gguf.h).
bool gguf_has_tokenizer(const GgufMetadata& meta);

class Tokenizer {
 public:
  Tokenizer();
  ~Tokenizer();
  Tokenizer(const Tokenizer&);
  Tokenizer& operator=(const Tokenizer&);
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;

  // Reads the tokenizer.ggml.* keys; Error if they are absent or malformed.
  static Tokenizer from_gguf(const GgufFile& f);
  static Tokenizer from_gguf_metadata(const GgufMetadata& meta, const std::string& name = "GGUF file");
  // A Hugging Face tokenizer.json of the byte-level BPE kind.
  static Tokenizer from_hf_json(const std::string& path);
  static Tokenizer from_hf_json_text(std::string_view json_text, const std::string& name = "tokenizer.json");

  // tokenizer.ggml.model="gpt2", pre, tokens, token_type, merges, bos/eos ids.
  void write_to(GgufMetadata& meta) const;
  // A Hugging Face tokenizer.json that from_hf_json reads back to the same
  // tokenizer. Byte-level BPE with the gpt-2, Llama 3, Qwen2 or StarCoder/SmolLM
  // pre-tokenizers; Error for a SentencePiece vocabulary or another pre-tokenizer.
  std::string to_hf_json() const;
  // A vocabulary-only GGUF file (as llama.cpp's ggml-vocab-*.gguf).
  void save_gguf(const std::string& path) const;

  // parse_special: the text of a special (control / user-defined) token in
  // `text` becomes its id; otherwise it is encoded as ordinary text.
  std::vector<int32_t> encode(std::string_view text, bool parse_special = false) const;
  std::string decode(std::span<const int32_t> ids) const;  // raw bytes, lossless; Error on an id out of range
  const std::string& token_bytes(int32_t id) const;        // the exact bytes (special tokens: their text)
  std::string token_text(int32_t id) const;                // as stored in files (byte-to-unicode mapped)
  int32_t n_vocab() const;
  std::optional<int32_t> special_id(std::string_view text) const;
  bool is_special(int32_t id) const;
  TokenType token_type(int32_t id) const;
  int32_t eos_id() const;  // end of turn / end of text; -1 if none
  int32_t bos_id() const;  // -1 if none
  int32_t pad_id() const;  // -1 if none
  void set_eos_id(int32_t id);
  void set_bos_id(int32_t id);
  void set_pad_id(int32_t id);
  int32_t n_merges() const;
  const std::string& model() const;  // tokenizer.ggml.model: "gpt2" (byte-level BPE) or "llama" (SentencePiece)
  const std::string& pre() const;  // the pre-tokenizer name ("gpt-2", "llama3", "qwen2", ...)
  // Id of the token whose bytes are exactly `bytes`, if any.
  std::optional<int32_t> token_id(std::string_view bytes) const;

  const TokenizerData& data() const { return *data_; }

 private:
  explicit Tokenizer(std::shared_ptr<TokenizerData> data);
  std::shared_ptr<TokenizerData> data_;
  friend Tokenizer make_tokenizer(std::shared_ptr<TokenizerData> data);
};

struct TrainOptions {
  std::string pre = "gpt-2";   // pre-tokenizer used to split the training text
  bool show_progress = false;  // a progress bar on stderr
  int64_t min_frequency = 2;   // a pair must occur at least this often to be merged
};

// Deterministic: `special_tokens` are reserved first (ids 0..k-1), then the
// 256 byte tokens, then one token per merge until `vocab_size`.
// The last special token that looks like an end marker ("<|end|>",
// "<|endoftext|>", "</s>", "<|im_end|>", "<|eot_id|>") becomes eos.
Tokenizer train_bpe(const std::vector<std::string>& texts, int32_t vocab_size,
                    const std::vector<std::string>& special_tokens, const TrainOptions& options = {});

// A tokenizer file by its name: *.json is a Hugging Face tokenizer.json,
// anything else a GGUF file (a model or a vocabulary-only file).
Tokenizer load_tokenizer(const std::string& path);

// Training text from files: plain text (one text per file), or JSONL (*.jsonl
// or any file whose lines all start with '{'), taking from each line the
// string(s) under `jsonl_field`; without a field: "text", else every
// message's "content" (chat data), else every string in the line.
std::vector<std::string> read_training_texts(const std::vector<std::string>& files, const std::string& jsonl_field = "");

// Turns ids into text as they arrive without ever emitting part of a UTF-8
// character: bytes of an incomplete character are held until it completes
// (or until it can no longer complete, when they are emitted as they are).
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer);
  std::string push(int32_t id);
  std::string flush();  // whatever is held back (possibly invalid UTF-8)

 private:
  const Tokenizer* tokenizer_;
  std::string pending_;
};

}  // namespace edgelm
