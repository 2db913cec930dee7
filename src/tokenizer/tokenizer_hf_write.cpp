// Writes a Tokenizer as a Hugging Face tokenizer.json, in the shapes that
// from_hf_json (tokenizer_io.cpp) recognises, so that the two round-trip.
#include <nlohmann/json.hpp>

#include "platform/error.h"
#include "tokenizer/tokenizer_data.h"

namespace edgelm {

namespace {

// The split patterns of the pre-tokenizers (see pretokenizer.h), in the
// regex syntax of Hugging Face's tokenizers library.
constexpr const char* kLlama3Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
constexpr const char* kQwen2Pattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

nlohmann::ordered_json byte_level(bool use_regex) {
  return {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", use_regex}};
}

nlohmann::ordered_json pre_tokenizer_json(const PreTokenizer& pre) {
  auto split = [](const char* pattern) {
    return nlohmann::ordered_json{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}};
  };
  auto sequence = [](nlohmann::ordered_json first, nlohmann::ordered_json second) {
    return nlohmann::ordered_json{{"type", "Sequence"}, {"pretokenizers", {std::move(first), std::move(second)}}};
  };
  switch (pre.kind()) {
    case PreTokenizerKind::GPT2: return byte_level(true);
    case PreTokenizerKind::LLAMA3: return sequence(split(kLlama3Pattern), byte_level(false));
    case PreTokenizerKind::QWEN2: return sequence(split(kQwen2Pattern), byte_level(false));
    case PreTokenizerKind::STARCODER:
      return sequence({{"type", "Digits"}, {"individual_digits", true}}, byte_level(true));
    default:
      fail("tokenizer.json: the pre-tokenizer '", pre.name(),
           "' cannot be written (supported: gpt-2, llama3 / llama-bpe, qwen2, starcoder / smollm)");
  }
}

}  // namespace

std::string Tokenizer::to_hf_json() const {
  const TokenizerData& d = *data_;
  if (d.model != "gpt2")
    fail("tokenizer.json: edgelm writes byte-level BPE vocabularies only; this one is '", d.model,
         "' (SentencePiece), which stays in GGUF");
  nlohmann::ordered_json vocab = nlohmann::ordered_json::object();
  nlohmann::ordered_json added = nlohmann::ordered_json::array();
  for (int32_t i = 0; i < n_vocab(); ++i) {
    const std::string text = token_text(i);
    if (vocab.contains(text)) fail("tokenizer.json: two tokens share the text '", text, "' (ids ", vocab[text].get<int32_t>(), " and ", i, ")");
    vocab[text] = i;
    if (is_special(i))
      added.push_back({{"id", i}, {"content", text}, {"single_word", false}, {"lstrip", false}, {"rstrip", false},
                       {"normalized", false}, {"special", d.token_types[size_t(i)] == TokenType::CONTROL}});
  }
  nlohmann::ordered_json merges = nlohmann::ordered_json::array();
  for (const auto& m : d.merges) merges.push_back(token_text(m.left) + " " + token_text(m.right));
  nlohmann::ordered_json j;
  j["version"] = "1.0";
  j["truncation"] = nullptr;
  j["padding"] = nullptr;
  j["added_tokens"] = std::move(added);
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = pre_tokenizer_json(d.pre);
  j["post_processor"] = nullptr;
  j["decoder"] = byte_level(true);
  j["model"] = {{"type", "BPE"},          {"dropout", nullptr},     {"unk_token", nullptr},
                {"continuing_subword_prefix", nullptr}, {"end_of_word_suffix", nullptr},
                {"fuse_unk", false},      {"byte_fallback", false}, {"ignore_merges", d.pre.ignore_merges()},
                {"vocab", std::move(vocab)}, {"merges", std::move(merges)}};
  return j.dump(1) + "\n";
}

}  // namespace edgelm
