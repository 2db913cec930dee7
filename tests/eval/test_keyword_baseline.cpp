// The keyword baseline: duration parsing tables and a few commands per
// language, plus a check that it runs through the evaluation end to end on the
// project's hand-written cases.
#include <gtest/gtest.h>

#include "eval/cases.h"
#include "eval/keyword_baseline.h"

namespace edgelm {
namespace {

const DomainSchema& schema() {
  static DomainSchema s = load_schema(resolve_domain_dir("air-purifier") + "/functions.toml");
  return s;
}

TEST(KeywordBaseline, Durations) {
  struct Row { const char* text; int64_t minutes; };
  Row rows[] = {
      {"an hour and a half", 90}, {"90 minutes", 90}, {"half an hour", 30}, {"two hours", 120}, {"1.5 hours", 90},
      {"한 시간 반", 90}, {"두 시간", 120}, {"삼십 분", 30}, {"1시간 반", 90}, {"40분", 40}, {"2시간 30분", 150},
      {"turn it on", -1}, {"세게 해줘", -1},
  };
  for (const auto& r : rows) EXPECT_EQ(parse_duration_minutes(r.text), r.minutes) << r.text;
}

TEST(KeywordBaseline, Commands) {
  struct Row { const char* text; std::vector<std::string> names; };
  Row rows[] = {
      {"turn it on", {"set_power"}},
      {"꺼줘", {"set_power"}},
      {"sleep mode and turn off in 2 hours", {"set_mode", "set_timer"}},
      {"빗소리 틀어줘", {"play_sound"}},
      {"필터 상태 알려줘", {"get_filter_status"}},
      {"what's the weather like in Seoul tomorrow morning", {}},
  };
  for (const auto& r : rows) {
    std::vector<std::string> names;
    for (const auto& c : keyword_baseline_calls(schema(), r.text)) names.push_back(c.name);
    EXPECT_EQ(names, r.names) << r.text;
  }
}

TEST(KeywordBaseline, SeparatorsThatDoNotSplitAreSkippedOnce) {
  // Kept separators ("고 " after a non-Hangul byte, "and a half") followed by
  // more separators once made the clause splitter loop forever.
  auto calls = keyword_baseline_calls(schema(), "timer an hour and a half and then an hour and a half");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].arguments.at("minutes"), ArgValue(int64_t(90)));
  EXPECT_EQ(keyword_baseline_calls(schema(), "x 고 y 고 z 고 ").size(), 0u);
  auto ko = keyword_baseline_calls(schema(), "수면 모드로 바꾸고 조명 끄고 30분 뒤에 꺼줘");
  ASSERT_EQ(ko.size(), 3u);
  EXPECT_EQ(ko[2].name, "set_timer");
}

TEST(KeywordBaseline, EvaluatesHandwrittenCases) {
  auto cases = load_cases(resolve_domain_dir("air-purifier") + "/eval/handwritten.jsonl", schema());
  ASSERT_GE(cases.size(), 80u);
  EvalRun run = evaluate_cases(schema(), cases, keyword_baseline_predictor(schema()));
  nlohmann::json s = summarize(run);
  EXPECT_EQ(s["overall"]["n"].get<size_t>(), cases.size());
  // Every language and kind is present in the project's cases.
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
