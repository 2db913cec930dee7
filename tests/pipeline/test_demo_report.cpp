// The report card's targets, on made-up evaluation summaries: they are the
// domain's (generate.toml [report_targets]), and out-of-scope requests are
// judged on the call the cases expect where the domain answers them with one.
#include <gtest/gtest.h>

#include <filesystem>

#include "data/phrasebook.h"
#include "pipeline/demo.h"
#include "pipeline/demo_report.h"
#include "platform/atomic_file.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

nlohmann::json tally(int n, int passed) { return {{"n", n}, {"passed", passed}, {"rate", n ? double(passed) / n : 0.0}}; }

// An eval summary with the fields the card reads.
nlohmann::json summary(double overall, double ko, const nlohmann::json& irrelevance, const nlohmann::json& by_type) {
  return {{"name", "m"},
          {"overall", tally(100, int(overall * 100))},
          {"by_language", {{"en", tally(10, 10)}, {"ko", tally(100, int(ko * 100))}}},
          {"by_kind", nlohmann::json::object()},
          {"by_type", by_type},
          {"irrelevance", irrelevance},
          {"argument_accuracy", tally(1, 1)},
          {"reply_language", tally(1, 1)},
          {"tokens_generated", {{"median", 10.0}}},
          {"latency_ms", {{"p50", 1.0}, {"p95", 2.0}}}};
}

nlohmann::json card_for(const std::string& name, const data::ReportTargets& targets, const std::vector<std::string>& oos_calls,
                        const nlohmann::json& model_summary) {
  fs::path out = fs::temp_directory_path() / ("edgelm_test_demo_report_" + name);
  fs::remove_all(out);
  StageRunner st(out.string(), 1, false, true);
  DemoOptions o;
  o.domain = name;
  DemoPlan plan{};
  nlohmann::ordered_json manifest = nlohmann::ordered_json::object();
  const nlohmann::json empty = nlohmann::json::object();
  nlohmann::json results = {{"handwritten", {{"model", model_summary}}}};
  const std::vector<std::string> languages = {"en", "ko", "mix"};
  DemoReportInput in{o, plan, manifest, empty, empty, empty, empty, empty, empty, results, empty, empty, languages, targets, oos_calls};
  nlohmann::json card = write_demo_report(st, in);
  card["report_md"] = read_file((out / "report.md").string());
  fs::remove_all(out);
  return card;
}

TEST(DemoReport, OutOfScopeCallsAreJudgedOnTheirOwnRow) {
  data::ReportTargets t;  // the defaults: 95 / 93 / 95
  nlohmann::json s = summary(0.96, 0.92, tally(0, 0), {{"out_of_scope", tally(20, 19)}});
  nlohmann::json card = card_for("calls", t, {"intent_unclear"}, s);
  const nlohmann::json& m = card["targets"]["model"];
  EXPECT_TRUE(m["functional_success"]["met"].get<bool>());
  EXPECT_FALSE(m["every_language"]["met"].get<bool>());  // Korean 92% < 93%
  EXPECT_EQ(m["every_language"]["lowest"], "ko");
  EXPECT_DOUBLE_EQ(m["out_of_scope_call"]["value"].get<double>(), 0.95);
  EXPECT_TRUE(m["out_of_scope_call"]["met"].get<bool>());
  EXPECT_FALSE(m.contains("no_call_on_out_of_scope"));  // no case expects no call
  const std::string md = card["report_md"];
  EXPECT_NE(md.find("| model: out-of-scope requests → intent_unclear ≥ 95.0% | 95.0% | met |"), std::string::npos) << md;
  EXPECT_NE(md.find("| model: every language (lowest: ko) ≥ 93.0% | 92.0% | NOT met |"), std::string::npos) << md;
}

TEST(DemoReport, NoCallDomainsAndTheirOwnThresholds) {
  data::ReportTargets t;
  t.every_language = 0.90;  // the air purifier's
  nlohmann::json s = summary(0.96, 0.92, tally(10, 9), {{"out_of_scope", tally(10, 9)}});
  nlohmann::json card = card_for("no_call", t, {}, s);
  const nlohmann::json& m = card["targets"]["model"];
  EXPECT_TRUE(m["every_language"]["met"].get<bool>());
  EXPECT_FALSE(m["no_call_on_out_of_scope"]["met"].get<bool>());  // 90% < 95%
  EXPECT_FALSE(m.contains("out_of_scope_call"));
  EXPECT_FALSE(card["targets"].contains("model-q8_0"));  // no results for it
  EXPECT_NE(std::string(card["report_md"]).find("| model: no call on out-of-scope requests ≥ 95.0% | 90.0% | NOT met |"),
            std::string::npos);
}

TEST(DemoReport, StateChangingCallsOnOutOfScopeRequestsHaveTheirOwnCeiling) {
  data::ReportTargets t;  // out_of_scope_acted: at most 1%
  nlohmann::json s = summary(0.96, 0.95, tally(10, 9), {{"out_of_scope", tally(10, 9)}});
  s["out_of_scope"] = {{"n", 10}, {"acted", 1}, {"rate", 0.1}};
  nlohmann::json card = card_for("acted", t, {}, s);
  const nlohmann::json& m = card["targets"]["model"];
  EXPECT_DOUBLE_EQ(m["out_of_scope_acted"]["value"].get<double>(), 0.1);
  EXPECT_FALSE(m["out_of_scope_acted"]["met"].get<bool>());  // lower is better: 10% > 1%
  const std::string md = card["report_md"];
  EXPECT_NE(md.find("| model: out-of-scope requests answered with a state-changing call ≤ 1.0% | 10.0% (1/10) | NOT met |"),
            std::string::npos) << md;
  EXPECT_NE(md.find("acts on out-of-scope"), std::string::npos) << md;  // the results table's column
  s["out_of_scope"] = {{"n", 10}, {"acted", 0}, {"rate", 0.0}};
  EXPECT_TRUE(card_for("acted0", t, {}, s)["targets"]["model"]["out_of_scope_acted"]["met"].get<bool>());
}

}  // namespace
}  // namespace edgelm
