// The shared base model's stages (base_model.h): device data for the
// tokenizer, the general tokenizer with reserved tokens, the corpus's token
// shards, pretraining.
#include "pipeline/base_model.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>

#include "agent/format.h"
#include "data/dataset.h"
#include "device/device.h"
#include "model/config.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/json.h"
#include "platform/thread_pool.h"
#include "pipeline/stages.h"
#include "tokenizer/reserved.h"
#include "tokenizer/tokenizer.h"
#include "training/shard.h"
#include "training/trainer.h"

namespace edgelm {

namespace fs = std::filesystem;

namespace {

nlohmann::json file_stamp(const std::string& path) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return nullptr;
  return {{"bytes", size}, {"mtime", int64_t(fs::last_write_time(path, ec).time_since_epoch().count())}};
}

// The built-in domains: every folder beside the default one.
std::vector<std::string> builtin_domains() {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(fs::path(resolve_domain_dir(kDefaultDomain)).parent_path()))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// The corpus's texts, in file order.
std::vector<std::string> read_corpus_texts(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open the corpus '", path, "' (build it with scripts/build-corpus)");
  std::vector<std::string> texts;
  std::string line;
  int64_t line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    nlohmann::json j = parse_json(line, cat(path, " line ", line_no));
    if (!j.is_object() || !j.contains("text") || !j["text"].is_string())
      fail(path, " line ", line_no, ": expected an object with a string \"text\" (a corpus.jsonl of edgelm data corpus)");
    texts.push_back(j["text"].get<std::string>());
  }
  if (texts.empty()) fail("the corpus '", path, "' holds no text");
  return texts;
}

}  // namespace

nlohmann::json run_base(const BaseOptions& o) {
  auto start = std::chrono::steady_clock::now();
  if (o.threads > 0) set_default_threads(o.threads);
  if (o.n_reserved < 1) fail("the base tokenizer needs reserved tokens for the devices' functions (got ", o.n_reserved, ")");
  std::vector<std::string> domains = o.domains.empty() ? builtin_domains() : o.domains;
  StageRunner st(o.out_dir, int(domains.size()) + 3, o.force, o.quiet);
  auto rel = [&](const std::string& p) { return st.path(p); };
  const nlohmann::json corpus_stamp = file_stamp(o.corpus);
  if (corpus_stamp.is_null()) fail("cannot read the corpus '", o.corpus, "' (build it with scripts/build-corpus)");

  // 1. Each domain's generated examples: the tokenizer learns the devices' words too.
  size_t most_specials = 0;
  std::vector<std::string> domain_texts;
  for (const auto& name : domains) {
    std::string dir = resolve_domain_dir(name);
    DomainSchema schema = load_device(dir).schema;
    // The role and end tokens are the base's own; the rest takes reserved ones.
    most_specials = std::max(most_specials, agent_special_tokens(schema).size() - 4);
    std::string slug = fs::path(dir).filename().string();
    nlohmann::json cfg = {{"domain", slug}, {"n", o.domain_examples}, {"seed", o.seed}};
    st.run("data_" + slug, "generate " + slug + " examples for the tokenizer", cfg, {"data/" + slug + "/train.jsonl"}, [&] {
      GenerateOptions g;
      g.domain_dir = dir;
      g.out_dir = rel("data/" + slug);
      g.n = o.domain_examples;
      g.seed = o.seed;
      g.quiet = o.quiet;
      DataSummary s = generate_dataset(g);
      return nlohmann::json{{"train", s.n_train}, {"seconds", s.seconds}};
    });
    domain_texts.push_back(rel("data/" + slug + "/train.jsonl"));
  }
  if (int64_t(most_specials) > o.n_reserved)
    fail("a domain needs ", most_specials, " special tokens but the base reserves ", o.n_reserved, " (raise --reserved)");

  // 2. The tokenizer: roles and end first (as agent_special_tokens orders
  // them, so <|end|> is eos), then the reserved block.
  nlohmann::json tok_cfg = {{"corpus", corpus_stamp}, {"domains", domains}, {"vocab", o.vocab_size},
                            {"reserved", o.n_reserved}, {"n", o.domain_examples}, {"seed", o.seed}};
  nlohmann::json tok = st.run("tokenizer", "train the general tokenizer", tok_cfg, {"tokenizer.gguf"}, [&] {
    auto t0 = std::chrono::steady_clock::now();
    std::vector<std::string> texts = read_corpus_texts(o.corpus);
    const size_t n_corpus = texts.size();
    std::vector<std::string> more = read_training_texts(domain_texts);
    texts.insert(texts.end(), more.begin(), more.end());
    std::vector<std::string> specials = {kSystemToken, kUserToken, kAssistantToken, kEndToken};
    for (int64_t i = 0; i < o.n_reserved; ++i) specials.push_back(reserved_token(int32_t(i)));
    TrainOptions options;
    options.show_progress = !o.quiet;
    Tokenizer t = train_bpe(texts, int32_t(o.vocab_size), specials, options);
    t.save_gguf(rel("tokenizer.gguf"));
    return nlohmann::json{{"n_vocab", t.n_vocab()}, {"n_reserved", o.n_reserved}, {"corpus_texts", n_corpus},
                          {"domain_texts", more.size()},
                          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  });

  // 3. The corpus as token shards: every 50th text held out for validation.
  nlohmann::json shard_cfg = {{"tokenizer", tok_cfg}};
  nlohmann::json shards = st.run("shards", "tokenize the corpus", shard_cfg, {"train.tokens", "valid.tokens"}, [&] {
    auto t0 = std::chrono::steady_clock::now();
    Tokenizer t = load_tokenizer(rel("tokenizer.gguf"));
    std::vector<std::string> texts = read_corpus_texts(o.corpus);
    training::ShardWriter train(t.n_vocab()), valid(t.n_vocab());
    int64_t bytes = 0;
    for (size_t i = 0; i < texts.size(); ++i) {
      std::vector<int32_t> ids = t.encode(texts[i]);
      ids.push_back(t.eos_id());
      (i % 50 == 49 ? valid : train).add_document(ids);
      bytes += int64_t(texts[i].size());
    }
    train.write(rel("train.tokens"));
    valid.write(rel("valid.tokens"));
    return nlohmann::json{{"train_tokens", train.n_tokens()}, {"valid_tokens", valid.n_tokens()},
                          {"bytes_per_token", double(bytes) / double(train.n_tokens() + valid.n_tokens())},
                          {"seconds", std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()}};
  });

  // 4. Pretraining with the training library's loop (mode "pretrain": every token counts).
  nlohmann::json train_cfg = {{"shards", shard_cfg}, {"dim", o.dim},     {"layers", o.layers}, {"heads", o.heads},
                              {"kv_heads", o.kv_heads}, {"ffn", o.ffn_dim}, {"context", o.context}, {"steps", o.steps},
                              {"batch", o.batch},     {"seq", o.seq_len}, {"lr", o.learning_rate}, {"seed", o.seed}};
  nlohmann::json pretrain = st.run("pretrain", "pretrain the base model on the corpus", train_cfg, {"base.gguf"}, [&] {
    training::TrainConfig c;
    c.mode = "pretrain";
    c.out_dir = rel("pretrain");
    c.model.dim = o.dim;
    c.model.n_layers = o.layers;
    c.model.n_heads = o.heads;
    c.model.n_kv_heads = o.kv_heads;
    c.model.head_dim = o.dim / o.heads;
    c.model.ffn_dim = o.ffn_dim;
    c.model.context_length = o.context;
    c.model.tied_embeddings = true;
    c.model.n_vocab = 0;  // the tokenizer's
    c.model_seed = o.seed;
    c.train_data = rel("train.tokens");
    c.valid_data = rel("valid.tokens");
    c.tokenizer = rel("tokenizer.gguf");
    c.batch = o.batch;
    c.seq = o.seq_len;
    c.steps = o.steps;
    c.seed = o.seed;
    c.eval_every = std::max<int64_t>(1, o.steps / 4);
    c.eval_batches = 8;
    c.log_every = std::max<int64_t>(1, o.steps / 200);
    c.optim.lr = float(o.learning_rate);
    c.optim.min_lr = c.optim.lr / 10;
    c.optim.warmup_steps = std::min<int64_t>(100, std::max<int64_t>(1, o.steps / 10));
    training::TrainOptions topt;
    topt.progress_bar = !o.quiet;
    training::TrainResult r = training::train_model(c, topt);
    fs::copy_file(r.model_path, rel("base.gguf.tmp"), fs::copy_options::overwrite_existing);
    fs::rename(rel("base.gguf.tmp"), rel("base.gguf"));
    return nlohmann::json{{"steps", r.steps_done}, {"batch", o.batch}, {"seq", o.seq_len}, {"tokens", r.tokens_seen},
                          {"n_params", r.n_params}, {"final_loss", r.final_loss}, {"valid_loss", r.valid_loss},
                          {"seconds", r.seconds}, {"tokens_per_s", r.tokens_per_s}};
  });

  nlohmann::json summary = {{"model", "base.gguf"}, {"tokenizer", tok}, {"shards", shards}, {"pretrain", pretrain},
                            {"corpus", o.corpus}, {"domains", domains},
                            {"shape", {{"dim", o.dim}, {"layers", o.layers}, {"heads", o.heads}, {"kv_heads", o.kv_heads},
                                       {"ffn", o.ffn_dim}, {"context", o.context}, {"vocab", o.vocab_size}}},
                            {"seconds_this_run", std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count()},
                            {"seconds_all_stages", st.total_seconds()}};
  write_file_atomic(rel("base.json"), summary.dump(2) + "\n");
  return summary;
}

nlohmann::json bind_demo_tokenizer(const DomainSchema& schema, const std::string& base_model, const std::string& out_gguf) {
  Tokenizer base = load_tokenizer(base_model);
  Tokenizer bound = bind_reserved_tokens(base, agent_special_tokens(schema));
  bound.save_gguf(out_gguf);
  return {{"n_vocab", bound.n_vocab()}, {"n_merges", bound.n_merges()}, {"base", base_model}, {"seconds", 0.0}};
}

}  // namespace edgelm
