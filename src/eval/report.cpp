#include "eval/report.h"

#include <cstdio>
#include <filesystem>
#include <tuple>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/svg_chart.h"

namespace edgelm {

std::string percent(double rate) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f%%", rate * 100.0);
  return buf;
}

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string tally_cell(const nlohmann::json& t) {
  return cat(percent(t.value("rate", 0.0)), " (", t.value("passed", 0), "/", t.value("n", 0), ")");
}

// summarize's out_of_scope: "3.2% (1/31)", or "–" without such cases.
std::string acted_cell(const nlohmann::json& t) {
  if (t.value("n", 0) == 0) return "–";
  return cat(percent(t.value("rate", 0.0)), " (", t.value("acted", 0), "/", t.value("n", 0), ")");
}

// Markdown table cells must not contain raw pipes or newlines.
std::string md_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out += "\\|";
    else if (c == '\n' || c == '\r') out += ' ';
    else out += c;
  }
  return out;
}

std::string calls_text(const nlohmann::json& calls) {
  if (!calls.is_array() || calls.empty()) return "(no call)";
  std::string s;
  for (const auto& c : calls) {
    if (!s.empty()) s += ", ";
    s += call_to_string(call_from_json(c));
  }
  return s;
}

void breakdown_table(std::string& md, const char* title, const nlohmann::json& m) {
  if (!m.is_object() || m.empty()) return;
  md += cat("\n### ", title, "\n\n| ", title, " | success |\n| --- | --- |\n");
  for (auto it = m.begin(); it != m.end(); ++it) md += cat("| ", md_escape(it.key()), " | ", tally_cell(*it), " |\n");
}

}  // namespace

std::string report_markdown(const nlohmann::json& s, size_t max_failures) {
  std::string md = cat("# Evaluation: ", s.value("name", std::string("model")), "\n\n");
  md += cat("- model: `", s.value("model", std::string()), "`\n- cases: `", s.value("cases", std::string()), "`\n\n");
  md += "| measure | value |\n| --- | --- |\n";
  md += cat("| functional success | ", tally_cell(s["overall"]), " |\n");
  md += cat("| no call where none belongs (irrelevance) | ", tally_cell(s["irrelevance"]), " |\n");
  md += cat("| commands needing calls that got none | ", tally_cell(s["missed_calls"]), " |\n");
  md += cat("| right functions (arguments aside) | ", tally_cell(s["function_accuracy"]), " |\n");
  md += cat("| argument accuracy | ", tally_cell(s["argument_accuracy"]), " |\n");
  md += cat("| reply in the command's language | ", tally_cell(s["reply_language"]), " |\n");
  md += cat("| tokens generated per command (median / mean) | ", fixed(s["tokens_generated"]["median"], 1), " / ",
            fixed(s["tokens_generated"]["mean"], 1), " |\n");
  md += cat("| latency per command (p50 / p95) | ", fixed(s["latency_ms"]["p50"], 1), " ms / ",
            fixed(s["latency_ms"]["p95"], 1), " ms |\n");
  md += cat("| predictor errors | ", s.value("errors", 0), " |\n");
  md += cat("| answers whose repeated call was taken back | ", s.value("answers_with_calls_taken_back", 0), " |\n");
  if (s.contains("out_of_scope"))
    md += cat("| out-of-scope requests answered with a state-changing call (lower is better) | ", acted_cell(s["out_of_scope"]), " |\n");
  breakdown_table(md, "language", s["by_language"]);
  breakdown_table(md, "kind", s["by_kind"]);
  breakdown_table(md, "function", s["by_function"]);
  breakdown_table(md, "type", s["by_type"]);
  // Conversations: by the user turn answered (1 = a single command).
  if (s.contains("by_turn") && s["by_turn"].size() > 1) breakdown_table(md, "turn", s["by_turn"]);
  const auto& failures = s["failures"];
  md += cat("\n### Failures (", failures.size(), ")\n\n");
  if (!failures.empty()) {
    md += "| id | lang | command | expected | predicted | reply |\n| --- | --- | --- | --- | --- | --- |\n";
    for (size_t i = 0; i < failures.size() && i < max_failures; ++i) {
      const auto& f = failures[i];
      std::string predicted = calls_text(f["predicted"]);
      if (!f.value("error", std::string()).empty()) predicted += cat(" [error: ", f["error"].get<std::string>(), "]");
      md += cat("| ", md_escape(f["id"]), " | ", f["lang"].get<std::string>(), " | ", md_escape(f["text"]), " | ",
                md_escape(calls_text(f["expected"][0])), f["expected"].size() > 1 ? " (or others)" : "", " | ",
                md_escape(predicted), " | ", md_escape(f.value("reply", std::string())), " |\n");
    }
    if (failures.size() > max_failures) md += cat("\n(", failures.size() - max_failures, " more in report.json)\n");
  }
  return md;
}

std::string report_chart_svg(const nlohmann::json& s) {
  // Bars coloured by how close they are to the targets drawn as grid lines.
  auto bar = [](const std::string& label, const nlohmann::json& tally) {
    const double rate = tally["rate"];
    const char* color = rate >= 0.95 ? "#2a9d8f" : rate >= 0.8 ? "#e9c46a" : "#e76f51";
    return BarGroup{label, {rate}, cat(percent(rate), " (n=", tally["n"].get<int>(), ")"), color, false};
  };
  BarChart chart;
  chart.title = cat("Functional success: ", s.value("name", std::string("model")));
  chart.layout = BarChart::Layout::Horizontal;
  chart.max_value = 1;
  chart.grid = {0, 0.5, 0.9, 1};
  chart.format = [](double v) { return cat(int(v * 100 + 0.5), "%"); };
  chart.label_width = 170;
  chart.groups.push_back(bar("overall", s["overall"]));
  for (const char* group : {"by_language", "by_kind", "by_function", "by_type", "by_turn"}) {
    if (!s.contains(group) || s[group].empty() || (std::string(group) == "by_turn" && s[group].size() < 2)) continue;
    chart.groups.push_back({std::string(group + 3), {}, "", "", true});
    for (auto it = s[group].begin(); it != s[group].end(); ++it) chart.groups.push_back(bar(it.key(), *it));
  }
  return bar_chart_svg(chart);
}

std::string predictions_jsonl(const EvalRun& run) {
  std::string out;
  for (const auto& r : run.results) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : r.prediction.calls) calls.push_back(call_to_json(c));
    nlohmann::json j = {{"id", r.eval_case.id}, {"lang", r.eval_case.lang}, {"text", r.eval_case.text},
                        {"calls", calls}, {"reply", r.prediction.reply}, {"passed", r.passed()},
                        {"tokens_generated", r.prediction.tokens_generated}, {"latency_ms", r.prediction.latency_ms}};
    if (!r.prediction.error.empty()) j["error"] = r.prediction.error;
    if (r.prediction.calls_taken_back > 0) j["calls_taken_back"] = r.prediction.calls_taken_back;
    if (r.prediction.action_probability >= 0) j["action_probability"] = r.prediction.action_probability;
    if (r.prediction.action_withheld) j["action_withheld"] = true;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  return out;
}

void write_report(const std::string& dir, const EvalRun& run, const nlohmann::json& summary) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) fail("cannot create report folder '", dir, "': ", ec.message());
  auto path = [&](const char* name) { return (std::filesystem::path(dir) / name).string(); };
  write_file_atomic(path("report.json"), summary.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  write_file_atomic(path("report.md"), report_markdown(summary));
  write_file_atomic(path("report.svg"), report_chart_svg(summary));
  write_file_atomic(path("predictions.jsonl"), predictions_jsonl(run));
}

std::string comparison_markdown(const std::vector<nlohmann::json>& summaries, const std::vector<std::string>& languages) {
  std::string md = "| model | success | ", rule = "| --- | --- | ";
  for (const auto& l : languages) md += md_escape(l) + " | ", rule += "--- | ";
  md += "single | multi | no call | irrelevance | acts on out-of-scope | args | reply lang | tokens (median) | latency p50 / p95 |\n" +
        rule + "--- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  auto rate_of = [](const nlohmann::json& m, const std::string& key) -> std::string {
    if (!m.contains(key)) return "–";
    return percent(m[key]["rate"]);
  };
  for (const auto& s : summaries) {
    md += cat("| ", md_escape(s.value("name", std::string())), " | ", tally_cell(s["overall"]), " | ");
    for (const auto& l : languages) md += rate_of(s["by_language"], l) + " | ";
    md += cat(rate_of(s["by_kind"], "single"), " | ", rate_of(s["by_kind"], "multi"), " | ",
              rate_of(s["by_kind"], "none"), " | ", percent(s["irrelevance"]["rate"]), " | ",
              acted_cell(s.value("out_of_scope", nlohmann::json::object())), " | ", percent(s["argument_accuracy"]["rate"]), " | ",
              percent(s["reply_language"]["rate"]), " | ",
              fixed(s["tokens_generated"]["median"], 1), " | ", fixed(s["latency_ms"]["p50"], 1), " / ",
              fixed(s["latency_ms"]["p95"], 1), " ms |\n");
  }
  return md;
}

std::string comparison_chart_svg(const std::vector<nlohmann::json>& summaries, const std::vector<std::string>& languages) {
  // (group label, where its rate is in a summary: "" for overall, else the breakdown and its key)
  std::vector<std::tuple<std::string, std::string, std::string>> groups = {{"overall", "", ""}};
  for (const auto& l : languages) groups.emplace_back(l, "by_language", l);
  groups.emplace_back("no call", "by_kind", "none");
  BarChart chart;
  chart.title = "Functional success by model";
  chart.max_value = 1;
  chart.grid = {0, 0.5, 0.9, 1};
  chart.format = [](double v) { return percent(v); };
  chart.bar_length = 200;
  for (const auto& s : summaries)
    chart.series.push_back(cat(s.value("name", std::string()), " — ", percent(s["overall"]["rate"])));
  for (const auto& [label, breakdown, key] : groups) {
    BarGroup g{label, {}, "", "", false};
    for (const auto& s : summaries) {
      double rate = 0;
      if (breakdown.empty()) rate = s["overall"]["rate"];
      else if (s.contains(breakdown) && s[breakdown].contains(key)) rate = s[breakdown][key]["rate"];
      g.values.push_back(rate);
    }
    chart.groups.push_back(std::move(g));
  }
  return bar_chart_svg(chart);
}

}  // namespace edgelm
