// SentencePiece-style vocabularies (tokenizer.ggml.model = "llama"), merged by
// score, with <0xAB> byte fallback. Ids worked out by hand in the comments.
#include <gtest/gtest.h>

#include "platform/error.h"
#include "platform/gguf.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

using Ids = std::vector<int32_t>;

GgufMetadata tiny_spm() {
  std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
  std::vector<int32_t> types = {2, 3, 3};
  std::vector<float> scores = {0, 0, 0};
  for (int b = 0; b < 256; ++b) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "<0x%02X>", b);
    tokens.push_back(buf);
    types.push_back(6);
    scores.push_back(0);
  }
  // ids 259..269
  const std::pair<const char*, float> pieces[] = {{"▁", -10}, {"h", -10}, {"e", -10}, {"l", -10}, {"o", -10}, {"▁h", -5},
                                                  {"he", -3}, {"ll", -2}, {"▁he", -6}, {"llo", -4}, {"▁hello", -1}};
  for (const auto& [text, score] : pieces) {
    tokens.push_back(text);
    types.push_back(1);
    scores.push_back(score);
  }
  GgufMetadata m;
  m.set("tokenizer.ggml.model", GgufValue::string("llama"));
  m.set("tokenizer.ggml.tokens", GgufValue::string_array(tokens));
  m.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  m.set("tokenizer.ggml.scores", GgufValue::f32_array(scores));
  m.set("tokenizer.ggml.bos_token_id", GgufValue::u32(1));
  m.set("tokenizer.ggml.eos_token_id", GgufValue::u32(2));
  return m;
}

TEST(SentencePiece, MergesByScoreWithByteFallback) {
  Tokenizer t = Tokenizer::from_gguf_metadata(tiny_spm(), "tiny-spm");
  EXPECT_EQ(t.model(), "llama");
  // " hello" = ▁ h e l l o: ll (-2), he (-3), llo (-4), then ▁h is stale, ▁he (-6), ▁hello (-1).
  EXPECT_EQ(t.encode("hello"), (Ids{269}));
  EXPECT_EQ(t.encode("hello hello"), (Ids{269, 269}));
  // " hex": he, ▁he; 'x' is no piece: its byte token <0x78> = 3 + 0x78.
  EXPECT_EQ(t.encode("hex"), (Ids{267, 3 + 0x78}));
  // Korean has no pieces here: every byte falls back.
  Ids ko = t.encode("가");
  EXPECT_EQ(ko, (Ids{259, 3 + 0xEA, 3 + 0xB0, 3 + 0x80}));
  EXPECT_EQ(t.decode(ko), " 가");  // the decoded text keeps the prefix space
  EXPECT_EQ(t.encode("</s>hello", true), (Ids{2, 269}));  // a space prefix follows a special token
  EXPECT_EQ(t.eos_id(), 2);
  EXPECT_EQ(t.bos_id(), 1);
  // Written and read back: the same ids.
  GgufMetadata m;
  t.write_to(m);
  Tokenizer u = Tokenizer::from_gguf_metadata(m, "tiny-spm-2");
  EXPECT_EQ(m.at("tokenizer.ggml.tokens").as_array().strings[3 + 0x78], "<0x78>");
  EXPECT_EQ(m.at("tokenizer.ggml.tokens").as_array().strings[269], "▁hello");
  EXPECT_EQ(u.encode("hex hello"), t.encode("hex hello"));
}

TEST(SentencePiece, NeedsScores) {
  GgufMetadata m = tiny_spm();
  m.erase("tokenizer.ggml.scores");
  EXPECT_THROW(Tokenizer::from_gguf_metadata(m, "x"), Error);
}

}  // namespace
}  // namespace edgelm
