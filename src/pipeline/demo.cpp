#include "pipeline/demo.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>

#include "data/dataset.h"
#include "domain/schema.h"
#include "eval/agent_predictor.h"
#include "eval/cases.h"
#include "eval/keyword_baseline.h"
#include "eval/report.h"
#include "pipeline/demo_report.h"
#include "pipeline/demo_train.h"
#include "pipeline/stages.h"
#include "platform/error.h"
#include "platform/thread_pool.h"

namespace edgelm {

namespace fs = std::filesystem;

DemoPlan demo_plan(const DemoOptions& o) {
  DemoPlan p;
  if (o.quick) {
    // Small enough to run every stage in seconds, also under the sanitizers.
    p = DemoPlan{400, 400, 64, 2, 4, 2, 128, 256, 30, 8, 96, 15, 3e-3, 12};
  } else {
    // About 0.9M parameters: enough for one device's commands. 2,000 steps of
    // 16 x 192 tokens (about 6M tokens, ~7 minutes on 2 idle cores) over 60,000
    // generated examples: 400 steps left the model under-trained (58% on the
    // hand-written cases against 87% at 2,000, measured 2026-11-21).
    p = DemoPlan{60000, 1024, 128, 4, 4, 2, 384, 256, 2000, 16, 192, 666, 2e-3, 300};
  }
  if (o.n_examples) p.n_examples = o.n_examples;
  if (o.vocab_size) p.vocab_size = o.vocab_size;
  if (o.steps) p.steps = o.steps, p.ablation_steps = std::max<int64_t>(1, o.steps / 3);
  if (o.dim) p.dim = o.dim;
  if (o.layers) p.layers = o.layers;
  return p;
}

namespace {

// What identifies a file's content cheaply for the stamps: size and time of the last write.
nlohmann::json file_stamp(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return nullptr;
  auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return {{"bytes", size}, {"mtime", int64_t(time)}};
}

// Every k-th case, so a limited evaluation still covers the whole file's mix.
std::vector<EvalCase> spread_sample(std::vector<EvalCase> cases, int64_t limit) {
  if (limit <= 0 || int64_t(cases.size()) <= limit) return cases;
  std::vector<EvalCase> out;
  for (int64_t i = 0; i < limit; ++i) out.push_back(cases[size_t(i * int64_t(cases.size()) / limit)]);
  return out;
}

struct CaseSet {
  std::string name, path;
};

struct EvalSpec {
  std::string slug, title;   // eval/<slug>/..., the row name in the report
  std::string model;         // relative to the run folder; empty for the keyword baseline
  bool constrained = true;
};

}  // namespace

nlohmann::json run_demo(const DemoOptions& o) {
  // The quick mode's tiny matrices gain nothing from a second thread, and on a
  // busy machine the pool's hand-offs cost more than they save.
  if (o.threads > 0) set_default_threads(o.threads);
  else if (o.quick) set_default_threads(1);
  DemoPlan plan = demo_plan(o);
  std::string domain_dir = resolve_domain_dir(o.domain);
  DomainSchema schema = load_schema(domain_dir + "/functions.toml");
  const int n_stages = 7 + 2 * 6;  // data x2, tokenizer, training x2, quantisation x2, then 6 evaluations per case set
  StageRunner st(o.out_dir, n_stages, o.force, o.quiet);
  auto rel = [&](const std::string& p) { return st.path(p); };

  // 1-2. Data: the balanced set the agent learns from, and the generator's raw
  // distribution for the ablation.
  auto generate = [&](const std::string& dir, bool balance) {
    return [&, dir, balance] {
      GenerateOptions g;
      g.domain_dir = domain_dir;
      g.out_dir = rel(dir);
      g.n = plan.n_examples;
      g.seed = o.seed;
      g.balance = balance;
      g.quiet = o.quiet;
      DataSummary s = generate_dataset(g);
      return nlohmann::json{{"train", s.n_train}, {"valid", s.n_valid}, {"test", s.n_test}, {"dpo", s.n_dpo},
                            {"templates", s.n_templates}, {"duplicates", s.n_duplicates},
                            {"by_language", s.by_language}, {"by_phenomenon", s.by_phenomenon},
                            {"by_function", s.by_function}, {"seconds", s.seconds}};
    };
  };
  nlohmann::json data_cfg = {{"n", plan.n_examples}, {"seed", o.seed}, {"domain", o.domain}};
  nlohmann::json data = st.run("data", "generate the balanced data set", data_cfg,
                               {"data/train.jsonl", "data/valid.jsonl", "data/cases/test.jsonl"}, generate("data", true));
  nlohmann::json data_raw = st.run("data_unbalanced", "generate the unbalanced data set (ablation)", data_cfg,
                                   {"data-unbalanced/train.jsonl", "data-unbalanced/valid.jsonl"}, generate("data-unbalanced", false));

  // 3. Tokenizer with the agent's special tokens reserved.
  nlohmann::json tok_cfg = {{"data", data_cfg}, {"vocab", plan.vocab_size}};
  nlohmann::json tok = st.run("tokenizer", "train the tokenizer", tok_cfg, {"tokenizer.gguf"}, [&] {
    return train_demo_tokenizer(schema, rel("data/train.jsonl"), plan.vocab_size, rel("tokenizer.gguf"), o.quiet);
  });

  // 4-5. The agent model, and the same shape on unbalanced data (the ablation).
  auto train_spec = [&](const std::string& data_dir, const std::string& model, const std::string& run_dir, int64_t steps) {
    AgentTrainSpec s{rel(data_dir + "/train.jsonl"), rel(data_dir + "/valid.jsonl"), rel("tokenizer.gguf"), rel(model),
                     rel(run_dir), plan.dim, plan.layers, plan.heads, plan.kv_heads, plan.ffn_dim, plan.context,
                     steps, plan.batch, plan.seq_len, plan.learning_rate, o.seed, o.quiet};
    return s;
  };
  nlohmann::json model_cfg = {{"tokenizer", tok_cfg}, {"dim", plan.dim}, {"layers", plan.layers}, {"heads", plan.heads},
                              {"kv_heads", plan.kv_heads}, {"ffn", plan.ffn_dim}, {"context", plan.context},
                              {"batch", plan.batch}, {"seq", plan.seq_len}, {"lr", plan.learning_rate}, {"seed", o.seed}};
  nlohmann::json train_cfg = model_cfg;
  train_cfg["steps"] = plan.steps;
  nlohmann::json train = st.run("train", "train the agent model (SFT from scratch)", train_cfg, {"model.gguf"}, [&] {
    return train_demo_model(schema, train_spec("data", "model.gguf", "train", plan.steps));
  });
  nlohmann::json ablation_cfg = model_cfg;
  ablation_cfg["steps"] = plan.ablation_steps;
  nlohmann::json train_raw = st.run("train_unbalanced", "train the same shape on unbalanced data (ablation)", ablation_cfg,
                                    {"model-unbalanced.gguf"}, [&] {
    return train_demo_model(schema, train_spec("data-unbalanced", "model-unbalanced.gguf", "train-unbalanced", plan.ablation_steps));
  });

  // 6-7. Quantised copies.
  nlohmann::json quant;
  for (const char* type : {"q8_0", "q4_0"}) {
    std::string out = cat("model-", type, ".gguf");
    quant[type] = st.run(cat("quantize_", type), cat("quantise to ", type), {{"model", file_stamp(rel("model.gguf"))}, {"type", type}},
                         {out}, [&] { return quantize_demo_model(rel("model.gguf"), type, rel(out)); });
  }

  // 8... Evaluations: every model file and the ablations on the project's
  // hand-written cases and on the generator's held-out test cases.
  std::vector<CaseSet> case_sets = {{"handwritten", domain_dir + "/eval/handwritten.jsonl"},
                                    {"generated_test", rel("data/cases/test.jsonl")}};
  std::vector<EvalSpec> evals = {
      {"model", "model.gguf (f32)", "model.gguf", true},
      {"model-q8_0", "model-q8_0.gguf", "model-q8_0.gguf", true},
      {"model-q4_0", "model-q4_0.gguf", "model-q4_0.gguf", true},
      {"model-unconstrained", "model.gguf without constrained decoding", "model.gguf", false},
      {"model-unbalanced", "same shape, unbalanced data", "model-unbalanced.gguf", true},
      {"keyword-baseline", "keyword baseline", "", true},
  };
  nlohmann::json results = nlohmann::json::object();
  for (const auto& cs : case_sets) {
    // The hand-written cases are few and are the yardstick: always all of them.
    int64_t limit = cs.name == "handwritten" && !o.quick ? 0 : plan.eval_limit;
    std::vector<EvalCase> cases = spread_sample(load_cases(cs.path, schema), limit);
    for (const auto& e : evals) {
      std::string dir = cat("eval/", cs.name, "/", e.slug);
      nlohmann::json cfg = {{"cases", file_stamp(cs.path)}, {"limit", limit}, {"constrained", e.constrained}};
      if (!e.model.empty()) cfg["model"] = file_stamp(rel(e.model));
      nlohmann::json summary = st.run(cat("eval_", cs.name, "_", e.slug), cat("evaluate ", e.title, " on ", cs.name, " cases"), cfg,
                                      {dir + "/report.json"}, [&] {
        EvalRun run;
        if (e.model.empty()) {
          run = evaluate_cases(schema, cases, keyword_baseline_predictor(schema), o.quiet ? "" : "eval");
          run.model = "keyword baseline";
        } else {
          ModelEvalOptions mo;
          mo.constrained = e.constrained;
          mo.label = o.quiet ? "" : "eval";
          run = evaluate_model(rel(e.model), schema, cases, mo);
        }
        run.name = e.title;
        run.cases_path = cs.path;
        nlohmann::json s = summarize(run);
        write_report(rel(dir), run, s);
        // The manifest keeps the headline figures; the full report is in the folder.
        nlohmann::json head = s;
        head.erase("failures");
        return head;
      });
      summary["report"] = dir + "/report.md";
      results[cs.name][e.slug] = summary;
    }
  }

  // The report card.
  DemoReportInput in{o, plan, st.manifest(), data, data_raw, tok, train, train_raw, quant, results};
  nlohmann::json card = write_demo_report(st, in);
  if (!o.quiet) print_demo_summary(card);
  return card;
}

}  // namespace edgelm
