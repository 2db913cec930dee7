// Known answers from a hand-written tokenizer.json, and clear errors for
// malformed tokenizer files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

const std::string kHandJson = std::string(EDGELM_TEST_DIR) + "/fixtures/tokenizer/hand.tokenizer.json";

using Ids = std::vector<int32_t>;

TEST(KnownAnswer, HandWrittenTokenizerJson) {
  Tokenizer t = Tokenizer::from_hf_json(kHandJson);
  EXPECT_EQ(t.n_vocab(), 16);
  EXPECT_EQ(t.n_merges(), 7);
  // "hello": h e l l o -> (h e, rank 0) he l l o -> (l l, 1) he ll o -> (he ll, 2) hell o -> (hell o, 3) hello.
  EXPECT_EQ(t.encode("hello"), (Ids{11}));
  // " world": Ġ w o r l d -> (Ġ w, 4) Ġw o r l d -> (o r, 5) Ġw or l d -> (Ġw or, 6) Ġwor l d.
  EXPECT_EQ(t.encode("hello world"), (Ids{11, 14, 2, 7}));
  EXPECT_EQ(t.encode("hell"), (Ids{10}));
  EXPECT_EQ(t.encode("he"), (Ids{8}));
  // No merge applies to (l o) or (o l).
  EXPECT_EQ(t.encode("lol"), (Ids{2, 3, 2}));
  EXPECT_EQ(t.encode("oh"), (Ids{3, 0}));
  // "wor" has no leading space: only (o r) applies.
  EXPECT_EQ(t.encode("wor"), (Ids{5, 13}));
  // Pre-tokenization keeps "hello" and " hello" apart: Ġ cannot merge with h.
  EXPECT_EQ(t.encode("hello hello"), (Ids{11, 4, 11}));
  // Special tokens only when asked; otherwise their text is ordinary text ('<' has no token here).
  EXPECT_EQ(t.encode("hello<|end|>", true), (Ids{11, 15}));
  EXPECT_THROW(t.encode("hello<|end|>", false), Error);
  EXPECT_EQ(t.special_id("<|end|>"), 15);
  EXPECT_TRUE(t.is_special(15));
  EXPECT_EQ(t.eos_id(), 15);
  EXPECT_EQ(t.decode(Ids{11, 14, 2, 7, 15}), "hello world<|end|>");
  EXPECT_EQ(t.token_bytes(4), " ");
  EXPECT_EQ(t.token_text(12), "Ġw");
}

TEST(KnownAnswer, SurvivesGgufRoundTrip) {
  Tokenizer t = Tokenizer::from_hf_json(kHandJson);
  GgufMetadata meta;
  t.write_to(meta);
  EXPECT_EQ(meta.at("tokenizer.ggml.model").as_string(), "gpt2");
  EXPECT_EQ(meta.at("tokenizer.ggml.pre").as_string(), "gpt-2");
  EXPECT_EQ(meta.at("tokenizer.ggml.merges").as_array().strings[6], "Ġw or");
  EXPECT_EQ(meta.at("tokenizer.ggml.token_type").as_array().ints[15], 3);
  Tokenizer u = Tokenizer::from_gguf_metadata(meta);
  EXPECT_EQ(u.encode("hello world"), (Ids{11, 14, 2, 7}));
  EXPECT_EQ(u.encode("hello<|end|>", true), (Ids{11, 15}));
  EXPECT_EQ(u.eos_id(), 15);
}

// The hand-written file with one edit, expecting an Error whose message contains `expect`.
void expect_json_error(const std::string& from, const std::string& to, const std::string& expect) {
  std::string text = read_file(kHandJson);
  size_t pos = text.find(from);
  ASSERT_NE(pos, std::string::npos) << from;
  text.replace(pos, from.size(), to);
  try {
    Tokenizer::from_hf_json_text(text, "bad.json");
    FAIL() << "no error for " << to;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.json"), std::string::npos) << e.what();
  }
}

std::string hand_json_with_pre(const std::string& pre_tokenizer) {
  std::string text = read_file(kHandJson);
  std::string from = "\"pre_tokenizer\": {\"type\": \"ByteLevel\", \"add_prefix_space\": false, \"trim_offsets\": true, \"use_regex\": true}";
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos);
  if (pos != std::string::npos) text.replace(pos, from.size(), "\"pre_tokenizer\": " + pre_tokenizer);
  return text;
}

TEST(KnownAnswer, RecognisesPreTokenizers) {
  // SmolLM2: individual digits, then the GPT-2 pattern.
  std::string smollm = R"({"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": true},
      {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true}]})";
  EXPECT_EQ(Tokenizer::from_hf_json_text(hand_json_with_pre(smollm)).pre(), "smollm");
  // Llama 3 / Qwen2.5: a Split with their pattern, then ByteLevel without regex.
  std::string llama3 = R"({"type": "Sequence", "pretokenizers": [{"type": "Split", "pattern": {"Regex":
      "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
      "behavior": "Isolated", "invert": false}, {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]})";
  // Llama 3 files set model.ignore_merges (llama.cpp: "llama-bpe"); without it the same
  // pattern is llama.cpp's "dbrx", which merges every word.
  EXPECT_EQ(Tokenizer::from_hf_json_text(hand_json_with_pre(llama3)).pre(), "dbrx");
  std::string with_ignore = hand_json_with_pre(llama3);
  with_ignore.replace(with_ignore.find("\"byte_fallback\""), 0, "\"ignore_merges\": true, ");
  EXPECT_EQ(Tokenizer::from_hf_json_text(with_ignore).pre(), "llama-bpe");
  std::string qwen2 = llama3;
  qwen2.replace(qwen2.find("{1,3}"), 5, "");
  EXPECT_EQ(Tokenizer::from_hf_json_text(hand_json_with_pre(qwen2)).pre(), "qwen2");
  EXPECT_THROW(Tokenizer::from_hf_json_text(hand_json_with_pre(R"({"type": "Whitespace"})")), Error);
}

TEST(MalformedTokenizerJson, GiveClearErrors) {
  expect_json_error("\"merges\": [", "\"merges_\": [", "model.merges is missing");
  expect_json_error("\"h e\"", "\"h x\"", "'x' is not a token");
  expect_json_error("\"h e\"", "\"l o\"", "merged token 'lo' is not in the vocabulary");
  expect_json_error("\"h e\"", "\"he\"", "not two tokens");
  expect_json_error("\"d\": 7", "\"d\": 6", "id 6 is given to two tokens");
  expect_json_error("\"d\": 7", "\"d\": 70", "no token has id 7");
  expect_json_error("\"vocab\": {", "\"vocab\": {{", "not valid JSON");
  expect_json_error("\"type\": \"BPE\"", "\"type\": \"WordPiece\"", "not supported");
  expect_json_error("\"d\": 7", "\"d\": \"7\"", "non-integer id");
  expect_json_error("{\"id\": 15", "{\"id\": 14", "id 14 is given to two tokens");
  EXPECT_THROW(Tokenizer::from_hf_json_text("", "empty.json"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json_text("[1,2]", "array.json"), Error);
  EXPECT_THROW(Tokenizer::from_hf_json("/nonexistent/tokenizer.json"), Error);
}

// Reproducers from fuzzing: values that are valid JSON but do not fit, and fields of the
// wrong type, used to escape as nlohmann::json exceptions instead of edgelm::Error.
TEST(MalformedTokenizerJson, ValuesThatDoNotFitAreErrors) {
  std::string huge_id = "1" + std::string(399, '0');  // past double's range: out_of_range.406 in the parser
  expect_json_error("{\"id\": 15", "{\"id\": " + huge_id, "a value cannot be read");
  expect_json_error("\"d\": 7", "\"d\": 1e999999", "a value cannot be read");
  // 300 digits still fit a double, so it is a number but not an integer id.
  expect_json_error("{\"id\": 15", "{\"id\": 1" + std::string(299, '0'), "lacks an integer \"id\"");
  // 2^64 - 1 parses as unsigned; it must not wrap to -1 (or to any id in range).
  expect_json_error("\"d\": 7", "\"d\": 18446744073709551615", "has id 18446744073709551615 outside");
  expect_json_error("{\"id\": 15", "{\"id\": 18446744073709551623", "lacks an integer \"id\"");
  expect_json_error("\"d\": 7", "\"d\": -7", "has id -7 outside");
  expect_json_error("\"special\": true", "\"special\": \"yes\"", "\"special\" is \"yes\", not true or false");
  expect_json_error("\"byte_fallback\"", "\"ignore_merges\": 1, \"byte_fallback\"", "model.ignore_merges is 1");
  expect_json_error("\"content\": \"<|end|>\"", "\"content\": 5", "lacks an integer \"id\" or a string \"content\"");
  expect_json_error("\"vocab\": {", "\"vocab\": [], \"v\": {", "model.vocab is missing or not an object");
  expect_json_error("\"added_tokens\": [", "\"added_tokens\": [7, ", "an added_tokens entry lacks");
  expect_json_error("[\"o\", \"r\"]", "[\"o\", 5]", "merge 5 is neither");
  // Deep nesting overflowed the stack in dump() when the pre-tokenizer was recognised.
  const int deep = 200'000;
  std::string nested = std::string(deep, '[') + std::string(deep, ']');
  expect_json_error("\"pre_tokenizer\": {", "\"pre_tokenizer\": {\"x\": " + nested + ",", "nested deeper than 64 levels");
}

// The JSONL training-text reader had the same holes: every bad line is an Error naming its line.
TEST(MalformedTrainingText, JsonLinesGiveClearErrors) {
  std::string path =
      (std::filesystem::temp_directory_path() / ("edgelm_bad_" + std::to_string(getpid()) + ".jsonl")).string();
  auto expect_error = [&](const std::string& second_line, const std::string& expect) {
    write_file_atomic(path, "{\"text\": \"fine\"}\n" + second_line + "\n");
    try {
      read_training_texts({path});
      FAIL() << "no error for " << second_line.substr(0, 80);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(path + " line 2: " + expect), std::string::npos) << e.what();
    }
  };
  expect_error("{\"text\": 1e999999}", "a value cannot be read");
  expect_error("{\"text\": " + std::string(100'000, '[') + std::string(100'000, ']') + "}",
               "JSON nested deeper than 64 levels");
  expect_error("{\"text\": ", "not valid JSON");
  std::filesystem::remove(path);
}

TEST(MalformedGguf, GiveClearErrors) {
  Tokenizer t = Tokenizer::from_hf_json(kHandJson);
  auto expect_error = [&](auto edit, const std::string& expect) {
    GgufMetadata meta;
    t.write_to(meta);
    edit(meta);
    try {
      Tokenizer::from_gguf_metadata(meta, "bad.gguf");
      FAIL() << "no error; expected " << expect;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(expect), std::string::npos) << e.what();
    }
  };
  expect_error([](GgufMetadata& m) { m.erase("tokenizer.ggml.merges"); }, "tokenizer.ggml.merges, which is missing");
  expect_error([](GgufMetadata& m) { m.erase("tokenizer.ggml.model"); }, "no tokenizer");
  expect_error([](GgufMetadata& m) { m.erase("tokenizer.ggml.tokens"); }, "tokenizer.ggml.tokens is missing");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.pre", GgufValue::string("klingon")); }, "unsupported pre-tokenizer");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.model", GgufValue::string("bert")); }, "not supported");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.merges", GgufValue::string_array({"h q"})); }, "'q' is not a token");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.token_type", GgufValue::i32_array({1, 1})); }, "2 entries for 16");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.tokens", GgufValue::u32(3)); }, "tokenizer.ggml.tokens");
  // A key of the wrong type: the accessor's message names the file as well as the key.
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.pre", GgufValue::u32(3)); },
               "bad.gguf: tokenizer.ggml.pre: expected a string");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.eos_token_id", GgufValue::string("15")); },
               "bad.gguf: tokenizer.ggml.eos_token_id: expected an integer");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.merges", GgufValue::u32(3)); },
               "bad.gguf: tokenizer.ggml.merges: expected an array");
  expect_error([](GgufMetadata& m) { m.set("tokenizer.ggml.model", GgufValue::u32(3)); },
               "bad.gguf: tokenizer.ggml.model: expected a string");
}

// A SentencePiece byte token whose text is <0x..> without two hex digits used to reach
// std::stoi, whose std::invalid_argument escaped. It is now taken as literal text.
TEST(MalformedGguf, ByteTokenWithoutHexDigits) {
  GgufMetadata m;
  m.set("tokenizer.ggml.model", GgufValue::string("llama"));
  m.set("tokenizer.ggml.tokens", GgufValue::string_array({"<unk>", "<0xZZ>", "<0x41>", "a"}));
  m.set("tokenizer.ggml.token_type", GgufValue::i32_array({2, 6, 6, 1}));
  m.set("tokenizer.ggml.scores", GgufValue::f32_array({0, 0, 0, -1}));
  Tokenizer t = Tokenizer::from_gguf_metadata(m, "odd-bytes.gguf");
  EXPECT_EQ(t.token_bytes(1), "<0xZZ>");
  EXPECT_EQ(t.token_bytes(2), "A");
  m.set("tokenizer.ggml.add_space_prefix", GgufValue::string("yes"));
  try {
    Tokenizer::from_gguf_metadata(m, "odd-bytes.gguf");
    FAIL() << "no error for a string add_space_prefix";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("odd-bytes.gguf: tokenizer.ggml.add_space_prefix: expected a bool"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace edgelm
