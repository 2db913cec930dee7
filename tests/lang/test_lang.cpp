// The language modules (src/lang/): number words and durations per language,
// Korean particles, and the language table that finds a module for every
// language a domain lists.
#include <gtest/gtest.h>

#include "../data/domain_test_util.h"

#include <map>
#include <set>
#include <string>

#include "data/numbers.h"
#include "data/pattern.h"
#include "data/phrasebook.h"
#include "domain/language.h"
#include "domain/schema.h"
#include "lang/english.h"
#include "lang/korean.h"
#include "lang/number_reader.h"
#include "platform/error.h"

using namespace edgelm;

namespace {

bool has_form(int64_t m, const char* lang, const std::string& text, bool conversion) {
  for (const auto& f : data::duration_forms(m, language_rules(lang)))
    if (f.text == text) return f.conversion == conversion;
  return false;
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace

TEST(LanguageTable, EveryLanguageOfTheBuiltInDomainsHasAModule) {
  for (const char* name : {"air-purifier", "smart-home"}) {
    data::Phrasebook pb = data::load_phrasebook(resolve_domain_dir(name));
    ASSERT_FALSE(pb.config.languages.empty()) << name;
    for (const auto& code : pb.config.languages) {
      const LanguageInfo* info = find_language_info(code);
      ASSERT_NE(info, nullptr) << name << ": " << code;
      EXPECT_NE(info->rules, nullptr) << name << ": " << code;
      EXPECT_EQ(&language_rules(code), info->rules);
    }
    for (const auto& l : pb.languages) EXPECT_EQ(l.info, find_language_info(l.lang)) << name << ": " << l.lang;
  }
}

TEST(LanguageTable, UnknownLanguageNamesItself) {
  std::string msg = error_of([] { language_rules("fr"); });
  EXPECT_NE(msg.find("'fr'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("no language module"), std::string::npos) << msg;
  EXPECT_NE(msg.find(known_language_codes()), std::string::npos) << msg;
}

TEST(LanguageTable, ADomainListingAnUnknownLanguageFailsNamingIt) {
  for (const char* name : {"air-purifier", "smart-home"}) {
    std::string msg = test::domain_load_error(resolve_domain_dir(name), "generate.toml", [](std::string t) {
      size_t p = t.find("languages = [\"en\", \"ko\"]");
      if (p != std::string::npos) t.replace(p, 24, "languages = [\"en\", \"ko\", \"fr\"]");
      return t;
    });
    EXPECT_NE(msg.find("generate.toml line 2"), std::string::npos) << msg;
    EXPECT_NE(msg.find("language 'fr' has no language module"), std::string::npos) << msg;
  }
}

TEST(LanguageTable, LabelsAddCodeSwitchingForTwoLanguages) {
  EXPECT_EQ(language_labels({"en", "ko"}), (std::vector<std::string>{"en", "ko", kMixedLanguage}));
  EXPECT_EQ(language_labels({"ko"}), (std::vector<std::string>{"ko"}));
}

TEST(LanguageTable, OtherScriptIsACodeSwitch) {
  EXPECT_TRUE(has_other_script("선풍기 on", Script::Hangul));
  EXPECT_FALSE(has_other_script("선풍기 켜줘 123", Script::Hangul));
  EXPECT_TRUE(has_other_script("turn on 선풍기", Script::Latin));
  EXPECT_FALSE(has_other_script("turn on the fan 2", Script::Latin));
}

TEST(English, NumberWordsAndDurations) {
  const lang::LanguageRules& en = language_rules("en");
  EXPECT_EQ(lang::english_number(45), "forty-five");
  EXPECT_EQ(lang::english_number(300), "three hundred");
  EXPECT_EQ(en.number_words(72), "seventy-two");
  EXPECT_EQ(en.number_words(1000), std::nullopt);
  EXPECT_EQ(data::number_forms(int64_t(21), en), (std::vector<std::string>{"21", "twenty-one"}));
  EXPECT_EQ(data::number_forms(21.5, en), (std::vector<std::string>{"21.5"}));
  EXPECT_TRUE(has_form(90, "en", "an hour and a half", true));
  EXPECT_TRUE(has_form(30, "en", "half an hour", true));
  EXPECT_TRUE(has_form(45, "en", "forty-five minutes", false));
  EXPECT_TRUE(has_form(1, "en", "1 minute", false));
  EXPECT_THROW(data::duration_forms(0, en), Error);
  EXPECT_THROW(data::duration_forms(1441, en), Error);
  EXPECT_THROW(lang::english_number(1000), Error);
}

TEST(Korean, NumberWordsAndDurations) {
  const lang::LanguageRules& ko = language_rules("ko");
  EXPECT_EQ(lang::korean_sino_number(15), "십오");
  EXPECT_EQ(lang::korean_sino_number(120), "백이십");
  EXPECT_EQ(lang::korean_native_number(3), "세");
  EXPECT_EQ(lang::korean_native_number(20), "스무");
  EXPECT_EQ(ko.number_words(72), "칠십이");
  EXPECT_EQ(ko.number_words(10000), std::nullopt);
  EXPECT_EQ(data::number_forms(int64_t(24), ko), (std::vector<std::string>{"24", "이십사"}));
  EXPECT_TRUE(has_form(90, "ko", "한 시간 반", true));
  EXPECT_TRUE(has_form(120, "ko", "두 시간", true));
  EXPECT_TRUE(has_form(30, "ko", "삼십 분", false));
  EXPECT_TRUE(has_form(120, "ko", "2시간", true));
  EXPECT_TRUE(has_form(90, "ko", "90분", false));
  EXPECT_TRUE(has_form(720, "ko", "열두 시간", true));
  EXPECT_FALSE(has_form(60, "ko", "두 시간", true));
  EXPECT_THROW(data::duration_forms(0, ko), Error);
}

TEST(LanguageModules, EveryDurationFormNamesOneValue) {
  for (const auto& l : known_languages()) {
    std::map<std::string, int64_t> seen;
    for (int64_t m = 1; m <= 720; ++m)
      for (const auto& f : data::duration_forms(m, *l.rules)) {
        auto [it, fresh] = seen.emplace(f.text, m);
        EXPECT_TRUE(fresh) << l.code << " '" << f.text << "' means both " << it->second << " and " << m;
      }
  }
}

TEST(Korean, ParticlesAgree) {
  auto with = [](std::string word, const char* p) { lang::append_korean_particle(word, p); return word; };
  EXPECT_EQ(with("자동", "로"), "자동으로");
  EXPECT_EQ(with("수면 모드", "로"), "수면 모드로");
  EXPECT_EQ(with("1시간", "로"), "1시간으로");
  EXPECT_EQ(with("물", "로"), "물로");
  EXPECT_EQ(with("전원", "를"), "전원을");
  EXPECT_EQ(with("타이머", "를"), "타이머를");
  EXPECT_EQ(with("30분", "가"), "30분이");
  EXPECT_EQ(with("mode", "로"), "mode로");
  std::string s = "전원";
  language_rules("ko").append_particle(s, "를");
  EXPECT_EQ(s, "전원을");
}

TEST(Korean, HadaVerbsDeriveTheirForms) {
  auto forms = language_rules("ko").derived_verb_forms("설정하다");
  ASSERT_TRUE(forms);
  EXPECT_EQ(forms->a, "설정해");
  EXPECT_EQ(forms->stem, "설정하");
  EXPECT_FALSE(language_rules("ko").derived_verb_forms("켜다"));
  EXPECT_FALSE(language_rules("en").derived_verb_forms("설정하다"));
}

TEST(LanguageModules, ParticlesAreTheLanguagesOwn) {
  EXPECT_NO_THROW(data::parse_pattern("모드~로", "x", language_info("ko")));
  std::string msg = error_of([] { data::parse_pattern("모드~뭐", "x", language_info("ko")); });
  EXPECT_NE(msg.find("unknown particle '~뭐'"), std::string::npos) << msg;
  msg = error_of([] { data::parse_pattern("mode~로", "x", language_info("en")); });
  EXPECT_NE(msg.find("English has no particles"), std::string::npos) << msg;
}

TEST(LanguageModules, NoiseKeepsDigitsAndVariesTheText) {
  for (const auto& l : known_languages()) {
    Rng rng(7);
    const std::string text = std::string(l.script == Script::Hangul ? "타이머 30분으로 맞춰 줘" : "set the timer to 30 minutes please");
    int changed = 0;
    for (int i = 0; i < 200; ++i) {
      std::string noisy = l.rules->add_noise(text, rng);
      EXPECT_NE(noisy.find("30"), std::string::npos) << l.code << ": " << noisy;
      changed += noisy != text;
    }
    EXPECT_GT(changed, 50) << l.code;
  }
}

TEST(Korean, TyposAreSlipsKoreanUsersMakeAndSpareNumbers) {
  auto slips_of = [](const std::string& text) {
    std::set<std::string> seen;
    Rng rng(3);
    for (int i = 0; i < 200; ++i) seen.insert(lang::hangul_typo(text, rng));
    return seen;
  };
  // A final consonant written as pronounced, or the syllable written as spoken.
  EXPECT_EQ(slips_of("잠겼어"), (std::set<std::string>{"잠겻어", "잠겨써"}));
  EXPECT_EQ(slips_of("부엌"), (std::set<std::string>{"부억"}));
  EXPECT_EQ(slips_of("좋아"), (std::set<std::string>{"조아"}));
  // Look-alike vowels: ㅐ/ㅔ, 돼/되, 줘 -> 조.
  EXPECT_EQ(slips_of("켜 줘"), (std::set<std::string>{"켜 조"}));
  EXPECT_EQ(slips_of("돼"), (std::set<std::string>{"되"}));
  EXPECT_EQ(slips_of("게"), (std::set<std::string>{"개"}));
  // Nothing to slip on: digits, Latin letters, number words, syllables without such parts.
  EXPECT_EQ(slips_of("turbo 30분 백 세 시간"), (std::set<std::string>{"turbo 30분 백 세 시간"}));
  EXPECT_EQ(slips_of(""), (std::set<std::string>{""}));
  // Invalid UTF-8 passes through (the generator never writes it, but the function takes any bytes).
  EXPECT_EQ(slips_of("\xff켜"), (std::set<std::string>{"\xff켜"}));
}

TEST(LanguageModules, CodeSwitchBaseFollowsTheWeights) {
  data::Phrasebook pb = data::load_phrasebook(resolve_domain_dir("air-purifier"));
  // Korean carries 0.8 of the weight, English 0.2, heaviest first.
  EXPECT_EQ(pb.code_switch_base(0.0).lang, "ko");
  EXPECT_EQ(pb.code_switch_base(0.79).lang, "ko");
  EXPECT_EQ(pb.code_switch_base(0.81).lang, "en");
  EXPECT_EQ(pb.code_switch_base(0.999).lang, "en");
}

// ---- Reading numbers (src/lang/number_reader.h): what the model sees of a command.

TEST(NumberReader, EveryDurationFormReadsBackToItsMinutes) {
  // The generator's durations, read back: the model never has to convert hours to minutes.
  for (const auto& l : known_languages()) {
    const lang::NumberReader reader(*l.rules);
    for (int64_t m = 1; m <= 1440; ++m)
      for (const auto& f : l.rules->duration_forms(m))
        ASSERT_EQ(reader.read("timer " + f.text + " please"), "timer " + l.rules->minutes_in_digits(m) + " please")
            << l.code << " '" << f.text << "'";
  }
}

TEST(NumberReader, EveryNumberWordReadsBackToItsDigits) {
  for (const auto& l : known_languages()) {
    const lang::NumberReader reader(*l.rules);
    const std::string unit = "%";  // a unit of every language, and not a duration's
    for (int64_t n = 0; n <= 9999; ++n) {
      const auto words = l.rules->number_words(n);
      if (!words) continue;
      ASSERT_EQ(reader.read(*words + " " + unit), std::to_string(n) + " " + unit) << l.code << " '" << *words << "'";
      for (const std::string& variant : l.rules->number_word_variants(n))
        ASSERT_EQ(reader.read(variant + " " + unit), std::to_string(n) + " " + unit) << l.code << " '" << variant << "'";
    }
  }
}

namespace {

// What each language's reader makes of a command: {command, what the model reads}.
struct Reading {
  const char* text;
  const char* read;
};

void expect_readings(const lang::LanguageRules& rules, std::initializer_list<Reading> readings) {
  const lang::NumberReader reader(rules);
  for (const Reading& r : readings) EXPECT_EQ(reader.read(r.text), r.read) << r.text;
}

}  // namespace

TEST(NumberReader, EnglishExamples) {
  expect_readings(lang::english_rules(), {
      {"set a sleep timer for an hour and a half", "set a sleep timer for 90 minutes"},
      {"Fan on high and shut off in an hour", "Fan on high and shut off in 60 minutes"},
      {"a quick two minute breathing session", "a quick 2 minute breathing session"},
      {"Seventy Two degrees", "72 degrees"},
      {"set it to seventy-two", "set it to 72"},
      {"brightness to one hundred five", "brightness to 105"},
      {"brightness to one hundred and five", "brightness to 105"},
      {"a hundred and twenty minutes", "120 minutes"},
      {"a hundred degrees", "100 degrees"},
      {"two hundred and fifty-five", "255"},
      // "and" between two numbers is not a hundred's.
      {"sixty and seventy degrees", "60 and 70 degrees"},
      {"two hours", "120 minutes"},
      {"1.5 hours", "90 minutes"},
      // "one" is also a pronoun: read only before a unit.
      {"the kitchen one too", "the kitchen one too"},
      {"one degree warmer", "1 degree warmer"},
      // Inside words and numbers nothing is read.
      {"often tenfold attention", "often tenfold attention"},
      {"21.5 min and 4two", "21.5 min and 4two"},
      {"twenty분", "20분"},
      {"", ""},
  });
}

TEST(NumberReader, KoreanExamples) {
  expect_readings(lang::korean_rules(), {
      {"십 분 동안 숨쉬기 운동 하자", "10분 동안 숨쉬기 운동 하자"},
      {"한 시간 반 뒤에 꺼 줘", "90분 뒤에 꺼 줘"},
      {"온도 이십삼도로", "온도 23도로"},
      {"삼십 분으로 맞춰", "30분으로 맞춰"},
      // Single syllables are common words: read only before a unit.
      {"이 방 불 켜 줘", "이 방 불 켜 줘"},
      {"오 도 올려", "5 도 올려"},
      {"사과 일이 있어", "사과 일이 있어"},
      // Inside a word nothing is read.
      {"바람세게", "바람세게"},
  });
}

TEST(NumberReader, ReadNumbersAppliesEveryLanguage) {
  EXPECT_EQ(read_numbers("rain sound 틀고 timer 삼십 분"), "rain sound 틀고 timer 30분");
  EXPECT_EQ(read_numbers("타이머 an hour and a half"), "타이머 90 minutes");
  // Bytes that are not UTF-8 are kept as they are.
  EXPECT_EQ(read_numbers(std::string("ten \xff minutes")), std::string("10 \xff minutes"));
}

TEST(ModelText, CapitalsClosingPunctuationAndNumbers) {
  // Words in capitals read in small letters; words with a small letter keep their case.
  EXPECT_EQ(model_text("LOCK THE FRONT DOOR NOW"), "lock the front door now");
  EXPECT_EQ(model_text("can you run the AC at SIXTY-FOUR"), "can you run the ac at 64");
  EXPECT_EQ(model_text("Turn on the TV, I'm home"), "Turn on the tv, i'm home");
  EXPECT_EQ(model_text("DON'T turn it off"), "don't turn it off");
  EXPECT_EQ(model_text("TV 켜줘"), "tv 켜줘");
  // English writes "I" small, as the phrasing files do; other words starting with I keep it.
  EXPECT_EQ(model_text("I think I'm cold, so I'd like it warmer, I"), "i think i'm cold, so i'd like it warmer, i");
  EXPECT_EQ(model_text("In the Irish room, I."), "In the Irish room, i");
  // No punctuation at the end (a recogniser rarely writes it); inside, it stays.
  EXPECT_EQ(model_text("is the hall light on?"), "is the hall light on");
  EXPECT_EQ(model_text("SLEEP MODE NOW!!"), "sleep mode now");
  EXPECT_EQ(model_text("about the lights... "), "about the lights");
  EXPECT_EQ(model_text("불 켜져 있어? 그리고 문도…"), "불 켜져 있어? 그리고 문도");
  EXPECT_EQ(model_text("?!"), "");
  EXPECT_EQ(model_text(""), "");
  EXPECT_EQ(model_text(std::string("ten \xff minutes.")), std::string("10 \xff minutes"));
}
