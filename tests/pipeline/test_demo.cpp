// The shortened demo (--quick) through every stage: every artefact exists,
// the report's figures are the ones the run measured (cross-checked against
// the per-case predictions, the training metrics and a fresh re-evaluation),
// and a second run reuses every stage.
#include <gtest/gtest.h>

#include "device/device.h"

#include <cmath>
#include <filesystem>
#include <fstream>

#include "data/dataset.h"
#include "eval/agent_predictor.h"
#include "eval/cases.h"
#include "model/config.h"
#include "pipeline/demo.h"
#include "pipeline/demo_train.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "training/train_config.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

nlohmann::json read_json(const fs::path& p) { return nlohmann::json::parse(read_file(p.string())); }

std::vector<nlohmann::json> read_jsonl(const fs::path& p) {
  std::vector<nlohmann::json> out;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The quick demo's options: tiny sizes, quiet, one thread, into a fresh folder.
DemoOptions quick_options(const fs::path& out, const std::string& domain) {
  fs::remove_all(out);
  DemoOptions o;
  o.out_dir = out.string();
  o.domain = domain;
  o.quick = true;
  o.quiet = true;
  o.threads = 1;
  return o;
}

TEST(Demo, QuickRunProducesEveryArtefactFromItsOwnFigures) {
  fs::path out = fs::temp_directory_path() / "edgelm_test_demo";
  DemoOptions o = quick_options(out, kDefaultDomain);
  nlohmann::json card = run_demo(o);

  for (const char* f : {"data/train.jsonl", "data/valid.jsonl", "data/cases/test.jsonl", "data-unbalanced/train.jsonl",
                        "tokenizer.gguf", "model.gguf", "model-q8_0.gguf", "model-q4_0.gguf", "model-unbalanced.gguf",
                        "train/metrics.jsonl", "report.md", "report.json", "comparison.svg", "loss_curve.svg", "manifest.json"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  for (const char* set : {"handwritten", "generated_test"})
    for (const char* slug : {"model", "model-q8_0", "model-q4_0", "model-unconstrained", "model-any-action", "model-unbalanced",
                              "keyword-baseline"})
      for (const char* f : {"report.json", "report.md", "report.svg", "predictions.jsonl"})
        EXPECT_TRUE(fs::exists(out / "eval" / set / slug / f)) << set << "/" << slug << "/" << f;

  // The report card on disk is what run_demo returned.
  nlohmann::json disk = read_json(out / "report.json");
  EXPECT_EQ(disk["results"], card["results"]);
  // The air purifier's targets: issue 7's, from its generate.toml.
  EXPECT_DOUBLE_EQ(card["targets"]["model"]["every_language"]["target"].get<double>(), 0.90);
  EXPECT_EQ(card["targets"]["model"]["functional_success"]["value"], card["results"]["handwritten"]["model"]["overall"]["rate"]);
  EXPECT_EQ(disk["stages"].size(), card["stages"].size());
  // Out-of-scope requests answered with a state-changing call: counted for every model and the baseline, judged for the model.
  EXPECT_EQ(card["targets"]["model"]["out_of_scope_acted"]["value"], card["results"]["handwritten"]["model"]["out_of_scope"]["rate"]);
  EXPECT_GT(card["results"]["handwritten"]["keyword-baseline"]["out_of_scope"]["n"].get<int>(), 0);
  // Hand-written cases that are also training texts are named (the count is the data's: checked in Audit tests).
  const nlohmann::json& seen = card["seen_in_training"]["handwritten"];
  EXPECT_EQ(seen["n"], card["results"]["handwritten"]["model"]["overall"]["n"]);
  EXPECT_LE(seen["seen"].size(), seen["n"].get<size_t>());
  EXPECT_NE(read_file((out / "report.md").string()).find(cat(seen["seen"].size(), " of these ", seen["n"].get<int>(), " cases say what a training example says")),
            std::string::npos);

  // Success counts agree with the per-case predictions written by the same run.
  for (const char* slug : {"model", "keyword-baseline"}) {
    auto preds = read_jsonl(out / "eval/handwritten" / slug / "predictions.jsonl");
    int passed = 0;
    for (const auto& p : preds) passed += p["passed"].get<bool>();
    const auto& overall = card["results"]["handwritten"][slug]["overall"];
    EXPECT_EQ(overall["n"].get<size_t>(), preds.size()) << slug;
    EXPECT_EQ(overall["passed"].get<int>(), passed) << slug;
  }
  // model-any-action is model.gguf without the action bar: the same answers,
  // except where the bar withheld a call below it.
  {
    auto bar = read_jsonl(out / "eval/generated_test/model/predictions.jsonl");
    auto any = read_jsonl(out / "eval/generated_test/model-any-action/predictions.jsonl");
    ASSERT_EQ(bar.size(), any.size());
    for (size_t i = 0; i < bar.size(); ++i) {
      ASSERT_TRUE(bar[i].contains("action_probability")) << bar[i].dump();
      EXPECT_FALSE(any[i].contains("action_withheld")) << any[i].dump();
      EXPECT_EQ(bar[i]["action_probability"], any[i]["action_probability"]) << bar[i].dump();
      if (bar[i].value("action_withheld", false)) {
        EXPECT_LT(bar[i]["action_probability"].get<float>(), kDefaultMinActionProbability);
        EXPECT_NE(bar[i]["calls"], any[i]["calls"]) << bar[i].dump();
      } else {
        EXPECT_EQ(bar[i]["calls"], any[i]["calls"]) << bar[i].dump();
      }
    }
  }
  // The training figures are the metrics file's.
  auto metrics = read_jsonl(out / "train/metrics.jsonl");
  ASSERT_GE(metrics.size(), 2u);
  const nlohmann::json& last_step = metrics[metrics.size() - 2];
  EXPECT_DOUBLE_EQ(card["train"]["final_loss"].get<double>(), last_step["loss"].get<double>());
  EXPECT_DOUBLE_EQ(card["train"]["valid_loss"].get<double>(), metrics.back()["valid_loss"].get<double>());
  EXPECT_EQ(card["train"]["steps"].get<int64_t>(), demo_plan(o).steps);
  // The SFT runs learn each example's prompt too, at the plan's weight; DPO compares the answers alone.
  ASSERT_GT(demo_plan(o).prompt_weight, 0);
  EXPECT_EQ(training::parse_train_config(read_file((out / "train/config.toml").string()), {}).prompt_weight,
            demo_plan(o).prompt_weight);
  EXPECT_EQ(training::parse_train_config(read_file((out / "train-dpo/config.toml").string()), {}).prompt_weight, 0.0);

  // The focus round: the first model's hand-written report drove the focused
  // data, and model.gguf continued from model-round1.gguf.
  ASSERT_GT(demo_plan(o).focus_steps, 0);
  for (const char* f : {"model-round1.gguf", "eval/round1/report.json", "data-focus/train.jsonl", "train-focus/metrics.jsonl"})
    EXPECT_TRUE(fs::exists(out / f)) << f;
  nlohmann::json focus_manifest = read_json(out / "data-focus/manifest.json");
  EXPECT_EQ(focus_manifest["config"]["focus"].get<std::string>(), (out / "eval/round1/report.json").string());
  EXPECT_EQ(card["focus"]["train"]["steps"].get<int64_t>(), demo_plan(o).focus_steps);
  auto focus_metrics = read_jsonl(out / "train-focus/metrics.jsonl");
  ASSERT_GE(focus_metrics.size(), 2u);
  EXPECT_DOUBLE_EQ(card["focus"]["train"]["final_loss"].get<double>(), focus_metrics[focus_metrics.size() - 2]["loss"].get<double>());
  EXPECT_NE(read_file((out / "model.gguf").string()), read_file((out / "model-round1.gguf").string()));

  // The DPO stage: model.gguf is model-sft.gguf trained on the near-miss pairs with the one trainer,
  // starting at loss log 2 (the SFT model is its own reference), and both are evaluated.
  ASSERT_GT(demo_plan(o).dpo_steps, 0);
  for (const char* f : {"model-sft.gguf", "train-dpo/metrics.jsonl", "train-dpo/pairs.tokens"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  EXPECT_EQ(card["dpo"]["steps"].get<int64_t>(), demo_plan(o).dpo_steps);
  EXPECT_GT(card["dpo"]["pairs"].get<int64_t>(), 0);
  auto dpo_metrics = read_jsonl(out / "train-dpo/metrics.jsonl");
  ASSERT_GE(dpo_metrics.size(), 1u);
  EXPECT_NEAR(dpo_metrics.front()["loss"].get<double>(), std::log(2.0), 1e-9);
  EXPECT_TRUE(dpo_metrics.front().contains("accuracy"));
  EXPECT_NE(read_file((out / "model.gguf").string()), read_file((out / "model-sft.gguf").string()));
  EXPECT_TRUE(card["results"]["handwritten"].contains("model-sft"));
  EXPECT_NE(read_file((out / "report.md").string()).find("Preference training (DPO)"), std::string::npos);

  // Re-evaluating the model file on the cases the demo used gives the same
  // answers (greedy decoding is deterministic).
  auto device = std::make_shared<const DeviceSpec>(load_device(resolve_domain_dir("air-purifier")));
  const DomainSchema& schema = device->schema;
  auto preds = read_jsonl(out / "eval/handwritten/model/predictions.jsonl");
  auto all_cases = load_cases(resolve_domain_dir("air-purifier") + "/eval/handwritten.jsonl", schema);
  std::vector<EvalCase> used;
  for (const auto& p : preds)
    for (const auto& c : all_cases)
      if (c.id == p["id"]) used.push_back(c);
  ASSERT_EQ(used.size(), preds.size());
  EvalRun again = evaluate_model((out / "model.gguf").string(), device, used, {});
  for (size_t i = 0; i < preds.size(); ++i) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& c : again.results[i].prediction.calls) calls.push_back(call_to_json(c));
    EXPECT_EQ(calls, preds[i]["calls"]) << preds[i]["id"];
    EXPECT_EQ(again.results[i].passed(), preds[i]["passed"].get<bool>()) << preds[i]["id"];
  }

  // A second run reuses every stage and reports the same results.
  nlohmann::json second = run_demo(o);
  for (const auto& s : second["stages"]) EXPECT_TRUE(s["reused"].get<bool>()) << s["name"];
  EXPECT_EQ(second["results"], card["results"]);
  fs::remove_all(out);
}

TEST(Demo, PlanStaysWithinTheBudgets) {
  DemoOptions full;
  DemoPlan p = demo_plan(full);
  ModelConfig c;
  c.n_vocab = p.vocab_size, c.dim = p.dim, c.n_layers = p.layers, c.n_heads = p.heads, c.n_kv_heads = p.kv_heads;
  c.head_dim = p.dim / p.heads, c.ffn_dim = p.ffn_dim, c.context_length = p.context;
  EXPECT_LE(c.n_params(), 30'000'000);
  DemoOptions quick;
  quick.quick = true;
  EXPECT_LT(demo_plan(quick).steps, p.steps);
  // An option outside its range is an error, never the mode's default.
  auto rejects = [](double DemoOptions::*option, std::initializer_list<double> bad) {
    for (double v : bad) {
      DemoOptions o;
      o.*option = v;
      EXPECT_THROW(demo_plan(o), Error) << v;
    }
  };
  // The prompt's loss weight: the mode's unless given, and a share of the answer's.
  EXPECT_EQ(p.prompt_weight, 0.5);
  rejects(&DemoOptions::prompt_weight, {-0.5, 1.5, std::nan("")});
  DemoOptions none;
  none.prompt_weight = 0;
  EXPECT_EQ(demo_plan(none).prompt_weight, 0.0);
  // The DPO stage's SFT term: 0 or more (-1: the mode's default).
  rejects(&DemoOptions::dpo_sft_weight, {-0.5, -2.0, std::nan(""), double(INFINITY)});
  DemoOptions rpo;
  rpo.dpo_sft_weight = 2;
  EXPECT_EQ(demo_plan(rpo).dpo_sft_weight, 2.0);
}

}  // namespace
}  // namespace edgelm

namespace edgelm {
namespace {

// A domain with every argument type (enum, integer, number, boolean, free
// text; optional with and without a default) goes through the whole pipeline:
// generated data, tokenizer, a tiny model, constrained decoding, and every
// answer executed on the device built from its device.toml.
// A small draw (a focus round's few examples) can miss every valid template: the model still
// trains, without validation, and says so (a null valid loss, never a made-up 0).
TEST(Demo, TrainsWithoutValidationWhenTheValidSplitIsEmpty) {
  fs::path out = fs::temp_directory_path() / "edgelm_test_demo_no_valid";
  fs::remove_all(out);
  GenerateOptions g;
  g.domain_dir = resolve_domain_dir(kDefaultDomain);
  g.out_dir = (out / "data").string();
  g.n = 200;
  g.quiet = true;
  generate_dataset(g);
  const DomainSchema schema = load_device(g.domain_dir).schema;
  const std::string tok = (out / "tokenizer.gguf").string(), empty = (out / "empty.jsonl").string();
  train_demo_tokenizer(schema, g.out_dir + "/train.jsonl", 400, tok, true);
  write_file_atomic(empty, "");
  AgentTrainSpec spec{g.out_dir + "/train.jsonl", empty, tok, (out / "model.gguf").string(), (out / "train").string(),
                      32, 1, 2, 1, 64, 256, /*steps=*/2, /*batch=*/2, /*seq_len=*/128, 1e-3, 1, true, "", 0, 0};
  nlohmann::json r = train_demo_model(schema, spec);
  EXPECT_EQ(r["steps"], 2);
  EXPECT_TRUE(r["valid_loss"].is_null()) << r.dump();
  EXPECT_TRUE(fs::exists(out / "model.gguf"));
  // The train split itself must hold examples.
  spec.train_jsonl = empty;
  EXPECT_THROW(train_demo_model(schema, spec), Error);
  fs::remove_all(out);
}

TEST(Demo, QuickRunOnADomainWithEveryArgumentType) {
  fs::path out = fs::temp_directory_path() / "edgelm_test_demo_every_type";
  DemoOptions o = quick_options(out, std::string(EDGELM_TEST_DIR) + "/fixtures/domains/every-type");
  nlohmann::json card = run_demo(o);
  EXPECT_EQ(card["domain"], "every-type");
  auto device = std::make_shared<const DeviceSpec>(load_device(o.domain));
  auto preds = read_jsonl(out / "eval/handwritten/model/predictions.jsonl");
  ASSERT_EQ(preds.size(), 10u);
  for (const auto& p : preds) {
    // Whatever a tiny model answers, the grammar made it a valid call the device executes.
    Device d(device);
    for (const auto& c : p["calls"]) {
      Call call = call_from_json(c, device->schema);
      EXPECT_EQ(validate_call(device->schema, call), "") << p.dump();
      EXPECT_NO_THROW(d.execute(call)) << p.dump();
    }
  }
  EXPECT_TRUE(fs::exists(out / "model-q4_0.gguf"));
  fs::remove_all(out);
}

}  // namespace
}  // namespace edgelm

namespace edgelm {
namespace {

// The quick demo builds the second built-in device through every stage too.
TEST(Demo, QuickRunOnTheSmartHome) {
  fs::path out = fs::temp_directory_path() / "edgelm_test_demo_smart_home";
  DemoOptions o = quick_options(out, "smart-home");
  nlohmann::json card = run_demo(o);
  EXPECT_EQ(card["domain"], "smart-home");
  for (const char* f : {"model.gguf", "model-q8_0.gguf", "model-q4_0.gguf", "report.md"}) EXPECT_TRUE(fs::exists(out / f)) << f;
  const auto& hw = card["results"]["handwritten"];
  EXPECT_GE(hw["model"]["overall"]["n"].get<int>(), 10);  // the quick mode's sample of the 156 cases
  EXPECT_EQ(hw["keyword-baseline"]["overall"]["n"], hw["model"]["overall"]["n"]);
  EXPECT_NE(read_file((out / "report.md").string()).find("the smart-home agent"), std::string::npos);
  // Its targets are its own (generate.toml [report_targets]), and its
  // out-of-scope requests are judged on getting intent_unclear.
  const auto& t = card["targets"]["model"];
  EXPECT_DOUBLE_EQ(t["every_language"]["target"].get<double>(), 0.93);
  if (hw["model"]["by_type"].contains("out_of_scope")) {
    EXPECT_EQ(t["out_of_scope_call"]["value"], hw["model"]["by_type"]["out_of_scope"]["rate"]);
    EXPECT_NE(read_file((out / "report.md").string()).find("out-of-scope requests → intent_unclear"), std::string::npos);
  }
  // Its hand-written conversations are scored too.
  EXPECT_TRUE(card["results"].contains("conversations"));
  // The model files name their domain, so chat, predict, eval and serve need no --domain;
  // naming another domain is an error that says which one the model was trained for.
  for (const char* f : {"model.gguf", "model-q8_0.gguf"}) {
    EXPECT_EQ(domain_dir_for_model("", (out / f).string()), resolve_domain_dir("smart-home")) << f;
    EXPECT_EQ(domain_dir_for_model("smart-home", (out / f).string()), resolve_domain_dir("smart-home")) << f;
    try {
      domain_dir_for_model("air-purifier", (out / f).string());
      ADD_FAILURE() << "no error for the wrong domain";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("was trained for the domain 'smart-home', not 'air-purifier'"), std::string::npos) << e.what();
    }
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace edgelm
