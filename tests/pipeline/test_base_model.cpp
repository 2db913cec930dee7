// The shared base model: `run_base` on a tiny corpus (general tokenizer with
// reserved tokens, shards, pretraining), then the quick demo fine-tuning from
// it, with the from-scratch ablation at equal compute.
#include <gtest/gtest.h>

#include <filesystem>

#include "agent/format.h"
#include "device/device.h"
#include "model/config.h"
#include "model/weights.h"
#include "pipeline/base_model.h"
#include "pipeline/demo.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "tokenizer/reserved.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

TEST(BaseModel, PretrainsOnceAndTheDemoFineTunesFromIt) {
  fs::path root = fs::temp_directory_path() / "edgelm_test_base";
  fs::remove_all(root);
  fs::create_directories(root);
  std::string corpus;
  for (int i = 0; i < 200; ++i) {
    corpus += nlohmann::json{{"text", "The purifier cleans the air of room number " + std::to_string(i) + "."}, {"lang", "en"}}.dump() + "\n";
    corpus += nlohmann::json{{"text", "공기청정기가 " + std::to_string(i) + "번 방의 공기를 깨끗하게 합니다."}, {"lang", "ko"}}.dump() + "\n";
  }
  write_file_atomic((root / "corpus.jsonl").string(), corpus);

  BaseOptions b;
  b.corpus = (root / "corpus.jsonl").string();
  b.out_dir = (root / "base").string();
  b.domains = {kDefaultDomain};
  b.quiet = true;
  b.threads = 1;
  b.vocab_size = 420;
  b.n_reserved = 40;
  b.dim = 32, b.layers = 1, b.heads = 2, b.kv_heads = 1, b.ffn_dim = 64, b.context = 128;
  b.steps = 4, b.batch = 2, b.seq_len = 32;
  b.domain_examples = 200;
  nlohmann::json s = run_base(b);
  EXPECT_EQ(s["pretrain"]["steps"], 4);
  EXPECT_GT(s["shards"]["train_tokens"].get<int64_t>(), 0);
  const std::string base_model = (root / "base" / "base.gguf").string();
  ASSERT_TRUE(fs::exists(base_model));
  ASSERT_TRUE(fs::exists(root / "base" / "base.json"));
  Tokenizer base_tok = load_tokenizer(base_model);
  EXPECT_EQ(base_tok.n_vocab(), 420);
  EXPECT_EQ(count_reserved_tokens(base_tok), 40);
  EXPECT_EQ(base_tok.eos_id(), *base_tok.special_id(kEndToken));

  // A second run reuses every stage.
  nlohmann::json again = run_base(b);
  EXPECT_EQ(again["pretrain"], s["pretrain"]);

  // Too few reserved tokens for the device is an error before any work.
  BaseOptions few = b;
  few.out_dir = (root / "few").string();
  few.n_reserved = 2;
  EXPECT_THROW(run_base(few), Error);

  DemoOptions o;
  o.out_dir = (root / "demo").string();
  o.quick = true;
  o.quiet = true;
  o.threads = 1;
  o.focus_steps = 0;
  o.base_model = base_model;
  DemoOptions other_shape = o;
  other_shape.dim = 48;  // the base is dim 32: an error, not a silent override
  EXPECT_THROW(demo_plan(other_shape), Error);
  DemoPlan plan = demo_plan(o);
  EXPECT_EQ(plan.dim, 32);  // the base's shape
  EXPECT_EQ(plan.vocab_size, 420);
  EXPECT_EQ(plan.base_steps, (4 * 2 * 32 + plan.batch * plan.seq_len - 1) / (plan.batch * plan.seq_len));
  nlohmann::json card = run_demo(o);
  for (const char* f : {"tokenizer.gguf", "model.gguf", "model-scratch.gguf", "eval/handwritten/model-scratch/report.json"})
    EXPECT_TRUE(fs::exists(root / "demo" / f)) << f;
  EXPECT_EQ(card["train_scratch"]["steps"], plan.steps + plan.base_steps);
  EXPECT_EQ(card["base_model"], base_model);
  // The device's tokenizer is the base's with its tokens bound: same size, every agent token present.
  Tokenizer tok = load_tokenizer((root / "demo" / "tokenizer.gguf").string());
  EXPECT_EQ(tok.n_vocab(), base_tok.n_vocab());
  for (const auto& t : agent_special_tokens(load_device(resolve_domain_dir(kDefaultDomain)).schema))
    EXPECT_TRUE(tok.special_id(t)) << t;
  EXPECT_EQ(tok.encode("turn the purifier on"), base_tok.encode("turn the purifier on"));
  fs::remove_all(root);
}

}  // namespace
}  // namespace edgelm
