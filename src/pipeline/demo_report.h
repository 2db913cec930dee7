#pragma once
// The demo's report card: report.md (stage timings, data, model sizes, the
// results of every model file, ablation and baseline side by side, the loss
// curve, tokens and latency per command, the targets), report.json with the
// same figures, comparison.svg and loss_curve.svg.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/phrasebook.h"
#include "pipeline/demo.h"
#include "pipeline/stages.h"

namespace edgelm {

struct DemoReportInput {
  const DemoOptions& options;
  const DemoPlan& plan;
  const nlohmann::ordered_json& manifest;   // StageRunner::manifest(), in run order
  const nlohmann::json &data, &data_unbalanced, &tokenizer, &train, &train_unbalanced, &quant;
  const nlohmann::json& results;    // case set -> eval slug -> eval summary (without failures)
  const nlohmann::json& focus;      // the focus round: {eval, data, train}, or empty without one
  const nlohmann::json& dpo;        // the DPO stage's training figures, or empty without one
  const std::vector<std::string>& languages;  // the results' language columns: the domain's, then code-switched
  const data::ReportTargets& targets;         // the domain's (generate.toml [report_targets])
  // The functions the hand-written out-of-scope cases expect (intent_unclear);
  // empty where out-of-scope requests get no call.
  const std::vector<std::string>& out_of_scope_calls;
  // With a base model (demo --base): the from-scratch ablation's training, else empty.
  const nlohmann::json& train_scratch = empty_json();
  // Case set -> {n, seen: [ids]}: hand-written cases whose text is also a training text.
  const nlohmann::json& seen_in_training = empty_json();
  static const nlohmann::json& empty_json() {
    static const nlohmann::json e = nlohmann::json::object();
    return e;
  }
};

// Writes report.md, report.json, comparison.svg, loss_curve.svg into the run folder; returns report.json's content.
nlohmann::json write_demo_report(const StageRunner& stages, const DemoReportInput& in);
// A few lines on stdout: the headline figures and how to chat with the model.
void print_demo_summary(const nlohmann::json& card);

// A line chart of [[step, loss], ...] series (name -> points).
std::string loss_curve_svg(const std::vector<std::pair<std::string, nlohmann::json>>& series);

}  // namespace edgelm
