#pragma once
// The eval report as files: report.json (the summary of evaluate.h),
// report.md (the same figures for people), report.svg (a bar chart of the
// breakdown) and predictions.jsonl (every case with what was predicted).
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "eval/evaluate.h"

namespace edgelm {

std::string report_markdown(const nlohmann::json& summary, size_t max_failures = 40);
// Horizontal bars: overall, each language, kind, function and type tag.
std::string report_chart_svg(const nlohmann::json& summary);
std::string predictions_jsonl(const EvalRun& run);
// Writes the four files into dir (created if missing), each atomically.
void write_report(const std::string& dir, const EvalRun& run, const nlohmann::json& summary);

// Several runs side by side (the demo's models, ablations and baselines): one
// row per run with the headline figures. `languages` are the language
// columns: the domain's languages and the code-switched label
// (language_labels in src/domain/language.h).
std::string comparison_markdown(const std::vector<nlohmann::json>& summaries, const std::vector<std::string>& languages);
// One grouped bar chart of success overall and per language for several runs.
std::string comparison_chart_svg(const std::vector<nlohmann::json>& summaries, const std::vector<std::string>& languages);

// "97.2%" with one decimal.
std::string percent(double rate);

}  // namespace edgelm
