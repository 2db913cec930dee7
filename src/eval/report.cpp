#include "eval/report.h"

#include <cstdio>
#include <filesystem>

#include "platform/atomic_file.h"
#include "platform/error.h"

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

std::string xml_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<') out += "&lt;";
    else if (c == '>') out += "&gt;";
    else if (c == '&') out += "&amp;";
    else if (c == '"') out += "&quot;";
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
  breakdown_table(md, "language", s["by_language"]);
  breakdown_table(md, "kind", s["by_kind"]);
  breakdown_table(md, "function", s["by_function"]);
  breakdown_table(md, "type", s["by_type"]);
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
  struct Bar { std::string label; double rate; int n; bool heading; };
  std::vector<Bar> bars;
  bars.push_back({"overall", s["overall"]["rate"], s["overall"]["n"], false});
  for (const char* group : {"by_language", "by_kind", "by_function", "by_type"}) {
    if (!s.contains(group) || s[group].empty()) continue;
    bars.push_back({std::string(group + 3), 0, 0, true});
    for (auto it = s[group].begin(); it != s[group].end(); ++it)
      bars.push_back({it.key(), (*it)["rate"], (*it)["n"], false});
  }
  const int row = 18, left = 170, width = 300, top = 40;
  int height = top + int(bars.size()) * row + 20;
  std::string svg = cat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", left + width + 120, "\" height=\"", height,
                        "\" font-family=\"sans-serif\" font-size=\"12\">\n");
  svg += cat("<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Functional success: ",
             xml_escape(s.value("name", std::string("model"))), "</text>\n");
  for (int pct : {0, 50, 90, 100}) {
    int x = left + width * pct / 100;
    svg += cat("<line x1=\"", x, "\" y1=\"", top - 6, "\" x2=\"", x, "\" y2=\"", height - 18,
               "\" stroke=\"#ccc\" stroke-dasharray=\"2,2\"/><text x=\"", x - 8, "\" y=\"", height - 5, "\" fill=\"#666\">", pct,
               "%</text>\n");
  }
  for (size_t i = 0; i < bars.size(); ++i) {
    int y = top + int(i) * row;
    const Bar& b = bars[i];
    if (b.heading) {
      svg += cat("<text x=\"10\" y=\"", y + 13, "\" font-weight=\"bold\">", xml_escape(b.label), "</text>\n");
      continue;
    }
    int w = int(b.rate * width + 0.5);
    const char* color = b.rate >= 0.95 ? "#2a9d8f" : b.rate >= 0.8 ? "#e9c46a" : "#e76f51";
    svg += cat("<text x=\"", left - 6, "\" y=\"", y + 13, "\" text-anchor=\"end\">", xml_escape(b.label), "</text>");
    svg += cat("<rect x=\"", left, "\" y=\"", y + 2, "\" width=\"", w, "\" height=\"", row - 5, "\" fill=\"", color, "\"/>");
    svg += cat("<text x=\"", left + w + 4, "\" y=\"", y + 13, "\">", percent(b.rate), " (n=", b.n, ")</text>\n");
  }
  return svg + "</svg>\n";
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

std::string comparison_markdown(const std::vector<nlohmann::json>& summaries) {
  std::string md =
      "| model | success | en | ko | mix | single | multi | no call | irrelevance | args | reply lang | tokens (median) | "
      "latency p50 / p95 |\n| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |\n";
  auto rate_of = [](const nlohmann::json& m, const char* key) -> std::string {
    if (!m.contains(key)) return "–";
    return percent(m[key]["rate"]);
  };
  for (const auto& s : summaries) {
    md += cat("| ", md_escape(s.value("name", std::string())), " | ", tally_cell(s["overall"]), " | ",
              rate_of(s["by_language"], "en"), " | ", rate_of(s["by_language"], "ko"), " | ", rate_of(s["by_language"], "mix"),
              " | ", rate_of(s["by_kind"], "single"), " | ", rate_of(s["by_kind"], "multi"), " | ",
              rate_of(s["by_kind"], "none"), " | ", percent(s["irrelevance"]["rate"]), " | ",
              percent(s["argument_accuracy"]["rate"]), " | ", percent(s["reply_language"]["rate"]), " | ",
              fixed(s["tokens_generated"]["median"], 1), " | ", fixed(s["latency_ms"]["p50"], 1), " / ",
              fixed(s["latency_ms"]["p95"], 1), " ms |\n");
  }
  return md;
}

std::string comparison_chart_svg(const std::vector<nlohmann::json>& summaries) {
  const std::vector<std::pair<std::string, std::string>> groups = {
      {"overall", ""}, {"en", "by_language"}, {"ko", "by_language"}, {"mix", "by_language"}, {"no call", "by_kind"}};
  const char* colors[] = {"#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8ab17d", "#6d597a", "#b56576"};
  const int bar_w = 14, gap = 24, chart_h = 200, top = 40, left = 40;
  int group_w = int(summaries.size()) * bar_w + gap;
  int width = left + int(groups.size()) * group_w + 20;
  int legend_h = int(summaries.size()) * 16 + 10;
  int height = top + chart_h + 30 + legend_h;
  std::string svg = cat("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"", std::max(width, 420), "\" height=\"", height,
                        "\" font-family=\"sans-serif\" font-size=\"12\">\n");
  svg += "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">Functional success by model</text>\n";
  for (int pct : {0, 50, 90, 100}) {
    int y = top + chart_h - chart_h * pct / 100;
    svg += cat("<line x1=\"", left, "\" y1=\"", y, "\" x2=\"", width - 10, "\" y2=\"", y,
               "\" stroke=\"#ccc\" stroke-dasharray=\"2,2\"/><text x=\"4\" y=\"", y + 4, "\" fill=\"#666\">", pct, "%</text>\n");
  }
  for (size_t g = 0; g < groups.size(); ++g) {
    int x0 = left + int(g) * group_w + gap / 2;
    for (size_t m = 0; m < summaries.size(); ++m) {
      const auto& s = summaries[m];
      double rate = 0;
      if (groups[g].second.empty()) rate = s["overall"]["rate"];
      else {
        const char* key = groups[g].first == "no call" ? "none" : groups[g].first.c_str();
        if (s[groups[g].second].contains(key)) rate = s[groups[g].second][key]["rate"];
      }
      int h = int(rate * chart_h + 0.5);
      svg += cat("<rect x=\"", x0 + int(m) * bar_w, "\" y=\"", top + chart_h - h, "\" width=\"", bar_w - 2, "\" height=\"", h,
                 "\" fill=\"", colors[m % 8], "\"><title>", xml_escape(s.value("name", std::string())), ": ", percent(rate),
                 "</title></rect>\n");
    }
    svg += cat("<text x=\"", x0, "\" y=\"", top + chart_h + 16, "\">", xml_escape(groups[g].first), "</text>\n");
  }
  for (size_t m = 0; m < summaries.size(); ++m) {
    int y = top + chart_h + 30 + int(m) * 16;
    svg += cat("<rect x=\"", left, "\" y=\"", y, "\" width=\"10\" height=\"10\" fill=\"", colors[m % 8], "\"/><text x=\"",
               left + 16, "\" y=\"", y + 10, "\">", xml_escape(summaries[m].value("name", std::string())), " — ",
               percent(summaries[m]["overall"]["rate"]), "</text>\n");
  }
  return svg + "</svg>\n";
}

}  // namespace edgelm
