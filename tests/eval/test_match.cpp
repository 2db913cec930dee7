// Table tests for the matching rules of functional success, the case loader,
// the language check and the report summary.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "device/device.h"
#include "eval/cases.h"
#include "eval/evaluate.h"
#include "eval/match.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const DomainSchema& schema() {
  static DomainSchema s = load_schema(resolve_domain_dir("air-purifier") + "/functions.toml");
  return s;
}

Call call(const std::string& name, std::map<std::string, ArgValue> args = {}) { return Call{name, std::move(args)}; }

struct MatchRow {
  const char* what;
  std::vector<Call> predicted, expected;
  bool match;
};

TEST(Match, MultisetTable) {
  Call on = call("set_power", {{"state", std::string("on")}});
  Call off = call("set_power", {{"state", std::string("off")}});
  Call sleep = call("set_mode", {{"mode", std::string("sleep")}});
  Call timer90 = call("set_timer", {{"minutes", int64_t(90)}});
  Call timer60 = call("set_timer", {{"minutes", int64_t(60)}});
  Call breathe = call("start_breathing");
  Call breathe5 = call("start_breathing", {{"minutes", int64_t(5)}});
  Call breathe10 = call("start_breathing", {{"minutes", int64_t(10)}});
  std::vector<MatchRow> rows = {
      {"identical single call", {on}, {on}, true},
      {"wrong enum value", {off}, {on}, false},
      {"wrong integer", {timer60}, {timer90}, false},
      {"order does not matter", {sleep, on}, {on, sleep}, true},
      {"a missing call fails", {on}, {on, sleep}, false},
      {"an extra call fails", {on, sleep, timer90}, {on, sleep}, false},
      {"counts matter: a repeated call is not the same multiset", {on, on}, {on}, false},
      {"counts matter both ways", {on, sleep}, {on, on}, false},
      {"repeated calls match when repeated in both", {on, on, sleep}, {on, sleep, on}, true},
      {"omitted optional equals its default", {breathe}, {breathe5}, true},
      {"default equals omitted optional", {breathe5}, {breathe}, true},
      {"optional with a non-default value differs", {breathe}, {breathe10}, false},
      {"no call expected, none predicted", {}, {}, true},
      {"no call expected, one predicted", {on}, {}, false},
      {"call expected, none predicted", {}, {on}, false},
      {"integer vs string value of the same text differ", {call("set_timer", {{"minutes", std::string("90")}})}, {timer90}, false},
  };
  for (const auto& r : rows) EXPECT_EQ(calls_match(schema(), r.predicted, r.expected), r.match) << r.what;
}

TEST(Match, Alternatives) {
  Call turbo = call("set_mode", {{"mode", std::string("turbo")}});
  Call up = call("adjust_fan_speed", {{"direction", std::string("up")}});
  Call high = call("set_fan_speed", {{"speed", std::string("high")}});
  std::vector<std::vector<Call>> answers = {{turbo}, {up}};
  EXPECT_EQ(match_answer(schema(), {turbo}, answers), 0);
  EXPECT_EQ(match_answer(schema(), {up}, answers), 1);
  EXPECT_EQ(match_answer(schema(), {high}, answers), -1);
  EXPECT_EQ(match_answer(schema(), {}, answers), -1);
  EXPECT_EQ(match_answer(schema(), {turbo, up}, answers), -1);
  // "No call" as one of several acceptable answers.
  std::vector<std::vector<Call>> maybe_none = {{}, {turbo}};
  EXPECT_EQ(match_answer(schema(), {}, maybe_none), 0);
  EXPECT_EQ(match_answer(schema(), {turbo}, maybe_none), 1);
}

TEST(Match, ArgumentScores) {
  Call on = call("set_power", {{"state", std::string("on")}});
  Call sleep = call("set_mode", {{"mode", std::string("sleep")}});
  Call turbo = call("set_mode", {{"mode", std::string("turbo")}});
  AnswerScore s = score_answer(schema(), {on, turbo}, {on, sleep});
  EXPECT_TRUE(s.names_match);
  EXPECT_EQ(s.args_total, 2);
  EXPECT_EQ(s.args_correct, 1);
  EXPECT_EQ(s.calls_found, 2);
  s = score_answer(schema(), {}, {on, sleep});
  EXPECT_FALSE(s.names_match);
  EXPECT_EQ(s.args_total, 2);
  EXPECT_EQ(s.args_correct, 0);
  // Defaults count as arguments on both sides.
  s = score_answer(schema(), {call("start_breathing")}, {call("start_breathing", {{"minutes", int64_t(5)}})});
  EXPECT_EQ(s.args_total, 1);
  EXPECT_EQ(s.args_correct, 1);
  // The closest answer of a failed prediction shares the most calls.
  std::vector<std::vector<Call>> answers = {{turbo}, {on, sleep}};
  EXPECT_EQ(closest_answer(schema(), {on, turbo, sleep}, answers), 1);
}

TEST(Cases, ParsesCaseAndSftLines) {
  auto c = parse_case(nlohmann::json::parse(R"({"id": "d001", "lang": "ko", "text": "수면 모드로 바꾸고 6시간 뒤에 꺼줘",
      "expected": [[{"name": "set_mode", "arguments": {"mode": "sleep"}}, {"name": "set_timer", "arguments": {"minutes": 360}}]],
      "types": ["multi_call", "numeric_conversion"]})"), schema(), "t");
  EXPECT_EQ(c.id, "d001");
  ASSERT_EQ(c.expected.size(), 1u);
  ASSERT_EQ(c.expected[0].size(), 2u);
  EXPECT_EQ(c.expected[0][1].arguments.at("minutes"), ArgValue(int64_t(360)));
  EXPECT_EQ(c.types, (std::vector<std::string>{"multi_call", "numeric_conversion"}));

  auto sft = parse_case(nlohmann::json::parse(R"({"id": "g1", "lang": "en", "messages": [
      {"role": "user", "content": "turn it on"},
      {"role": "assistant", "content": "On.", "tool_calls": [{"type": "function", "function": {"name": "set_power", "arguments": {"state": "on"}}}]}],
      "types": {"phenomenon": ["direct"], "template": "en.power.1"}})"), schema(), "t");
  EXPECT_EQ(sft.text, "turn it on");
  ASSERT_EQ(sft.expected.size(), 1u);
  EXPECT_EQ(sft.expected[0][0].name, "set_power");
  EXPECT_EQ(sft.types, std::vector<std::string>{"direct"});

  auto none = parse_case(nlohmann::json::parse(R"({"id": "n", "lang": "en", "text": "thanks", "expected": [[]]})"), schema(), "t");
  ASSERT_EQ(none.expected.size(), 1u);
  EXPECT_TRUE(none.expected[0].empty());
}

TEST(Cases, RejectsBadLinesWithTheirPlace) {
  const char* bad[] = {
      R"({"lang": "en", "text": "x", "expected": [[]]})",                                                    // no id
      R"({"id": "a", "lang": "fr", "text": "x", "expected": [[]]})",                                          // bad lang
      R"({"id": "a", "lang": "en", "text": "x"})",                                                           // no expected
      R"({"id": "a", "lang": "en", "text": "x", "expected": []})",                                           // empty expected
      R"({"id": "a", "lang": "en", "text": "x", "expected": [[{"name": "set_tv"}]]})",                       // unknown function
      R"({"id": "a", "lang": "en", "text": "x", "expected": [[{"name": "set_power", "arguments": {"state": "half"}}]]})",
      R"({"id": "a", "lang": "en", "text": "x", "expected": [[{"name": "set_timer", "arguments": {"minutes": 9999}}]]})",
      R"({"id": "a", "lang": "en", "text": "x", "expected": [{"name": "set_power"}]})",                      // not a list of lists
  };
  for (const char* line : bad) {
    try {
      parse_case(nlohmann::json::parse(line), schema(), "cases.jsonl line 7");
      ADD_FAILURE() << "accepted: " << line;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("cases.jsonl line 7"), std::string::npos) << e.what();
    }
  }
  auto dir = std::filesystem::temp_directory_path() / "edgelm_test_eval_cases";
  std::filesystem::create_directories(dir);
  std::ofstream((dir / "c.jsonl").string()) << R"({"id": "a", "lang": "en", "text": "x", "expected": [[]]})" << "\n\n{not json\n";
  try {
    load_cases((dir / "c.jsonl").string(), schema());
    ADD_FAILURE() << "accepted bad JSON";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("line 3"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load_cases((dir / "missing.jsonl").string(), schema()), Error);
  std::filesystem::remove_all(dir);
}

TEST(Language, ReplyScript) {
  EXPECT_TRUE(reply_in_language("ko", "수면 모드로 바꿨어요."));
  EXPECT_TRUE(reply_in_language("ko", "PM2.5는 18이에요."));
  EXPECT_FALSE(reply_in_language("ko", "Sleep mode on."));
  EXPECT_TRUE(reply_in_language("en", "Sleep mode on."));
  EXPECT_FALSE(reply_in_language("en", "수면 모드로 바꿨어요."));
  EXPECT_FALSE(reply_in_language("en", ""));
  EXPECT_TRUE(reply_in_language("mix", "Turbo mode 켰어요."));
  EXPECT_TRUE(reply_in_language("mix", "Done."));
  EXPECT_FALSE(reply_in_language("mix", "123."));
  // Truncated UTF-8 must not read past the end.
  EXPECT_FALSE(reply_in_language("ko", std::string("\xEC\x88", 2)));
}

TEST(Summary, CountsEveryBreakdown) {
  Call on = call("set_power", {{"state", std::string("on")}});
  Call sleep = call("set_mode", {{"mode", std::string("sleep")}});
  std::vector<EvalCase> cases = {
      {"a", "en", "turn it on", {{on}}, {"direct"}},
      {"b", "ko", "켜고 수면 모드", {{on, sleep}}, {"multi_call"}},
      {"c", "en", "turn on the tv", {{}}, {"out_of_scope"}},
      {"d", "mix", "sleep mode 해줘", {{sleep}}, {"code_switched"}},
  };
  // A predictor that gets a and c right, b half right, and d wrong with an error.
  std::map<std::string, Prediction> answers;
  answers["a"] = Prediction{{on}, "Turned on.", 5, 2.0, ""};
  answers["b"] = Prediction{{on}, "켰어요.", 7, 4.0, ""};
  answers["c"] = Prediction{{}, "I can only help with the purifier.", 9, 6.0, ""};
  answers["a"].calls_taken_back = 1;
  Predictor predict = [&](const EvalCase& c) {
    if (c.id == "d") throw Error("model broke");
    return answers.at(c.id);
  };
  EvalRun run = evaluate_cases(schema(), cases, predict);
  nlohmann::json s = summarize(run);
  EXPECT_EQ(s["overall"]["n"], 4);
  EXPECT_EQ(s["overall"]["passed"], 2);
  EXPECT_DOUBLE_EQ(s["overall"]["rate"].get<double>(), 0.5);
  EXPECT_EQ(s["by_language"]["en"]["passed"], 2);
  EXPECT_EQ(s["by_language"]["ko"]["passed"], 0);
  EXPECT_EQ(s["by_kind"]["multi"]["n"], 1);
  EXPECT_EQ(s["by_kind"]["none"]["passed"], 1);
  EXPECT_EQ(s["by_function"]["set_power"]["n"], 2);
  EXPECT_EQ(s["by_function"]["set_power"]["passed"], 1);
  EXPECT_EQ(s["by_function"]["set_mode"]["n"], 2);
  EXPECT_EQ(s["by_type"]["multi_call"]["passed"], 0);
  EXPECT_EQ(s["irrelevance"]["n"], 1);
  EXPECT_EQ(s["irrelevance"]["passed"], 1);
  EXPECT_EQ(s["missed_calls"]["n"], 3);
  EXPECT_EQ(s["missed_calls"]["passed"], 1);  // d got no call
  EXPECT_EQ(s["argument_accuracy"]["n"], 4);
  EXPECT_EQ(s["argument_accuracy"]["passed"], 2);
  EXPECT_EQ(s["reply_language"]["passed"], 3);  // d has no reply
  EXPECT_EQ(s["errors"], 1);
  EXPECT_EQ(s["answers_with_calls_taken_back"], 1);
  ASSERT_EQ(s["failures"].size(), 2u);
  EXPECT_EQ(s["failures"][0]["id"], "b");
  EXPECT_EQ(s["failures"][1]["error"], "model broke");
  EXPECT_DOUBLE_EQ(s["tokens_generated"]["median"].get<double>(), 6.0);  // 0, 5, 7, 9
  EXPECT_DOUBLE_EQ(s["latency_ms"]["p50"].get<double>(), percentile({2.0, 4.0, 6.0, run.results[3].prediction.latency_ms}, 0.5));
}

TEST(Summary, CountsStateChangingCallsOnOutOfScopeRequests) {
  const DeviceSpec device = load_device(resolve_domain_dir("air-purifier"));
  Call on = call("set_power", {{"state", std::string("on")}});
  Call quality = call("get_air_quality");
  Call tip = call("get_wellness_tip", {{"topic", std::string("sleep")}});
  std::vector<EvalCase> cases = {
      {"a", "en", "what's the weather", {{}}, {"out_of_scope"}},
      {"b", "en", "order a pizza", {{}}, {"out_of_scope"}},
      {"c", "en", "good job", {{}}, {"out_of_scope_mid"}},
      {"d", "en", "tell me a joke", {{}}, {"out_of_scope"}},
      {"e", "en", "turn it on", {{on}}, {"direct"}},  // not out of scope: its call does not count
      // A conversation typed out_of_scope_mid that ends on a command after the request: not counted either.
      {"f", "en", "ok, turn it on", {{on}}, {"out_of_scope_mid"}},
  };
  std::map<std::string, std::vector<Call>> answers = {{"a", {}}, {"b", {quality, on}}, {"c", {tip}}, {"d", {quality}}, {"e", {on}}, {"f", {on}}};
  EvalRun run = evaluate_cases(schema(), cases, [&](const EvalCase& c) { return Prediction{answers.at(c.id), "", 1, 1.0, ""}; });
  nlohmann::json s = summarize(run, &device);
  // b acted (set_power); c's tip only remembers its topic (reply_only), d only reads.
  EXPECT_EQ(s["out_of_scope"]["n"], 4);
  EXPECT_EQ(s["out_of_scope"]["acted"], 1);
  EXPECT_DOUBLE_EQ(s["out_of_scope"]["rate"].get<double>(), 0.25);
  EXPECT_FALSE(summarize(run).contains("out_of_scope"));  // without the device it cannot say
}

TEST(Summary, PartialCallsAndRefusedCallsDoNotAct) {
  const DeviceSpec device = load_device(resolve_domain_dir("smart-home"));
  Call unclear = call("intent_unclear", {{"reason", std::string("off_topic")}});
  Call kitchen = call("toggle_lights", {{"room", std::string("kitchen")}});  // no state: the device asks
  Call kitchen_on = call("toggle_lights", {{"room", std::string("kitchen")}, {"state", std::string("on")}});
  Call unlock = call("lock_door", {{"state", std::string("unlock")}});  // no door
  Call status = call("get_device_status", {{"device_type", std::string("door")}});
  std::vector<EvalCase> cases = {
      {"a", "en", "open the window", {{unclear}}, {"out_of_scope"}},
      {"b", "en", "order milk", {{unclear}}, {"out_of_scope"}},
      {"c", "en", "tell me a joke", {{unclear}}, {"out_of_scope"}},
      {"d", "en", "what's the weather", {{unclear}}, {"out_of_scope"}},
      {"e", "en", "call a taxi", {{unclear}}, {"out_of_scope"}},
  };
  Call bad = call("toggle_lights", {{"room", std::string("garden")}});  // outside the API: refused
  std::map<std::string, std::vector<Call>> answers = {
      {"a", {unlock}}, {"b", {kitchen}}, {"c", {status}}, {"d", {kitchen_on}}, {"e", {bad}}};
  EvalRun run = evaluate_cases(load_schema(resolve_domain_dir("smart-home") + "/functions.toml"), cases,
                               [&](const EvalCase& c) { return Prediction{answers.at(c.id), "", 1, 1.0, ""}; });
  nlohmann::json s = summarize(run, &device);
  EXPECT_EQ(s["out_of_scope"]["n"], 5);
  EXPECT_EQ(s["out_of_scope"]["acted"], 1);  // only d: the partial calls ask, the status reads, the garden does not exist
}

TEST(Summary, Percentile) {
  EXPECT_DOUBLE_EQ(percentile({}, 0.5), 0.0);
  EXPECT_DOUBLE_EQ(percentile({3}, 0.95), 3.0);
  EXPECT_DOUBLE_EQ(percentile({4, 1, 3, 2}, 0.5), 2.5);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 0.95), 10.5);
}

}  // namespace
}  // namespace edgelm
