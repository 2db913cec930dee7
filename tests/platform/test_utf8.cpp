// utf8: strict decoding rejects every form RFC 3629 forbids (overlong forms,
// surrogates, values past U+10FFFF, truncated and stray bytes); the lenient
// variant reads each such byte as U+FFFD and moves on; lengths, encoding and
// the Hangul tests agree with what the bilingual pipeline expects.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "platform/utf8.h"

namespace edgelm {
namespace {

// Every code point of `s` with utf8_next, or {} if one is invalid.
std::vector<uint32_t> decode_strict(std::string_view s) {
  std::vector<uint32_t> out;
  size_t i = 0;
  uint32_t cp = 0;
  while (i < s.size()) {
    if (!utf8_next(s, i, cp)) return {};
    out.push_back(cp);
  }
  return out;
}

std::vector<uint32_t> decode_lenient(std::string_view s) {
  std::vector<uint32_t> out;
  for (size_t i = 0; i < s.size();) out.push_back(utf8_next_lenient(s, i));
  return out;
}

TEST(Utf8, DecodesEveryLengthAtItsBounds) {
  const std::vector<std::pair<std::string, uint32_t>> cases = {
      {"\x00", 0x00}, {"\x7F", 0x7F}, {"\xC2\x80", 0x80}, {"\xDF\xBF", 0x7FF}, {"\xE0\xA0\x80", 0x800},
      {"\xED\x9F\xBF", 0xD7FF}, {"\xEE\x80\x80", 0xE000}, {"\xEF\xBF\xBF", 0xFFFF}, {"\xF0\x90\x80\x80", 0x10000},
      {"\xF4\x8F\xBF\xBF", 0x10FFFF}, {"켜", 0xCF1C}};
  for (const auto& [bytes, cp] : cases) {
    std::string s = bytes.empty() ? std::string(1, '\0') : bytes;
    EXPECT_EQ(decode_strict(s), std::vector<uint32_t>{cp}) << std::hex << cp;
    EXPECT_EQ(utf8_encode(cp), s) << std::hex << cp;
    EXPECT_EQ(utf8_problem(s), "");
  }
}

TEST(Utf8, RejectsWhatRfc3629Forbids) {
  const std::vector<std::pair<const char*, std::string>> cases = {
      {"overlong 2-byte NUL", "\xC0\x80"},
      {"overlong 2-byte '/'", "\xC1\xBF"},
      {"overlong 3-byte", "\xE0\x9F\xBF"},
      {"overlong 4-byte", "\xF0\x8F\xBF\xBF"},
      {"high surrogate", "\xED\xA0\x80"},
      {"low surrogate", "\xED\xBF\xBF"},
      {"past U+10FFFF", "\xF4\x90\x80\x80"},
      {"lead byte F5", "\xF5\x80\x80\x80"},
      {"lead byte FF", "\xFF"},
      {"stray continuation byte", "\x80"},
      {"truncated 2-byte", "\xC3"},
      {"truncated 3-byte", "\xEC\xBC"},
      {"truncated 4-byte", "\xF0\x9F\x98"},
      {"continuation missing", "\xEC" "a" "\x9C"},
  };
  for (const auto& [what, s] : cases) {
    size_t i = 0;
    uint32_t cp = 12345;
    EXPECT_FALSE(utf8_next(s, i, cp)) << what;
    EXPECT_EQ(i, 0u) << what << ": a failed decode leaves the position";
    EXPECT_EQ(cp, 12345u) << what;
    EXPECT_NE(utf8_problem("ok " + s), "") << what;
  }
  EXPECT_EQ(utf8_problem("ok \xC0\x80"), "invalid UTF-8 byte 0xc0 at byte 3");
  size_t end = 2;
  uint32_t cp = 0;
  EXPECT_FALSE(utf8_next("ab", end, cp)) << "nothing left to decode";
}

TEST(Utf8, LenientDecodingReadsEachBadByteAsReplacement) {
  const uint32_t R = kUtf8Replacement;
  EXPECT_EQ(decode_lenient("a켜b"), (std::vector<uint32_t>{'a', 0xCF1C, 'b'}));
  EXPECT_EQ(decode_lenient("\xC0\x80z"), (std::vector<uint32_t>{R, R, 'z'}));
  EXPECT_EQ(decode_lenient("\xED\xA0\x80"), (std::vector<uint32_t>{R, R, R}));
  EXPECT_EQ(decode_lenient("\xEC\xBC"), (std::vector<uint32_t>{R, R})) << "a truncated character at the end";
  EXPECT_EQ(decode_lenient("\xEC" "a"), (std::vector<uint32_t>{R, 'a'})) << "the byte after a bad lead is read again";
}

TEST(Utf8, LengthCountsCodePointsAndEachInvalidByteOnce) {
  EXPECT_EQ(utf8_length(""), 0);
  EXPECT_EQ(utf8_length("fan"), 3);
  EXPECT_EQ(utf8_length("선풍기 켜줘"), 6);
  EXPECT_EQ(utf8_length("\xF0\x9F\x98\x80"), 1);
  EXPECT_EQ(utf8_length("a\xFF" "b"), 3);
  EXPECT_EQ(utf8_length("\xEC\xBC"), 2);
}

TEST(Utf8, EncodingRoundTripsEveryScalarValue) {
  std::string all;
  for (uint32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp <= 0xDFFF) continue;
    utf8_append(all, cp);
  }
  EXPECT_EQ(utf8_problem(all), "");
  EXPECT_EQ(utf8_length(all), 0x110000 - 0x800);
  size_t i = 0;
  uint32_t cp = 0, want = 0;
  while (utf8_next(all, i, cp)) {
    ASSERT_EQ(cp, want);
    want = want == 0xD7FF ? 0xE000 : want + 1;
  }
  EXPECT_EQ(i, all.size());
}

TEST(Utf8, HangulAndLatin) {
  EXPECT_TRUE(is_hangul_syllable(0xAC00));  // 가
  EXPECT_TRUE(is_hangul_syllable(0xD7A3));  // 힣
  EXPECT_FALSE(is_hangul_syllable(0xD7A4));
  EXPECT_FALSE(is_hangul_syllable(0x314E)) << "ㅎ is a compatibility jamo, not a syllable";
  EXPECT_TRUE(is_hangul(0x314E));
  EXPECT_TRUE(is_hangul(0x1100));
  EXPECT_FALSE(is_hangul('a'));
  EXPECT_FALSE(is_hangul(kUtf8Replacement));
  EXPECT_TRUE(contains_hangul("turn on 선풍기"));
  EXPECT_TRUE(contains_hangul("ㅎㅎ"));
  EXPECT_FALSE(contains_hangul("fan \xEA\xB0"));  // the first two bytes of 가
  EXPECT_FALSE(contains_hangul("日本語"));
  EXPECT_TRUE(contains_latin("선풍기 on"));
  EXPECT_FALSE(contains_latin("선풍기 켜줘 123"));
}

}  // namespace
}  // namespace edgelm
