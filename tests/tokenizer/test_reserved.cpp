// Reserved special tokens: binding a device's tokens into a base vocabulary
// keeps every other id and merge, and runs out with a clear error.
#include <gtest/gtest.h>

#include "platform/error.h"
#include "tokenizer/reserved.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

Tokenizer base_tokenizer() {
  std::vector<std::string> texts = {"turn the purifier on", "turn the fan off", "필터를 초기화해 줘", "the purifier is on"};
  std::vector<std::string> specials = {"<|user|>", "<|end|>"};
  for (int32_t i = 0; i < 3; ++i) specials.push_back(reserved_token(i));
  return train_bpe(texts, 300, specials);
}

TEST(ReservedTokens, BindKeepsEveryOtherIdAndMerge) {
  Tokenizer base = base_tokenizer();
  EXPECT_EQ(reserved_token(7), "<|reserved_7|>");
  EXPECT_EQ(count_reserved_tokens(base), 3);
  const int32_t r0 = *base.special_id("<|reserved_0|>"), r1 = *base.special_id("<|reserved_1|>");
  Tokenizer bound = bind_reserved_tokens(base, {"<|user|>", "<|fn:set_power|>", "<|fn:set_mode|>"});
  EXPECT_EQ(bound.n_vocab(), base.n_vocab());
  EXPECT_EQ(bound.n_merges(), base.n_merges());
  EXPECT_EQ(bound.eos_id(), base.eos_id());
  EXPECT_EQ(bound.special_id("<|user|>"), base.special_id("<|user|>"));  // already there: not rebound
  EXPECT_EQ(bound.special_id("<|fn:set_power|>"), r0);
  EXPECT_EQ(bound.special_id("<|fn:set_mode|>"), r1);
  EXPECT_FALSE(bound.special_id("<|reserved_0|>"));
  EXPECT_EQ(count_reserved_tokens(bound), 1);
  for (const char* text : {"turn the purifier on", "필터를 초기화해 줘", "something else entirely"})
    EXPECT_EQ(bound.encode(text), base.encode(text)) << text;
  EXPECT_EQ(bound.encode("<|fn:set_mode|>", true), std::vector<int32_t>{r1});
  // The base is unchanged.
  EXPECT_EQ(base.special_id("<|reserved_0|>"), r0);
  EXPECT_FALSE(base.special_id("<|fn:set_power|>"));
}

TEST(ReservedTokens, TooFewIsAnError) {
  Tokenizer base = base_tokenizer();
  try {
    bind_reserved_tokens(base, {"<|a|>", "<|b|>", "<|c|>", "<|d|>"});
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("3 reserved tokens left, but 4"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace edgelm
