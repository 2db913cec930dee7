#include "lang/english.h"

#include <cctype>

#include "lang/surface_noise.h"
#include "platform/error.h"

namespace edgelm::lang {
namespace {

void add(std::vector<DurationForm>& out, std::string text, bool conversion) {
  for (const auto& f : out)
    if (f.text == text) return;
  out.push_back({std::move(text), conversion});
}

class English final : public LanguageRules {
 public:
  std::optional<std::string> number_words(int64_t n) const override {
    if (n < 0 || n > 999) return std::nullopt;
    return english_number(n);
  }

  // "one hundred and five" (number_words says "one hundred five"); "a hundred [and] twenty".
  std::vector<std::string> number_word_variants(int64_t n) const override {
    if (n < 100 || n > 999) return {};
    std::vector<std::string> out;
    const std::string rest = n % 100 ? english_number(n % 100) : "";
    const std::string lead = english_number(n / 100) + " hundred";
    if (!rest.empty()) out.push_back(cat(lead, " and ", rest));
    if (n / 100 == 1) {
      out.push_back(rest.empty() ? "a hundred" : cat("a hundred ", rest));
      if (!rest.empty()) out.push_back(cat("a hundred and ", rest));
    }
    return out;
  }

  std::vector<DurationForm> duration_forms(int64_t m) const override {
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

  std::string minutes_in_digits(int64_t m) const override { return cat(m, m == 1 ? " minute" : " minutes"); }
  std::vector<std::string> number_units() const override {
    return {"minute", "minutes", "min", "mins", "hour", "hours", "hr", "hrs", "second", "seconds",
            "degree", "degrees", "percent", "%", "times", "level", "step", "steps"};
  }
  bool ambiguous_number_words(std::string_view words) const override { return words == "one"; }

  void vary_case(std::string& text, Rng& rng) const override {
    if (!text.empty() && rng.below(2) == 0 && text[0] >= 'a' && text[0] <= 'z') text[0] = char(text[0] - 32);
  }

  std::vector<std::string> small_letter_words() const override { return {"I"}; }  // and so "I'm", "I've"

  std::string add_noise(const std::string& text, Rng& rng) const override {
    std::string s = text;
    const int n_ops = 1 + int(rng.below(3) == 0);
    for (int op = 0; op < n_ops; ++op) {
      switch (rng.below(9)) {
        case 0: case 1: s = latin_typo(s, rng); break;
        case 2: for (auto& c : s) c = char(std::tolower((unsigned char)c)); break;
        case 3: if (rng.below(3) == 0) for (auto& c : s) c = char(std::toupper((unsigned char)c)); break;
        case 4: s = strip_final_punct(s); break;
        case 5: s = strip_final_punct(s) + (rng.below(2) ? "!!" : "..."); break;
        case 6: {  // dropped apostrophe: don't -> dont
          size_t p = s.find('\'');
          if (p != std::string::npos) s.erase(p, 1);
          else s = latin_typo(s, rng);
          break;
        }
        case 7: {  // two words run together
          auto sp = positions_of(s, ' ');
          if (!sp.empty()) s.erase(sp[rng.below(sp.size())], 1);
          break;
        }
        default: {
          size_t p = s.find("please");
          if (p != std::string::npos) s.replace(p, 6, rng.below(2) ? "pls" : "plz");
          else s = latin_typo(s, rng);
        }
      }
    }
    return s;
  }

  // English speakers rarely put Korean words into a command to a device; most
  // code-switched examples are Korean with English device words.
  double mix_base_weight() const override { return 0.2; }
  double raw_mix_rate() const override { return 0; }
};

}  // namespace

const LanguageRules& english_rules() {
  static const English rules;
  return rules;
}

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

}  // namespace edgelm::lang
