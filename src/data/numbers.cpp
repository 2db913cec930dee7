#include "data/numbers.h"

#include <cmath>

#include "domain/schema.h"
#include "platform/error.h"

namespace edgelm::data {

std::string english_number(int64_t n) {
  static const char* ones[] = {"zero",    "one",     "two",       "three",    "four",     "five",    "six",
                               "seven",   "eight",   "nine",      "ten",      "eleven",   "twelve",  "thirteen",
                               "fourteen", "fifteen", "sixteen",  "seventeen", "eighteen", "nineteen"};
  static const char* tens[] = {"", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"};
  if (n < 0 || n > 999) fail("english_number: ", n, " is outside 0..999");
  if (n < 20) return ones[n];
  if (n < 100) return n % 10 ? cat(tens[n / 10], "-", ones[n % 10]) : tens[n / 10];
  std::string s = cat(ones[n / 100], " hundred");
  if (n % 100) s += " " + english_number(n % 100);
  return s;
}

std::string korean_sino_number(int64_t n) {
  static const char* digits[] = {"", "일", "이", "삼", "사", "오", "육", "칠", "팔", "구"};
  if (n < 0 || n > 9999) fail("korean_sino_number: ", n, " is outside 0..9999");
  if (n == 0) return "영";
  // A leading 1 is not spoken before 십, 백 and 천 (십오, not 일십오).
  static const char* units[] = {"천", "백", "십", ""};
  static const int64_t scale[] = {1000, 100, 10, 1};
  std::string s;
  for (int i = 0; i < 4; ++i) {
    int64_t d = (n / scale[i]) % 10;
    if (!d) continue;
    if (d > 1 || i == 3) s += digits[d];
    s += units[i];
  }
  return s;
}

std::string korean_native_number(int64_t n) {
  static const char* ones[] = {"", "한", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉"};
  static const char* tens[] = {"", "열", "스물", "서른", "마흔", "쉰", "예순", "일흔", "여든", "아흔"};
  if (n < 1 || n > 99) fail("korean_native_number: ", n, " is outside 1..99");
  if (n == 20) return "스무";  // before a counter: 스무 시간
  return cat(tens[n / 10], ones[n % 10]);
}

namespace {

void add(std::vector<DurationForm>& out, std::string text, bool conversion) {
  for (const auto& f : out)
    if (f.text == text) return;
  out.push_back({std::move(text), conversion});
}

std::vector<DurationForm> english_forms(int64_t m) {
  std::vector<DurationForm> out;
  const int64_t h = m / 60, r = m % 60;
  const std::string min_word = m == 1 ? "minute" : "minutes";
  add(out, cat(m, " ", min_word), false);
  add(out, cat(m, " min"), false);
  if (m > 1) add(out, cat(m, " mins"), false);
  if (m <= 60 || (m <= 120 && m % 5 == 0)) add(out, cat(english_number(m), " ", min_word), false);
  if (m == 15) add(out, "a quarter of an hour", true), add(out, "quarter of an hour", true);
  if (m == 30) add(out, "half an hour", true), add(out, "a half hour", true), add(out, "half hour", true);
  if (m == 45) add(out, "three quarters of an hour", true);
  if (h == 0) return out;
  const std::string hours = h == 1 ? "hour" : "hours";
  const std::string hw = english_number(h);
  if (r == 0) {
    if (h == 1) add(out, "an hour", true), add(out, "one hour", true), add(out, "1 hour", true), add(out, "1 hr", true);
    else add(out, cat(h, " hours"), true), add(out, cat(hw, " hours"), true), add(out, cat(h, " hrs"), true);
    add(out, cat(h, "h"), true);
  } else if (r == 30) {
    if (h == 1) add(out, "an hour and a half", true), add(out, "one and a half hours", true), add(out, "1.5 hours", true);
    else add(out, cat(hw, " and a half hours"), true), add(out, cat(h, " and a half hours"), true),
         add(out, cat(hw, " hours and a half"), true), add(out, cat(h, ".5 hours"), true);
    add(out, cat(h == 1 ? "an" : hw, " ", hours, " and thirty minutes"), true);
    add(out, cat(h, "h30"), true);
  } else if (r == 15 && h == 1) {
    add(out, "an hour and a quarter", true), add(out, "an hour and 15 minutes", true);
  } else {
    add(out, cat(h == 1 ? "an" : hw, " ", hours, " and ", r, " ", r == 1 ? "minute" : "minutes"), true);
    add(out, cat(h, " ", hours, " ", r, " min"), true);
  }
  return out;
}

std::vector<DurationForm> korean_forms(int64_t m) {
  std::vector<DurationForm> out;
  const int64_t h = m / 60, r = m % 60;
  add(out, cat(m, "분"), false);
  add(out, cat(m, " 분"), false);
  if (m <= 120) add(out, cat(korean_sino_number(m), " 분"), false), add(out, cat(korean_sino_number(m), "분"), false);
  if (h == 0) {
    if (m == 30) add(out, "반 시간", true);
    return out;
  }
  // Hours take native numerals (두 시간), minutes Sino-Korean ones (삼십 분).
  const std::string nh = h <= 99 ? korean_native_number(h) : std::to_string(h);
  if (r == 0) {
    add(out, cat(nh, " 시간"), true), add(out, cat(nh, "시간"), true);
    add(out, cat(h, "시간"), true), add(out, cat(h, " 시간"), true);
  } else if (r == 30) {
    add(out, cat(nh, " 시간 반"), true), add(out, cat(nh, "시간 반"), true), add(out, cat(nh, "시간반"), true);
    add(out, cat(h, "시간 반"), true), add(out, cat(h, "시간 30분"), true), add(out, cat(nh, " 시간 삼십 분"), true);
  } else {
    add(out, cat(h, "시간 ", r, "분"), true), add(out, cat(nh, " 시간 ", korean_sino_number(r), " 분"), true);
  }
  return out;
}

}  // namespace

std::vector<std::string> number_forms(int64_t n, const std::string& lang) {
  if (lang != "en" && lang != "ko") fail("number_forms: unknown language '", lang, "' (en or ko)");
  std::vector<std::string> out = {std::to_string(n)};
  if (lang == "en" && n >= 0 && n <= 999) out.push_back(english_number(n));
  if (lang == "ko" && n >= 0 && n <= 9999) out.push_back(korean_sino_number(n));
  return out;
}

std::vector<std::string> number_forms(double x, const std::string& lang) {
  if (std::fabs(x) < 1e15 && x == std::floor(x)) return number_forms(int64_t(x), lang);
  if (lang != "en" && lang != "ko") fail("number_forms: unknown language '", lang, "' (en or ko)");
  return {number_text(x)};
}

std::vector<DurationForm> duration_forms(int64_t minutes, const std::string& lang) {
  if (minutes < 1 || minutes > 1440) fail("duration_forms: ", minutes, " minutes is outside 1..1440");
  if (lang == "en") return english_forms(minutes);
  if (lang == "ko") return korean_forms(minutes);
  fail("duration_forms: unknown language '", lang, "' (en or ko)");
}

}  // namespace edgelm::data
