#include "lang/korean.h"

#include <cctype>
#include <optional>
#include <utility>
#include <vector>

#include "lang/surface_noise.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::lang {
namespace {

const char* const kParticles[] = {"로", "를", "가", "는", "와", "랑"};

void add(std::vector<DurationForm>& out, std::string text, bool conversion) {
  for (const auto& f : out)
    if (f.text == text) return;
  out.push_back({std::move(text), conversion});
}

// Byte offsets of boundaries between two Hangul syllables.
std::vector<size_t> hangul_boundaries(const std::string& s) {
  std::vector<size_t> out;
  bool after_syllable = false;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    const bool syllable = is_hangul_syllable(utf8_next_lenient(s, i));
    if (syllable && after_syllable) out.push_back(start);
    after_syllable = syllable;
  }
  return out;
}

// A precomposed Hangul syllable's three parts: initial (19), vowel (21), final (28, 0 = none).
struct Jamo {
  int initial, vowel, final;
};
Jamo split_syllable(uint32_t cp) {
  const int i = int(cp - 0xAC00);
  return {i / 588, i % 588 / 28, i % 28};
}
uint32_t join_syllable(Jamo j) { return 0xAC00 + uint32_t((j.initial * 21 + j.vowel) * 28 + j.final); }

}  // namespace

std::string hangul_typo(const std::string& s, Rng& rng) {
  // Final consonants as they are pronounced at the end of a syllable: ㄲ ㅋ ㄳ ㄺ -> ㄱ,
  // ㅆ ㅈ ㅊ ㅌ -> ㅅ, ㅍ ㅄ ㄿ -> ㅂ, ㄵ ㄶ -> ㄴ, ㄻ -> ㅁ, ㄼ ㄽ ㄾ ㅀ -> ㄹ.
  static const int kPronouncedFinal[28] = {0, 0, 1, 1, 0, 4, 4, 0, 0, 1, 16, 8, 8, 8, 17, 8,
                                           0, 0, 17, 0, 19, 0, 19, 19, 1, 19, 17, 0};
  // Vowels people confuse: ㅐ/ㅔ, ㅒ/ㅖ, ㅙ/ㅚ/ㅞ (돼/되), ㅝ -> ㅗ (줘 -> 조), ㅢ -> ㅣ.
  static const int kConfusedVowel[21] = {-1, 5, -1, 7, -1, 1, -1, 3, -1, -1, 11,
                                         10, -1, -1, 8, 11, -1, -1, -1, 20, -1};
  // Number syllables whose slip reads as another word (백 -> 벡, 세 -> 새, 네 -> 내). Other number
  // words may slip as people misspell them (여덟 -> 여덜): the example keeps the number meant.
  static const std::string_view kNumberSyllables[] = {"백", "세", "네"};
  struct Slip {
    size_t at;
    Jamo here;
    std::optional<Jamo> next;  // the following syllable, when the slip moves a sound into it
  };
  std::vector<std::pair<size_t, size_t>> chars;  // byte ranges of the characters
  std::vector<uint32_t> cps;
  for (size_t i = 0; i < s.size();) {
    const size_t start = i;
    cps.push_back(utf8_next_lenient(s, i));
    chars.push_back({start, i});
  }
  std::vector<Slip> slips;
  for (size_t k = 0; k < cps.size(); ++k) {
    if (!is_hangul_syllable(cps[k])) continue;
    const std::string_view text(s.data() + chars[k].first, chars[k].second - chars[k].first);
    bool number = false;
    for (auto n : kNumberSyllables) number |= text == n;
    if (number) continue;
    const Jamo j = split_syllable(cps[k]);
    if (kPronouncedFinal[j.final] != 0) slips.push_back({k, {j.initial, j.vowel, kPronouncedFinal[j.final]}, {}});
    if (kConfusedVowel[j.vowel] >= 0) slips.push_back({k, {j.initial, kConfusedVowel[j.vowel], j.final}, {}});
    // Written as spoken before a vowel: 했어 -> 해써, 좋아 -> 조아.
    if (k + 1 < cps.size() && is_hangul_syllable(cps[k + 1])) {
      const Jamo n = split_syllable(cps[k + 1]);
      const bool silent_onset = n.initial == 11;  // ㅇ
      if (silent_onset && j.final == 20) slips.push_back({k, {j.initial, j.vowel, 0}, Jamo{10, n.vowel, n.final}});
      if (silent_onset && j.final == 27) slips.push_back({k, {j.initial, j.vowel, 0}, {}});
    }
  }
  if (slips.empty()) return s;
  const Slip& slip = slips[rng.below(slips.size())];
  std::string out = s.substr(0, chars[slip.at].first);
  utf8_append(out, join_syllable(slip.here));
  size_t rest = chars[slip.at].second;
  if (slip.next) {
    utf8_append(out, join_syllable(*slip.next));
    rest = chars[slip.at + 1].second;
  }
  out += s.substr(rest);
  return out;
}

namespace {

class Korean final : public LanguageRules {
 public:
  std::optional<std::string> number_words(int64_t n) const override {
    if (n < 0 || n > 9999) return std::nullopt;
    return korean_sino_number(n);
  }

  std::vector<DurationForm> duration_forms(int64_t m) const override {
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

  std::string minutes_in_digits(int64_t m) const override { return cat(m, "분"); }
  std::vector<std::string> number_units() const override {
    return {"분", "시간", "초", "도", "퍼센트", "프로", "%", "단계", "번", "칸"};
  }
  // A single syllable (이, 사, 오, 일, 구, 영) is also a common word.
  bool ambiguous_number_words(std::string_view words) const override {
    size_t i = 0;
    utf8_next_lenient(words, i);
    return i == words.size();
  }

  // Korean spacing varies a lot in practice; punctuation, laughter and spelling slips too.
  std::string add_noise(const std::string& text, Rng& rng) const override {
    std::string s = text;
    const int n_ops = 1 + int(rng.below(3) == 0);
    for (int op = 0; op < n_ops; ++op) {
      switch (rng.below(10)) {
        case 0: {
          std::string t;
          for (char c : s) if (c != ' ') t += c;
          s = t;
          break;
        }
        case 1: case 2: {
          auto sp = positions_of(s, ' ');
          if (!sp.empty()) s.erase(sp[rng.below(sp.size())], 1);
          break;
        }
        case 3: {
          auto b = hangul_boundaries(s);
          if (!b.empty()) s.insert(b[rng.below(b.size())], " ");
          break;
        }
        case 4: s = strip_final_punct(s) + (rng.below(2) ? "~" : "!!"); break;
        case 5: s = strip_final_punct(s) + (rng.below(2) ? " ㅎㅎ" : "ㅠㅠ"); break;
        case 6: s = strip_final_punct(s); break;
        case 7: case 8: s = hangul_typo(s, rng); break;
        default: if (contains_latin(s)) s = latin_typo(s, rng); else s = strip_final_punct(s) + "..";
      }
    }
    return s;
  }

  std::vector<std::string> particles() const override { return {std::begin(kParticles), std::end(kParticles)}; }
  void append_particle(std::string& out, std::string_view key) const override { append_korean_particle(out, key); }
  std::optional<VerbForms> derived_verb_forms(std::string_view form) const override { return korean_hada_forms(form); }

  // Korean speakers name devices and modes in English all the time ("터보 mode로");
  // most code-switched examples are Korean-based.
  double mix_base_weight() const override { return 0.8; }
  double raw_mix_rate() const override { return 0.12; }
};

}  // namespace

const LanguageRules& korean_rules() {
  static const Korean rules;
  return rules;
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

bool is_korean_particle(std::string_view key) {
  for (const char* p : kParticles)
    if (key == p) return true;
  return false;
}

void append_korean_particle(std::string& out, std::string_view key) {
  // Whether the preceding word ends in a consonant sound (받침), and whether
  // that consonant is ㄹ (which takes 로, not 으로).
  bool batchim = false, rieul = false;
  size_t end = out.size();
  while (end > 0 && out[end - 1] == ' ') --end;
  if (end > 0) {
    size_t start = end - 1;
    while (start > 0 && (static_cast<unsigned char>(out[start]) & 0xC0) == 0x80) --start;
    size_t i = start;
    uint32_t cp = utf8_next_lenient(out, i);
    if (is_hangul_syllable(cp)) {
      int jong = (cp - 0xAC00) % 28;
      batchim = jong != 0;
      rieul = jong == 8;
    } else if (cp >= '0' && cp <= '9') {
      // 영 일 이 삼 사 오 육 칠 팔 구: how the last digit is read.
      static const bool digit_batchim[] = {true, true, false, true, false, false, true, true, true, false};
      batchim = digit_batchim[cp - '0'];
      rieul = cp == '1' || cp == '7' || cp == '8';
    } else if (cp < 0x80 && std::isalpha(int(cp))) {
      // English words read out: "mode" -> 모드로, "sleep" -> 슬립으로, "timer" -> 타이머를.
      char c = char(std::tolower(int(cp)));
      batchim = !(c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u' || c == 'y' || c == 'r' || c == 'w');
      rieul = c == 'l';
    }
  }
  out.resize(end);
  if (key == "로") out += batchim && !rieul ? "으로" : "로";
  else if (key == "를") out += batchim ? "을" : "를";
  else if (key == "가") out += batchim ? "이" : "가";
  else if (key == "는") out += batchim ? "은" : "는";
  else if (key == "와") out += batchim ? "과" : "와";
  else if (key == "랑") out += batchim ? "이랑" : "랑";
}

std::optional<VerbForms> korean_hada_forms(std::string_view form) {
  constexpr std::string_view hada = "하다";
  if (form.size() < hada.size() || form.substr(form.size() - hada.size()) != hada) return std::nullopt;
  std::string stem(form.substr(0, form.size() - std::string_view("다").size()));
  return VerbForms{std::string(form.substr(0, form.size() - hada.size())) + "해", stem};
}

}  // namespace edgelm::lang
