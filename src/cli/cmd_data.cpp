// edgelm data generate | audit
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "data/dataset.h"
#include "device/device.h"
#include "eval/cases.h"
#include "domain/schema.h"
#include "platform/error.h"

namespace edgelm::cli {
namespace cmd_data {

void run_generate(GenerateOptions o, const std::string& balance) {
  if (balance != "on" && balance != "off") fail("--balance must be on or off, not '", balance, "'");
  o.balance = balance == "on";
  o.domain_dir = resolve_domain_dir(o.domain_dir);
  DataSummary s = generate_dataset(o);
  std::printf("wrote %s: %lld train, %lld valid, %lld test, %lld DPO pairs (%lld templates, %lld drawn, %lld duplicates dropped) in %.2f s\n",
              o.out_dir.c_str(), (long long)s.n_train, (long long)s.n_valid, (long long)s.n_test, (long long)s.n_dpo,
              (long long)s.n_templates, (long long)s.n_generated, (long long)s.n_duplicates, s.seconds);
  nlohmann::json j = {{"train", s.n_train}, {"valid", s.n_valid}, {"test", s.n_test}, {"dpo", s.n_dpo},
                      {"templates", s.n_templates}, {"seconds", s.seconds}};
  std::printf("%s\n", j.dump().c_str());
}

void run_audit(const std::string& dir, AuditOptions o, const std::vector<std::string>& case_files) {
  if (!o.domain_dir.empty()) o.domain_dir = resolve_domain_dir(o.domain_dir);
  if (!case_files.empty()) {
    if (o.domain_dir.empty()) o.domain_dir = domain_dir_of_data(dir);
    const DomainSchema schema = load_device(o.domain_dir).schema;
    for (const auto& path : case_files) {
      std::vector<CaseText> texts;
      for (const EvalCase& c : load_cases(path, schema)) texts.push_back(case_text(c));
      o.case_sets.push_back({path, std::move(texts)});
    }
  }
  AuditReport r = audit_dataset(dir, o);
  std::printf("%lld examples, %zu coverage cells, %zu gaps\n", (long long)r.n_examples, r.cells.size(), r.gaps.size());
  for (const auto& g : r.gaps)
    std::printf("  gap: %-50s %6lld (target %lld)%s\n", g.what.c_str(), (long long)g.count, (long long)g.target, g.missing() ? " MISSING" : "");
  for (const auto& [k, s] : r.lengths)
    std::printf("  %-14s mean %.1f  p50 %.0f  p95 %.0f  max %lld\n", k.c_str(), s.mean, s.p50, s.p95, (long long)s.max);
  nlohmann::json seen = nlohmann::json::object();
  for (const auto& c : r.cases_in_training) {
    std::printf("  %s: %zu of %lld cases seen in training\n", c.name.c_str(), c.seen.size(), (long long)c.n);
    seen[c.name] = c.seen.size();
  }
  if (o.write_files) std::printf("wrote %s/audit.md, audit.json, audit.svg\n", dir.c_str());
  nlohmann::json j = {{"examples", r.n_examples}, {"cells", r.cells.size()}, {"gaps", r.gaps.size()}};
  if (!r.cases_in_training.empty()) j["cases_seen_in_training"] = seen;
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  CLI::App* data = command_group(app, "data", "Domain data: generate, typify, balance, split, audit");

  auto o = std::make_shared<GenerateOptions>();
  auto balance = std::make_shared<std::string>("on");
  o->domain_dir = kDefaultDomain;
  o->quiet = false;
  CLI::App* gen = data->add_subcommand("generate", "Generate a typified, balanced, split data set from a domain folder");
  gen->add_option("--domain", o->domain_dir, "domain folder or built-in domain name")->capture_default_str();
  gen->add_option("--out", o->out_dir, "output folder")->required();
  gen->add_option("--n", o->n, "examples over all splits")->capture_default_str();
  gen->add_option("--seed", o->seed, "random seed")->capture_default_str();
  gen->add_option("--balance", *balance, "on: towards the target distribution; off: the raw generator distribution")->capture_default_str();
  gen->add_option("--focus", o->focus_report, "eval report JSON: raise the weight of what failed");
  gen->add_option("--noise", o->noise_rate, "share of examples with surface noise")->capture_default_str();
  gen->add_option("--test-fraction", o->test_fraction, "share of templates held out for test")->capture_default_str();
  gen->add_option("--valid-fraction", o->valid_fraction, "share of templates held out for valid")->capture_default_str();
  gen->add_option("--dpo-fraction", o->dpo_fraction, "DPO pairs per train example (about)")->capture_default_str();
  gen->callback([o, balance] { run_generate(*o, *balance); });

  auto dir = std::make_shared<std::string>();
  auto ao = std::make_shared<AuditOptions>();
  CLI::App* audit = data->add_subcommand("audit", "Coverage table, gaps, lengths and a chart of a generated data set");
  audit->add_option("dir", *dir, "folder written by data generate")->required();
  audit->add_option("--tokenizer", ao->tokenizer_gguf, "GGUF file with a tokenizer: lengths in real tokens");
  audit->add_option("--domain", ao->domain_dir, "domain folder (default: from manifest.json)");
  audit->add_option("--min-count", ao->min_count, "a cell below this count is a gap")->capture_default_str();
  auto cases = std::make_shared<std::vector<std::string>>();
  audit->add_option("--cases", *cases, "evaluation case files (JSONL): list the cases whose text is also a training text");
  audit->callback([dir, ao, cases] { run_audit(*dir, *ao, *cases); });
}

CommandRegistration reg(setup);

}  // namespace cmd_data
}  // namespace edgelm::cli
