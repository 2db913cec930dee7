// The keyword baseline derived from a domain's phrasing: a few commands per
// language on the air purifier, durations said in words, multi-commands split
// at the domain's own connectors, and a run through the evaluation end to end
// on the project's hand-written cases.
#include <gtest/gtest.h>

#include "data/phrasebook.h"
#include "eval/cases.h"
#include "eval/keyword_baseline.h"

namespace edgelm {
namespace {

const KeywordBaseline& baseline() {
  static KeywordBaseline b(data::load_phrasebook(resolve_domain_dir("air-purifier")));
  return b;
}

std::vector<std::string> names(const std::string& text) {
  std::vector<std::string> out;
  for (const auto& c : baseline().calls(text)) out.push_back(c.name);
  return out;
}

TEST(KeywordBaseline, Commands) {
  struct Row { const char* text; std::vector<std::string> names; };
  Row rows[] = {
      {"switch to sleep mode", {"set_mode"}},
      {"수면 모드로 바꿔줘", {"set_mode"}},
      {"play rain sounds", {"play_sound"}},
      {"빗소리 틀어줘", {"play_sound"}},
      {"필터 상태 알려줘", {"get_filter_status"}},
  };
  for (const auto& r : rows) EXPECT_EQ(names(r.text), r.names) << r.text;
  auto calls = baseline().calls("switch to sleep mode");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments.at("mode"), ArgValue(std::string("sleep")));
}

TEST(KeywordBaseline, DurationsInWordsAndDigits) {
  auto calls = baseline().calls("set a timer for an hour and a half");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "set_timer");
  EXPECT_EQ(calls[0].arguments.at("minutes"), ArgValue(int64_t(90)));
  calls = baseline().calls("타이머 두 시간 맞춰줘");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments.at("minutes"), ArgValue(int64_t(120)));
}

TEST(KeywordBaseline, SplitsMultiCommandsAtTheDomainsConnectors) {
  EXPECT_EQ(names("switch to sleep mode and then play rain sounds"), (std::vector<std::string>{"set_mode", "play_sound"}));
}

TEST(KeywordBaseline, RepliesInTheCommandsLanguage) {
  auto calls = baseline().calls("수면 모드로 바꿔줘");
  EXPECT_TRUE(reply_in_language("ko", baseline().reply("수면 모드로 바꿔줘", calls)));
  EXPECT_TRUE(reply_in_language("en", baseline().reply("switch to sleep mode", calls)));
}

TEST(KeywordBaseline, EvaluatesHandwrittenCases) {
  const DomainSchema& schema = baseline().schema();
  auto cases = load_cases(resolve_domain_dir("air-purifier") + "/eval/handwritten.jsonl", schema);
  ASSERT_GE(cases.size(), 80u);
  EvalRun run = evaluate_cases(schema, cases, keyword_baseline_predictor(resolve_domain_dir("air-purifier")));
  nlohmann::json s = summarize(run);
  EXPECT_EQ(s["overall"]["n"].get<size_t>(), cases.size());
  for (const char* lang : {"en", "ko", "mix"}) EXPECT_GT(s["by_language"][lang]["n"].get<int>(), 10) << lang;
  for (const char* kind : {"single", "multi", "none"}) EXPECT_GT(s["by_kind"][kind]["n"].get<int>(), 5) << kind;
  // The baseline is a real matcher, neither empty nor perfect on these cases.
  double rate = s["overall"]["rate"];
  EXPECT_GT(rate, 0.3);
  EXPECT_LT(rate, 1.0);
  EXPECT_EQ(s["failures"].size(), size_t(s["overall"]["n"].get<int>() - s["overall"]["passed"].get<int>()));
}

}  // namespace
}  // namespace edgelm
