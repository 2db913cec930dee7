// edgelm eval: functional success of a model (or of the keyword baseline) on
// a JSONL case file, with its breakdown, as Markdown + JSON + SVG.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/agent_options.h"
#include "cli/command.h"
#include "domain/schema.h"
#include "eval/agent_predictor.h"
#include "eval/cases.h"
#include "eval/keyword_baseline.h"
#include "eval/report.h"
#include "platform/error.h"
#include "platform/thread_pool.h"

namespace edgelm::cli {
namespace cmd_eval {

struct EvalOptions {
  std::string model, cases, report, domain, lora;
  float lora_scale = 1.0f, min_action_probability = kDefaultMinActionProbability;
  bool no_constrain = false, repeated_calls = false, keyword_baseline = false, quiet = false;
  int threads = 0, max_reply_tokens = 48;
};

void print_summary(const nlohmann::json& s) {
  auto line = [&](const char* what, const nlohmann::json& t) {
    std::printf("  %-34s %6s  (%d/%d)\n", what, percent(t["rate"]).c_str(), t["passed"].get<int>(), t["n"].get<int>());
  };
  std::printf("%s on %s\n", s["name"].get<std::string>().c_str(), s["cases"].get<std::string>().c_str());
  line("functional success", s["overall"]);
  for (auto it = s["by_language"].begin(); it != s["by_language"].end(); ++it) line(("  language " + it.key()).c_str(), *it);
  for (auto it = s["by_kind"].begin(); it != s["by_kind"].end(); ++it) line(("  kind " + it.key()).c_str(), *it);
  line("no call where none belongs", s["irrelevance"]);
  if (s.contains("out_of_scope") && s["out_of_scope"]["n"].get<int>() > 0)
    std::printf("  %-34s %5.1f%% (%d/%d)\n", "out-of-scope, state-changing call", 100 * s["out_of_scope"]["rate"].get<double>(),
                s["out_of_scope"]["acted"].get<int>(), s["out_of_scope"]["n"].get<int>());
  line("argument accuracy", s["argument_accuracy"]);
  line("reply in the command's language", s["reply_language"]);
  std::printf("  %-34s %6.1f median, %.1f mean\n", "tokens generated per command", s["tokens_generated"]["median"].get<double>(),
              s["tokens_generated"]["mean"].get<double>());
  std::printf("  %-34s %6d\n", "answers with a call taken back", s.value("answers_with_calls_taken_back", 0));
  std::printf("  %-34s %6.1f ms p50, %.1f ms p95\n", "latency per command", s["latency_ms"]["p50"].get<double>(),
              s["latency_ms"]["p95"].get<double>());
}

void run_eval(const EvalOptions& o) {
  if (o.model.empty() == !o.keyword_baseline) fail("give either --model FILE or --keyword-baseline");
  if (o.threads > 0) set_default_threads(o.threads);
  const std::string domain_dir = domain_dir_for_model(o.domain, o.model);
  auto device = std::make_shared<const DeviceSpec>(load_device(domain_dir));
  const DomainSchema& schema = device->schema;
  std::string cases_path = o.cases.empty() ? domain_dir + "/eval/handwritten.jsonl" : o.cases;
  std::vector<EvalCase> cases = load_cases(cases_path, schema);
  std::string label = o.quiet ? "" : "eval";
  EvalRun run;
  if (o.keyword_baseline) {
    run = evaluate_cases(schema, cases, keyword_baseline_predictor(domain_dir), label);
    run.name = "keyword baseline";
    run.model = "keyword baseline";
  } else {
    ModelEvalOptions mo;
    mo.constrained = !o.no_constrain;
    mo.distinct_calls = !o.repeated_calls;
    mo.max_reply_tokens = o.max_reply_tokens;
    mo.label = label;
    mo.lora = o.lora;
    mo.lora_scale = o.lora_scale;
    mo.min_action_probability = o.min_action_probability;
    run = evaluate_model(o.model, device, cases, mo);
  }
  run.cases_path = cases_path;
  nlohmann::json summary = summarize(run, device.get());
  print_summary(summary);
  if (!o.report.empty()) {
    write_report(o.report, run, summary);
    std::printf("report: %s/report.md (also report.json, report.svg, predictions.jsonl)\n", o.report.c_str());
  }
  // The last line is machine-readable: the headline figures.
  nlohmann::json last = {{"overall", summary["overall"]},
                         {"by_language", summary["by_language"]},
                         {"irrelevance", summary["irrelevance"]},
                         {"tokens_generated", summary["tokens_generated"]},
                         {"latency_ms", summary["latency_ms"]}};
  if (summary.contains("out_of_scope")) last["out_of_scope"] = summary["out_of_scope"];
  std::printf("%s\n", last.dump().c_str());
}

void setup(CLI::App& app) {
  auto o = std::make_shared<EvalOptions>();
  CLI::App* cmd = app.add_subcommand("eval", "Functional success of a model on evaluation cases (JSONL)");
  cmd->add_option("--model", o->model, "model GGUF file (with its tokenizer)");
  cmd->add_option("--cases", o->cases, "case file (JSONL: id, lang, text, expected; or SFT lines); default: the domain's eval/handwritten.jsonl");
  cmd->add_option("--report", o->report, "folder for report.md, report.json, report.svg, predictions.jsonl");
  cmd->add_option("--domain", o->domain,
                  std::string("domain folder or built-in name (default: the one the model was trained for, else ") + kDefaultDomain + ")");
  cmd->add_flag("--no-constrain", o->no_constrain, "decode without the schema grammar (an ablation)");
  cmd->add_flag("--repeated-calls", o->repeated_calls,
                "let an answer call the same function with the same values twice (default: such a call is taken back)");
  cmd->add_flag("--keyword-baseline", o->keyword_baseline, "evaluate the keyword baseline instead of a model");
  cmd->add_option("--max-reply-tokens", o->max_reply_tokens, "reply length limit in tokens")->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads (0: all cores)")->capture_default_str();
  cmd->add_flag("--quiet", o->quiet, "no progress bar");
  cmd->add_option("--lora", o->lora, "a LoRA adapter (llama.cpp's GGUF form) applied on top of the model");
  cmd->add_option("--lora-scale", o->lora_scale, "multiplies the adapter's alpha/rank scale")->capture_default_str();
  add_min_action_probability(cmd, o->min_action_probability);
  cmd->callback([o] { run_eval(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_eval
}  // namespace edgelm::cli
