// Pre-tokenizer splits, checked against what the regexes they implement give.
#include <gtest/gtest.h>

#include "tokenizer/pretokenizer.h"
#include "tokenizer/unicode.h"

namespace edgelm {
namespace {

using Pieces = std::vector<std::string>;

Pieces split(const char* pre, std::string_view text) { return PreTokenizer::from_name(pre)->split(text); }

TEST(Unicode, Categories) {
  using namespace unicode;
  EXPECT_TRUE(flags('a') & LETTER);
  EXPECT_TRUE(flags(0xAC00) & LETTER);   // 가, Hangul syllable
  EXPECT_TRUE(flags(0x3131) & LETTER);   // ㄱ, Hangul jamo
  EXPECT_TRUE(flags(0x4E00) & LETTER);   // 一
  EXPECT_TRUE(flags('7') & NUMBER);
  EXPECT_TRUE(flags(0x00BD) & NUMBER);   // ½
  EXPECT_TRUE(flags(0x0663) & NUMBER);   // Arabic-Indic three
  EXPECT_TRUE(flags(' ') & SPACE);
  EXPECT_TRUE(flags(0x3000) & SPACE);    // ideographic space
  EXPECT_TRUE(flags(0x00A0) & SPACE);
  EXPECT_FALSE(flags(0x200B) & SPACE);   // zero-width space is not White_Space
  EXPECT_TRUE(flags('!') & PUNCT);
  EXPECT_TRUE(flags('$') & SYMBOL);
  EXPECT_TRUE(flags(0x1F600) & SYMBOL);  // 😀
  EXPECT_TRUE(flags(0x0301) & MARK);
  EXPECT_EQ(flags(0x0378), 0);           // unassigned
  EXPECT_EQ(flags(INVALID_BASE + 0xFF), 0);
}

TEST(Unicode, DecodeNeverFails) {
  using namespace unicode;
  size_t len;
  EXPECT_EQ(decode_utf8("가", 0, len), 0xAC00u);
  EXPECT_EQ(len, 3u);
  EXPECT_EQ(decode_utf8("\xC0\x80", 0, len), INVALID_BASE + 0xC0);  // overlong
  EXPECT_EQ(len, 1u);
  EXPECT_EQ(decode_utf8("\xED\xA0\x80", 0, len), INVALID_BASE + 0xED);  // surrogate
  EXPECT_EQ(decode_utf8("\xE4\xB8", 0, len), INVALID_BASE + 0xE4);  // truncated
  EXPECT_EQ(decode_utf8("\xF4\x90\x80\x80", 0, len), INVALID_BASE + 0xF4);  // above U+10FFFF
}

TEST(Unicode, ByteLevelMappingIsABijection) {
  using namespace unicode;
  std::string all;
  for (int b = 0; b < 256; ++b) all += char(b);
  std::string mapped = to_byte_level(all), back;
  ASSERT_TRUE(from_byte_level(mapped, back));
  EXPECT_EQ(back, all);
  EXPECT_EQ(byte_to_unicode(' '), "Ġ");
  EXPECT_EQ(byte_to_unicode('\n'), "Ċ");
  EXPECT_EQ(byte_to_unicode('A'), "A");
  EXPECT_FALSE(from_byte_level("가", back));
}

TEST(PreTokenizer, Gpt2) {
  EXPECT_EQ(split("gpt-2", "Hello world"), (Pieces{"Hello", " world"}));
  EXPECT_EQ(split("gpt-2", "I've got 1234 apples!!"), (Pieces{"I", "'ve", " got", " 1234", " apples", "!!"}));
  // \s+(?!\S): the last space of a run goes with the next word.
  EXPECT_EQ(split("gpt-2", "a   b"), (Pieces{"a", "  ", " b"}));
  EXPECT_EQ(split("gpt-2", "a \n b  "), (Pieces{"a", " \n", " b", "  "}));
  EXPECT_EQ(split("gpt-2", "공기 청정기를 켜줘."), (Pieces{"공기", " 청정기를", " 켜줘", "."}));
  EXPECT_EQ(split("gpt-2", "'RE"), (Pieces{"'", "RE"}));  // contractions are case-sensitive here
  EXPECT_EQ(split("gpt-2", ""), Pieces{});
}

TEST(PreTokenizer, Llama3) {
  EXPECT_EQ(split("llama-bpe", "I'VE 12345 apples"), (Pieces{"I", "'VE", " ", "123", "45", " apples"}));
  EXPECT_EQ(split("llama-bpe", "x\n\n  y"), (Pieces{"x", "\n\n", " ", " y"}));
  EXPECT_EQ(split("llama-bpe", "(hello)"), (Pieces{"(hello", ")"}));
  EXPECT_EQ(split("llama-bpe", "a ...\n\nb"), (Pieces{"a", " ...\n\n", "b"}));
  EXPECT_EQ(split("qwen2", "x 2024"), (Pieces{"x", " ", "2", "0", "2", "4"}));
}

TEST(PreTokenizer, MultiPass) {
  EXPECT_EQ(split("smollm", "abc 123"), (Pieces{"abc", " ", "1", "2", "3"}));
  // The CJK/Hangul pass splits " 가나" (from \s?\p{L}+) again, leaving the space alone.
  EXPECT_EQ(split("deepseek-coder", "hi 가나 12\n"), (Pieces{"hi", " ", "가나", " ", "1", "2", "\n"}));
  EXPECT_EQ(split("falcon", "a+=b 12345"), (Pieces{"a", "+=", "b", " ", "123", "45"}));
}

TEST(PreTokenizer, InvalidUtf8SplitsAndCoversTheText) {
  std::string text = "ab\xff\xfe cd\xe4\xb8 \xc3";
  for (const char* pre : {"gpt-2", "llama-bpe", "qwen2", "smollm", "deepseek-coder", "falcon", "default"}) {
    Pieces p = split(pre, text);
    std::string joined;
    for (const auto& s : p) {
      EXPECT_FALSE(s.empty()) << pre;
      joined += s;
    }
    EXPECT_EQ(joined, text) << pre;
  }
  EXPECT_EQ(split("gpt-2", text), (Pieces{"ab", "\xff\xfe", " cd", "\xe4\xb8", " \xc3"}));
}

TEST(PreTokenizer, UnknownNameIsNullopt) { EXPECT_FALSE(PreTokenizer::from_name("nope")); }

}  // namespace
}  // namespace edgelm
