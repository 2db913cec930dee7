// The demo's SFT driver: renders the generated examples in the agent format,
// packs them into token shards, and trains a model from random weights with
// the training library (Transformer forward/backward, AdamW, warm-up + cosine).
#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "agent/agent.h"
#include "agent/format.h"
#include "model/weights.h"
#include "pipeline/demo_train.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/json.h"
#include "platform/gguf.h"
#include "platform/progress.h"
#include "tokenizer/tokenizer.h"
#include "training/loader.h"
#include "training/optimizer.h"
#include "training/params.h"
#include "training/shard.h"
#include "training/transformer.h"

namespace edgelm {

namespace {

// Renders every line of an SFT JSONL file into one shard document (tokens + loss mask).
// Dialogues keep the history the agent keeps at run time (AgentOptions), cut
// further from the oldest turn to fit a training row of `max_tokens`.
int64_t render_shard(const DomainSchema& schema, const Tokenizer& tok, const std::string& jsonl, const std::string& shard_path,
                     int64_t max_tokens) {
  std::ifstream in(jsonl, std::ios::binary);
  if (!in) fail("cannot open '", jsonl, "'");
  training::ShardWriter writer(tok.n_vocab());
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = parse_json(line, cat(jsonl, " line ", line_no));
    RenderedExample ex;
    try {
      ex = render_training_example(schema, tok, j, AgentOptions{}.max_history_tokens, max_tokens);
    } catch (const Error& e) {
      fail(jsonl, " line ", line_no, ": ", e.what());
    }
    writer.add_document(ex.tokens, ex.loss_mask);
  }
  if (writer.n_docs() == 0) fail("'", jsonl, "' holds no examples");
  writer.write(shard_path);
  return writer.n_tokens();
}

}  // namespace

nlohmann::json train_demo_model(const DomainSchema& schema, const AgentTrainSpec& spec) {
  auto start = std::chrono::steady_clock::now();
  std::filesystem::create_directories(spec.run_dir);
  Tokenizer tok = load_tokenizer(spec.tokenizer_gguf);
  std::string train_shard = spec.run_dir + "/train.tokens", valid_shard = spec.run_dir + "/valid.tokens";
  int64_t train_tokens = render_shard(schema, tok, spec.train_jsonl, train_shard, spec.seq_len + 1);
  render_shard(schema, tok, spec.valid_jsonl, valid_shard, spec.seq_len + 1);

  ModelConfig c;
  c.n_vocab = tok.n_vocab();
  c.dim = spec.dim;
  c.n_layers = spec.layers;
  c.n_heads = spec.heads;
  c.n_kv_heads = spec.kv_heads;
  c.head_dim = spec.dim / spec.heads;
  c.ffn_dim = spec.ffn_dim;
  c.context_length = spec.context;
  c.tied_embeddings = true;
  c.validate();

  ThreadPool& pool = default_thread_pool();
  WeightsF32 init;
  if (spec.init_model.empty()) {
    init = init_random_weights(c, spec.seed);
  } else {
    GgufFile f = GgufFile::open(spec.init_model);
    init = load_weights_f32(f);
    const ModelConfig& m = init.config;
    if (m.n_vocab != c.n_vocab || m.dim != c.dim || m.n_layers != c.n_layers || m.n_heads != c.n_heads ||
        m.n_kv_heads != c.n_kv_heads || m.ffn_dim != c.ffn_dim)
      fail("'", spec.init_model, "' has another shape than the plan (", m.summary(), " vs ", c.summary(),
           "): delete it or run the demo with --force");
  }
  training::ParamSet params(std::move(init));
  training::Transformer model(params, spec.batch, spec.seq_len, pool);
  training::Shard train = training::Shard::open(train_shard), valid = training::Shard::open(valid_shard);
  training::BatchLoader loader(train, spec.batch, spec.seq_len, training::PackMode::Examples, spec.seed);
  training::OptimConfig oc;
  oc.lr = float(spec.learning_rate);
  oc.min_lr = oc.lr / 10;
  oc.warmup_steps = std::min<int64_t>(100, std::max<int64_t>(1, spec.steps / 10));

  AtomicFile metrics(spec.run_dir + "/metrics.jsonl");
  nlohmann::json losses = nlohmann::json::array();
  std::unique_ptr<ProgressBar> bar;
  if (!spec.quiet) bar = std::make_unique<ProgressBar>("train", spec.steps, "steps");
  training::Batch batch;
  double smoothed = 0, last_loss = 0;
  int64_t tokens_seen = 0;
  // Loss points kept for the curve: about 200, whatever the step count.
  int64_t every = std::max<int64_t>(1, spec.steps / 200);
  for (int64_t step = 0; step < spec.steps; ++step) {
    loader.next(batch);
    double n = batch.n_weighted();
    if (n <= 0) continue;
    model.forward(batch);
    double nll = model.backward(batch, float(1.0 / n));
    float lr = training::learning_rate(oc, step, spec.steps);
    double grad_norm = training::optimizer_step(params, oc, lr, step + 1, pool);
    last_loss = nll / n;
    smoothed = step == 0 ? last_loss : 0.95 * smoothed + 0.05 * last_loss;
    tokens_seen += batch.B * batch.T;
    if (step % every == 0 || step + 1 == spec.steps) losses.push_back({step + 1, last_loss});
    metrics.write(nlohmann::json{{"step", step + 1}, {"loss", last_loss}, {"lr", lr}, {"grad_norm", grad_norm}}.dump() + "\n");
    if (bar) bar->update(step + 1, cat("loss ", smoothed));
  }
  if (bar) bar->finish(cat("loss ", smoothed));

  // Validation: one pass over the held-out examples in file order.
  training::BatchLoader vloader(valid, spec.batch, spec.seq_len, training::PackMode::Examples, spec.seed, false);
  int64_t n_batches = std::max<int64_t>(1, std::min<int64_t>(20, valid.n_docs() / std::max<int64_t>(1, spec.batch)));
  double vsum = 0, vn = 0;
  for (int64_t i = 0; i < n_batches; ++i) {
    vloader.next(batch);
    if (batch.n_weighted() <= 0) continue;
    vsum += model.loss(batch);
    vn += batch.n_weighted();
  }
  double valid_loss = vn > 0 ? vsum / vn : 0;
  metrics.write(nlohmann::json{{"step", spec.steps}, {"valid_loss", valid_loss}}.dump() + "\n");
  metrics.commit();

  GgufMetadata extra;
  tok.write_to(extra);
  extra.set(kModelDomainKey, GgufValue::string(schema.name));  // chat, predict and serve find the device by it
  save_weights_gguf(spec.out_model, params.weights(), TensorType::F32, &extra, "edgelm-agent");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return {{"n_params", c.n_params()}, {"config", c.summary()}, {"steps", spec.steps}, {"tokens", tokens_seen},
          {"train_shard_tokens", train_tokens}, {"final_loss", last_loss}, {"smoothed_loss", smoothed},
          {"valid_loss", valid_loss}, {"losses", losses}, {"seconds", seconds},
          {"tokens_per_s", seconds > 0 ? double(tokens_seen) / seconds : 0.0}};
}

}  // namespace edgelm
