// The demo's training drivers: render the generated examples (or preference
// pairs) in the agent format, pack them into token shards, and train with the
// one trainer behind `edgelm train` (training/trainer.h): SFT from random
// weights or a model, DPO from the SFT model.
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "agent/format.h"
#include "model/weights.h"
#include "pipeline/demo_train.h"
#include "platform/error.h"
#include "platform/json.h"
#include "platform/gguf.h"
#include "tokenizer/tokenizer.h"
#include "training/shard.h"
#include "training/trainer.h"

namespace edgelm {

namespace {

struct RenderedShard {
  int64_t n_tokens = 0, n_docs = 0;
};

// Renders every line of a JSONL file into a shard: SFT examples (one document each, tokens + loss
// mask) or, with `pairs`, preference pairs. Dialogues keep the history the agent keeps at run
// time (AgentOptions), cut further from the oldest turn to fit a training row of `max_tokens`.
RenderedShard render_shard(const DomainSchema& schema, const Tokenizer& tok, const std::string& jsonl,
                           const std::string& shard_path, int64_t max_tokens, bool pairs = false,
                           bool may_be_empty = false) {
  std::ifstream in(jsonl, std::ios::binary);
  if (!in) fail("cannot open '", jsonl, "'");
  training::ShardWriter writer(tok.n_vocab());
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = parse_json(line, cat(jsonl, " line ", line_no));
    try {
      if (pairs) {
        RenderedPair p = render_preference_pair(schema, tok, j, AgentOptions{}.max_history_tokens, max_tokens);
        writer.add_pair(p.chosen.tokens, p.chosen.loss_mask, p.rejected.tokens, p.rejected.loss_mask);
      } else {
        RenderedExample ex = render_training_example(schema, tok, j, AgentOptions{}.max_history_tokens, max_tokens);
        writer.add_document(ex.tokens, ex.loss_mask);
      }
    } catch (const Error& e) {
      fail(jsonl, " line ", line_no, ": ", e.what());
    }
  }
  if (writer.n_docs() == 0) {
    if (may_be_empty) return {0, 0};
    fail("'", jsonl, "' holds no examples");
  }
  writer.write(shard_path);
  return {writer.n_tokens(), writer.n_docs()};
}

// The run's settings the demo shares between SFT and DPO: the plan's shape and batch, AdamW with
// warm-up (a tenth of the steps, at most 100) and cosine decay to a tenth of the peak rate.
training::TrainConfig demo_train_config(const AgentTrainSpec& spec, const std::string& mode) {
  training::TrainConfig tc;
  tc.mode = mode;
  tc.out_dir = spec.run_dir;
  tc.tokenizer = spec.tokenizer_gguf;
  tc.init_model = spec.init_model;
  tc.model_seed = spec.seed;
  tc.batch = spec.batch;
  tc.seq = spec.seq_len;
  tc.steps = spec.steps;
  tc.seed = spec.seed;
  tc.eval_every = 0;  // validation once, at the end
  tc.dropout = mode == "dpo" ? 0.0 : spec.dropout;
  tc.prompt_weight = mode == "sft" ? spec.prompt_weight : 0.0;
  tc.optim.ema = mode == "sft" ? spec.ema : 0.0;
  tc.optim.lr = float(spec.learning_rate);
  tc.optim.min_lr = tc.optim.lr / 10;
  tc.optim.warmup_steps = std::min<int64_t>(100, std::max<int64_t>(1, spec.steps / 10));
  return tc;
}

// Trains, names the device in the model (chat, predict and serve find it by that) and
// summarises the run: the loss curve at about 200 points, whatever the step count.
using Clock = std::chrono::steady_clock;

nlohmann::json run_training(const DomainSchema& schema, const training::TrainConfig& tc, const AgentTrainSpec& spec,
                            Clock::time_point start) {
  training::TrainOptions options;
  options.progress_bar = !spec.quiet;
  options.model_path = spec.out_model;
  options.model_metadata.set(kModelDomainKey, GgufValue::string(schema.name));
  const training::TrainResult r = training::train_model(tc, options);
  const int64_t every = std::max<int64_t>(1, spec.steps / 200);
  nlohmann::json losses = nlohmann::json::array();
  double smoothed = 0;
  for (const auto& [step, loss] : r.losses) {
    smoothed = step == 1 ? loss : 0.95 * smoothed + 0.05 * loss;
    if ((step - 1) % every == 0 || step == spec.steps) losses.push_back({step, loss});
  }
  // The seconds count rendering the shards too.
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return {{"n_params", r.n_params}, {"steps", r.steps_done}, {"tokens", r.tokens_seen}, {"final_loss", r.final_loss},
          {"smoothed_loss", smoothed}, {"valid_loss", r.valid_loss >= 0 ? nlohmann::json(r.valid_loss) : nullptr},
          {"losses", losses},
          {"seconds", seconds}, {"tokens_per_s", seconds > 0 ? double(r.tokens_seen) / seconds : 0.0}};
}

// A model to start from must have the plan's shape: a model left over from another plan is an error.
void check_init_shape(const std::string& path, const ModelConfig& plan) {
  const ModelConfig m = read_model_config(GgufFile::open(path));
  if (m.n_vocab != plan.n_vocab || m.dim != plan.dim || m.n_layers != plan.n_layers || m.n_heads != plan.n_heads ||
      m.n_kv_heads != plan.n_kv_heads || m.ffn_dim != plan.ffn_dim)
    fail("'", path, "' has another shape than the plan (", m.summary(), " vs ", plan.summary(),
         "): delete it or run the demo with --force");
}

ModelConfig plan_model_config(const AgentTrainSpec& spec, int64_t n_vocab) {
  ModelConfig c;
  c.n_vocab = n_vocab;
  c.dim = spec.dim;
  c.n_layers = spec.layers;
  c.n_heads = spec.heads;
  c.n_kv_heads = spec.kv_heads;
  c.head_dim = spec.dim / spec.heads;
  c.ffn_dim = spec.ffn_dim;
  c.context_length = spec.context;
  c.tied_embeddings = true;
  c.validate();
  return c;
}

}  // namespace

nlohmann::json train_demo_model(const DomainSchema& schema, const AgentTrainSpec& spec) {
  const auto start = Clock::now();
  std::filesystem::create_directories(spec.run_dir);
  Tokenizer tok = load_tokenizer(spec.tokenizer_gguf);
  std::string train_shard = spec.run_dir + "/train.tokens", valid_shard = spec.run_dir + "/valid.tokens";
  const RenderedShard train = render_shard(schema, tok, spec.train_jsonl, train_shard, spec.seq_len + 1);
  // A small draw can miss every valid template (a focus round's few examples): it trains without validation.
  const RenderedShard valid = render_shard(schema, tok, spec.valid_jsonl, valid_shard, spec.seq_len + 1, false, true);
  const ModelConfig c = plan_model_config(spec, tok.n_vocab());
  if (!spec.init_model.empty()) check_init_shape(spec.init_model, c);

  training::TrainConfig tc = demo_train_config(spec, "sft");
  tc.model = c;
  tc.train_data = train_shard;
  tc.valid_data = valid.n_docs > 0 ? valid_shard : "";
  // Validation: one pass over (at most 20 batches of) the held-out examples in file order.
  tc.eval_batches = std::max<int64_t>(1, std::min<int64_t>(20, valid.n_docs / std::max<int64_t>(1, spec.batch)));
  nlohmann::json out = run_training(schema, tc, spec, start);
  out["config"] = c.summary();
  out["train_shard_tokens"] = train.n_tokens;
  return out;
}

nlohmann::json train_demo_dpo(const DomainSchema& schema, const AgentTrainSpec& spec, double beta, double sft_weight) {
  const auto start = Clock::now();
  std::filesystem::create_directories(spec.run_dir);
  Tokenizer tok = load_tokenizer(spec.tokenizer_gguf);
  const std::string pairs_shard = spec.run_dir + "/pairs.tokens";
  const RenderedShard pairs = render_shard(schema, tok, spec.train_jsonl, pairs_shard, spec.seq_len + 1, true);
  check_init_shape(spec.init_model, plan_model_config(spec, tok.n_vocab()));

  training::TrainConfig tc = demo_train_config(spec, "dpo");
  tc.train_data = pairs_shard;
  tc.eval_batches = 0;  // the generator writes pairs for the train split only
  tc.dpo_beta = beta;
  tc.dpo_sft_weight = sft_weight;
  nlohmann::json out = run_training(schema, tc, spec, start);
  out["pairs"] = pairs.n_docs / 2;
  out["beta"] = beta;
  if (sft_weight > 0) out["sft_weight"] = sft_weight;
  // The last step's share of pairs the model prefers the right way, from the run's metrics.
  std::ifstream metrics(spec.run_dir + "/metrics.jsonl");
  std::string line;
  while (std::getline(metrics, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_object() && j.contains("accuracy")) out["final_accuracy"] = j["accuracy"], out["final_margin"] = j["margin"];
  }
  return out;
}

}  // namespace edgelm
