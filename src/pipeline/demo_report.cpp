#include "pipeline/demo_report.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "eval/report.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/svg_chart.h"

namespace edgelm {

namespace fs = std::filesystem;

namespace {

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string cpu_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(colon + 2);
    }
  return "unknown CPU";
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M UTC", std::gmtime(&t));
  return buf;
}

std::string mib(int64_t bytes) { return fixed(double(bytes) / (1 << 20), 2) + " MiB"; }

std::string check(bool ok) { return ok ? "met" : "NOT met"; }

// The rows of every results table, in the order the demo makes them.
const char* const kSlugOrder[] = {"model",     "model-q8_0",       "model-q4_0",       "model-sft",     "model-unconstrained",
                                  "model-any-action", "model-unbalanced", "model-scratch", "keyword-baseline"};

}  // namespace

std::string loss_curve_svg(const std::vector<std::pair<std::string, nlohmann::json>>& series) {
  LineChart chart;
  chart.title = "Training loss (masked cross-entropy on the answer tokens)";
  chart.x_label = "step";
  chart.y_label = "loss";
  chart.width = 600;
  chart.height = 320;
  for (const auto& [name, points] : series) {
    LineSeries s{name, {}, ""};
    for (const auto& p : points) s.points.emplace_back(p[0].get<double>(), p[1].get<double>());
    chart.series.push_back(std::move(s));
  }
  return line_chart_svg(chart);
}

nlohmann::json write_demo_report(const StageRunner& st, const DemoReportInput& in) {
  const DemoPlan& p = in.plan;
  nlohmann::json card;
  card["date"] = utc_now();
  card["machine"] = {{"cpu", cpu_name()}, {"hardware_threads", std::thread::hardware_concurrency()}};
  card["mode"] = in.options.quick ? "quick" : "full";
  std::string domain = in.options.domain;
  while (domain.size() > 1 && domain.back() == '/') domain.pop_back();
  card["domain"] = std::filesystem::path(domain).filename().string();
  card["domain_arg"] = in.options.domain;  // as given to --domain, for the chat line
  card["plan"] = {{"examples", p.n_examples}, {"vocab", p.vocab_size}, {"dim", p.dim}, {"layers", p.layers},
                  {"heads", p.heads}, {"kv_heads", p.kv_heads}, {"ffn", p.ffn_dim}, {"context", p.context},
                  {"steps", p.steps}, {"batch", p.batch}, {"seq_len", p.seq_len}, {"ablation_steps", p.ablation_steps},
                  {"learning_rate", p.learning_rate}, {"eval_limit", p.eval_limit}, {"focus_steps", p.focus_steps},
                  {"focus_examples", p.focus_examples}, {"focus_learning_rate", p.focus_learning_rate},
                  {"dropout", p.dropout}, {"prompt_weight", p.prompt_weight}, {"ema", p.ema}};
  nlohmann::json stages = nlohmann::json::array();
  double total = 0, this_run = 0;
  for (const auto& [name, s] : in.manifest.items()) {
    stages.push_back({{"name", name}, {"title", s.value("title", name)}, {"seconds", s.value("seconds", 0.0)},
                      {"reused", s.value("reused", false)}});
    total += s.value("seconds", 0.0);
    if (!s.value("reused", false)) this_run += s.value("seconds", 0.0);
  }
  card["stages"] = stages;
  card["total_seconds"] = total;
  card["this_run_seconds"] = this_run;
  card["data"] = in.data;
  card["data_unbalanced"] = in.data_unbalanced;
  card["tokenizer"] = in.tokenizer;
  card["train"] = in.train;
  card["train_unbalanced"] = in.train_unbalanced;
  card["focus"] = in.focus;
  card["dpo"] = in.dpo;
  if (!in.options.base_model.empty()) card["base_model"] = in.options.base_model;
  if (!in.train_scratch.empty()) card["train_scratch"] = in.train_scratch;
  if (!in.seen_in_training.empty()) card["seen_in_training"] = in.seen_in_training;
  const nlohmann::json no_run = nlohmann::json::object();
  const nlohmann::json& focus_train = in.focus.contains("train") ? in.focus["train"] : no_run;
  nlohmann::json models = nlohmann::json::object();
  for (const char* f : {"model.gguf", "model-q8_0.gguf", "model-q4_0.gguf", "model-sft.gguf", "model-unbalanced.gguf", "model-scratch.gguf"}) {
    std::error_code ec;
    auto bytes = fs::file_size(st.path(f), ec);
    if (!ec) models[f] = {{"bytes", bytes}};
  }
  card["models"] = models;
  card["results"] = in.results;

  // The domain's targets (generate.toml [report_targets]), judged on its hand-written cases.
  const data::ReportTargets& goal = in.targets;
  auto judged = [](double value, double target) { return nlohmann::json{{"value", value}, {"target", target}, {"met", value >= target}}; };
  nlohmann::json targets = nlohmann::json::object();
  if (in.results.contains("handwritten")) {
    const auto& hw = in.results["handwritten"];
    for (const std::string& slug : goal.models) {
      if (!hw.contains(slug)) continue;
      const auto& s = hw[slug];
      nlohmann::json t;
      t["functional_success"] = judged(s["overall"]["rate"].get<double>(), goal.functional_success);
      double lowest = 1;
      std::string lowest_lang;
      for (const auto& [lang, r] : s["by_language"].items())
        if (r["rate"].get<double>() < lowest || lowest_lang.empty()) lowest = r["rate"].get<double>(), lowest_lang = lang;
      t["every_language"] = judged(lowest, goal.every_language);
      t["every_language"]["lowest"] = lowest_lang;
      // Out-of-scope requests: with no call where the cases expect none, and
      // with the expected call where the domain answers them with one.
      if (s["irrelevance"].value("n", 0) > 0) t["no_call_on_out_of_scope"] = judged(s["irrelevance"]["rate"].get<double>(), goal.out_of_scope);
      if (!in.out_of_scope_calls.empty() && s.contains("by_type") && s["by_type"].contains("out_of_scope"))
        t["out_of_scope_call"] = judged(s["by_type"]["out_of_scope"]["rate"].get<double>(), goal.out_of_scope);
      // The failure a user forgives least: a request the device cannot serve that changes it anyway (lower is better).
      if (s.contains("out_of_scope") && s["out_of_scope"].value("n", 0) > 0) {
        const double acted = s["out_of_scope"]["rate"].get<double>();
        t["out_of_scope_acted"] = {{"value", acted}, {"target", goal.out_of_scope_acted}, {"met", acted <= goal.out_of_scope_acted},
                                   {"acted", s["out_of_scope"]["acted"]}, {"n", s["out_of_scope"]["n"]}};
      }
      targets[slug] = t;
    }
  }
  const int64_t n_params = in.train.value("n_params", int64_t(0));
  targets["params"] = {{"value", n_params}, {"target", goal.max_params}, {"met", n_params <= goal.max_params}};
  targets["total_seconds"] = {{"value", total}, {"target", goal.max_minutes * 60}, {"met", total <= goal.max_minutes * 60}};
  card["targets"] = targets;

  // Markdown.
  std::string md = cat("# edgelm demo: the ", card["domain"].get<std::string>(), " agent, end to end\n\n");
  md += cat("- date: ", card["date"].get<std::string>(), "\n- machine: ", card["machine"]["cpu"].get<std::string>(), ", ",
            card["machine"]["hardware_threads"].get<unsigned>(), " hardware threads\n- mode: ", card["mode"].get<std::string>(),
            "\n- total time of all stages: ", fixed(total, 1), " s (", fixed(this_run, 1), " s in this run; the rest reused)\n\n");
  md += "## Results on the project's hand-written cases\n\n";
  auto results_table = [&](const char* set) {
    if (!in.results.contains(set)) return;
    std::vector<nlohmann::json> rows;
    for (const auto& slug : kSlugOrder) {
      if (!in.results[set].contains(slug)) continue;
      const nlohmann::json& s = in.results[set][slug];
      nlohmann::json row = s;
      row["name"] = cat(s.value("name", slug), " ([report](", s.value("report", std::string()), "))");
      rows.push_back(row);
    }
    md += comparison_markdown(rows, in.languages) + "\n";
    if (in.seen_in_training.contains(set)) {
      const nlohmann::json& seen = in.seen_in_training[set];
      std::string ids;
      for (const auto& id : seen["seen"]) ids += (ids.empty() ? "" : ", ") + id.get<std::string>();
      md += cat(seen["seen"].size(), " of these ", seen["n"].get<int64_t>(), " cases say what a training example says (the same words, ",
                "normalised)", ids.empty() ? "" : cat(": ", ids), ". The others measure how the model generalises.\n\n");
    }
  };
  results_table("handwritten");
  md += "![success by model](comparison.svg)\n\n";
  md += "## Results on the generator's held-out test cases\n\n";
  md += "(test split: templates never used for training)\n\n";
  results_table("generated_test");
  if (in.results.contains("conversations")) {
    md += "## Results on the project's hand-written conversations\n\n";
    md += "(the last user turn of each conversation is scored; by follow-up type and turn in each report)\n\n";
    results_table("conversations");
  }
  md += "## Targets (the domain's, generate.toml [report_targets]), on the hand-written cases\n\n"
        "| target | value | status |\n| --- | --- | --- |\n";
  std::string oos_calls;
  for (const auto& c : in.out_of_scope_calls) oos_calls += (oos_calls.empty() ? "" : " or ") + c;
  for (const std::string& slug : goal.models) {
    if (!targets.contains(slug)) continue;
    const nlohmann::json& t = targets[slug];
    auto row = [&](const std::string& what, const nlohmann::json& j) {
      md += cat("| ", slug, ": ", what, " ≥ ", percent(j["target"]), " | ", percent(j["value"]), " | ", check(j["met"]), " |\n");
    };
    row("functional success", t["functional_success"]);
    row(cat("every language (lowest: ", t["every_language"]["lowest"].get<std::string>(), ")"), t["every_language"]);
    if (t.contains("no_call_on_out_of_scope")) row("no call on out-of-scope requests", t["no_call_on_out_of_scope"]);
    if (t.contains("out_of_scope_call")) row(cat("out-of-scope requests → ", oos_calls), t["out_of_scope_call"]);
    if (t.contains("out_of_scope_acted")) {
      const nlohmann::json& j = t["out_of_scope_acted"];
      md += cat("| ", slug, ": out-of-scope requests answered with a state-changing call ≤ ", percent(j["target"]), " | ", percent(j["value"]),
                " (", j["acted"].get<int>(), "/", j["n"].get<int>(), ") | ", check(j["met"]), " |\n");
    }
  }
  md += cat("| model ≤ ", goal.max_params, " parameters | ", n_params, " | ", check(targets["params"]["met"]), " |\n");
  md += cat("| all stages ≤ ", fixed(goal.max_minutes, 0), " minutes | ", fixed(total, 0), " s | ", check(targets["total_seconds"]["met"]),
            " |\n\n");

  md += "## Model files\n\n| file | size |\n| --- | --- |\n";
  for (const auto& [f, m] : models.items()) md += cat("| ", f, " | ", mib(m["bytes"].get<int64_t>()), " |\n");
  md += cat("\nShape: dim ", p.dim, ", ", p.layers, " layers, ", p.heads, " heads (", p.kv_heads, " kv), ffn ", p.ffn_dim,
            ", vocab ", in.tokenizer.value("n_vocab", p.vocab_size), ", ", in.train.value("n_params", int64_t(0)),
            " parameters; trained ", in.train.value("steps", p.steps), " steps of ", p.batch, " × ", p.seq_len,
            " tokens (learning rate ", p.learning_rate, p.dropout > 0 ? cat(", residual dropout ", p.dropout) : std::string(),
            p.prompt_weight > 0 ? cat(", the prompt's next-token loss at weight ", p.prompt_weight, " beside the answer's")
                                : std::string(),
            p.ema > 0 ? cat(", saved as the moving average of its weights over the second half, decay ", p.ema) : std::string(),
            ")",
            focus_train.empty() ? std::string()
                                : cat(", then ", focus_train.value("steps", int64_t(0)), " steps of the focus round (learning rate ",
                                      p.focus_learning_rate, ")"),
            ". The unbalanced-data ablation has the same shape and ",
            in.train_unbalanced.value("steps", p.ablation_steps), " steps",
            p.ablation_steps < p.steps ? " (shorter, to fit the time budget: compare with that in mind)" : "", ".",
            in.options.base_model.empty()
                ? std::string()
                : cat(" Every model starts from the base model ", in.options.base_model, " (its pretraining is worth ", p.base_steps,
                      " steps of this batch; its time is the base stage's, not counted here)",
                      in.train_scratch.empty() ? std::string() : "; the from-scratch ablation trains those steps more instead"),
            "\n\n");

  md += "## Training\n\n| run | steps | tokens | final train loss | valid loss | seconds |\n| --- | --- | --- | --- | --- | --- |\n";
  for (const auto& [name, t] : {std::pair<const char*, const nlohmann::json*>{
                                    focus_train.empty() ? "model.gguf" : "model-round1.gguf", &in.train},
                                {"model.gguf (focus round)", &focus_train},
                                {"model-unbalanced.gguf", &in.train_unbalanced},
                                {"model-scratch.gguf", &in.train_scratch}}) {
    if (t->empty()) continue;
    // Null: the run had no validation examples (a small draw that missed every valid template).
    const auto valid = t->find("valid_loss");
    const std::string valid_loss = valid != t->end() && valid->is_number() ? fixed(valid->get<double>(), 4) : "–";
    md += cat("| ", name, " | ", t->value("steps", int64_t(0)), " | ", t->value("tokens", int64_t(0)), " | ",
              fixed(t->value("final_loss", 0.0), 4), " | ", valid_loss, " | ",
              fixed(t->value("seconds", 0.0), 1), " |\n");
  }
  if (p.prompt_weight > 0)
    md += cat("\nThe train loss is over the answers and, at weight ", p.prompt_weight,
              ", the prompts; the valid loss is the answers' alone.\n");
  md += "\n![loss curve](loss_curve.svg)\n\n";
  if (!in.dpo.empty()) {
    md += cat("## Preference training (DPO)\n\nmodel.gguf is model-sft.gguf trained ", in.dpo.value("steps", int64_t(0)),
              " DPO steps (learning rate ", p.dpo_learning_rate, ", beta ", in.dpo.value("beta", 0.0),
              in.dpo.contains("sft_weight") ? cat(", the chosen answer's token loss at weight ", in.dpo.value("sft_weight", 0.0))
                                            : std::string(),
              ") on ",
              in.dpo.value("pairs", int64_t(0)), " near-miss preference pairs (data/dpo.jsonl), with model-sft.gguf as the ",
              "frozen reference: final loss ", fixed(in.dpo.value("final_loss", 0.0), 4),
              in.dpo.contains("sft_weight") ? " (DPO's term starts at log 2 = 0.6931, plus the chosen answers' loss), "
                                            : " (log 2 = 0.6931 at the start), ",
              "the last step preferred the right answer in ", percent(in.dpo.value("final_accuracy", 0.0)), " of its pairs; ",
              fixed(in.dpo.value("seconds", 0.0), 1), " s. The results' model-sft.gguf row is the model before it.\n\n");
  }
  if (in.focus.contains("eval")) {
    const nlohmann::json& e = in.focus["eval"];
    md += cat("## Focus round\n\nThe first model (model-round1.gguf) scored ", percent(e["overall"]["rate"]),
              " on the hand-written cases ([report](eval/round1/report.md)); `generate --focus` on that report drew ",
              in.focus["data"].value("train", 0), " fresh training examples weighted towards what it failed (data-focus/), ",
              "and training continued from it. The hand-written cases steered only the weights of functions, types and ",
              "languages, never their phrasings; still, the figures above are no longer blind for them.\n\n");
  }

  md += "## Data\n\n";
  md += cat("Balanced set: ", in.data.value("train", 0), " train / ", in.data.value("valid", 0), " valid / ",
            in.data.value("test", 0), " test examples from ", in.data.value("templates", 0), " templates (",
            in.data.value("duplicates", 0), " duplicates dropped); unbalanced set: ", in.data_unbalanced.value("train", 0),
            " train examples. Details: data/report.md, data-unbalanced/report.md.\n\n");
  md += "| language | balanced | unbalanced |\n| --- | --- | --- |\n";
  if (in.data.contains("by_language"))
    for (const auto& [k, v] : in.data["by_language"].items())
      md += cat("| ", k, " | ", v.get<int64_t>(), " | ", in.data_unbalanced["by_language"].value(k, int64_t(0)), " |\n");
  md += "\n| phenomenon | balanced | unbalanced |\n| --- | --- | --- |\n";
  if (in.data.contains("by_phenomenon"))
    for (const auto& [k, v] : in.data["by_phenomenon"].items())
      md += cat("| ", k, " | ", v.get<int64_t>(), " | ", in.data_unbalanced["by_phenomenon"].value(k, int64_t(0)), " |\n");

  md += "\n## Stage timings\n\n| stage | seconds | |\n| --- | --- | --- |\n";
  for (const auto& s : stages)
    md += cat("| ", s["title"].get<std::string>(), " | ", fixed(s["seconds"], 1), " | ", s["reused"].get<bool>() ? "reused" : "", " |\n");
  md += cat("| **total** | ", fixed(total, 1), " | |\n\n");
  md += cat("## Talk to the model\n\n```\nedgelm chat --model ", st.path("model.gguf"), "\n```\n\n",
            "Re-evaluate any model file on any case file:\n\n```\nedgelm eval --model ", st.path("model.gguf"),
            " --cases FILE.jsonl --report DIR\n```\n");

  write_file_atomic(st.path("report.md"), md);
  write_file_atomic(st.path("report.json"), card.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
  if (in.results.contains("handwritten")) {
    std::vector<nlohmann::json> rows;
    for (const auto& slug : kSlugOrder)
      if (in.results["handwritten"].contains(slug)) rows.push_back(in.results["handwritten"][slug]);
    write_file_atomic(st.path("comparison.svg"), comparison_chart_svg(rows, in.languages));
  }
  std::vector<std::pair<std::string, nlohmann::json>> series;
  if (in.train.contains("losses")) series.push_back({"model.gguf", in.train["losses"]});
  if (focus_train.contains("losses")) {
    nlohmann::json pts = nlohmann::json::array();
    int64_t offset = in.train.value("steps", int64_t(0));
    for (const auto& q : focus_train["losses"]) pts.push_back({offset + q[0].get<int64_t>(), q[1]});
    series.push_back({"focus round", pts});
  }
  if (in.train_unbalanced.contains("losses")) series.push_back({"unbalanced ablation", in.train_unbalanced["losses"]});
  write_file_atomic(st.path("loss_curve.svg"), loss_curve_svg(series));
  card["out_dir"] = st.path("");
  return card;
}

void print_demo_summary(const nlohmann::json& card) {
  std::printf("\n== edgelm demo: summary (%s mode, %.1f s of stages) ==\n", card["mode"].get<std::string>().c_str(),
              card["total_seconds"].get<double>());
  for (const char* set : {"handwritten", "generated_test", "conversations"}) {
    if (!card["results"].contains(set)) continue;
    std::printf("%s cases:\n", set);
    for (const auto& slug : kSlugOrder) {
      if (!card["results"][set].contains(slug)) continue;
      const nlohmann::json& s = card["results"][set][slug];
      std::string langs;
      for (const auto& [lang, t] : s["by_language"].items()) langs += cat(" ", lang, " ", percent(t["rate"]));
      std::printf("  %-42s %6s  (%s; no-call %s; %.0f tokens, %.1f ms p50)\n", s.value("name", slug).c_str(),
                  percent(s["overall"]["rate"]).c_str(), langs.c_str() + 1, percent(s["irrelevance"]["rate"]).c_str(),
                  s["tokens_generated"]["median"].get<double>(), s["latency_ms"]["p50"].get<double>());
    }
  }
  std::string out = card["out_dir"];
  std::string domain = card.value("domain_arg", std::string());
  std::printf("report card: %sreport.md\ntalk to the model: edgelm chat --model %smodel.gguf%s\n", out.c_str(), out.c_str(),
              // The model names its domain (kModelDomainKey); a folder outside domains/ is given by path.
              domain.find('/') == std::string::npos ? "" : (" --domain " + domain).c_str());
}

}  // namespace edgelm
