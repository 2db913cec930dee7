// DPO: the objective against its PyTorch twin (tools/ref_dpo.py: loss, every gradient, 5 AdamW
// steps), the Pairs packing of the loader, and `mode = "dpo"` through the one trainer (with SFT
// from random weights beside it).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "golden_util.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/random.h"
#include "training/dpo.h"
#include "training/loader.h"
#include "training/shard.h"
#include "training/trainer.h"

namespace edgelm::training {
namespace {

namespace fs = std::filesystem;

TEST(Dpo, MatchesPyTorch) {
  Golden g = load_golden("golden_dpo.json");
  ThreadPool pool(2);
  ParamSet policy(std::move(g.weights));
  ParamSet reference(golden_weights(g.j, "reference_weights"));
  TransformerOptions ref_options;
  ref_options.recompute = true;  // as the trainer runs the reference
  Transformer model(policy, g.batch.B, g.batch.T, pool);
  Transformer ref_model(reference, g.batch.B, g.batch.T, pool, ref_options);
  DpoObjective dpo(model, ref_model, g.j["beta"].get<double>());

  const DpoStats s = dpo.accumulate({g.batch});
  EXPECT_EQ(s.n_pairs, 2);
  EXPECT_NEAR(s.mean_loss(), g.j["loss"].get<double>(), 1e-5);
  for (const ParamTensor& t : policy.tensors()) expect_close(t.grad, g.j["grads"].at(t.spec->name), 1e-4, t.spec->name);
  for (const ParamTensor& t : reference.tensors())  // the reference is frozen: never a gradient
    for (int64_t i = 0; i < t.n; ++i) ASSERT_EQ(t.grad[i], 0.0f) << t.spec->name;
  EXPECT_NEAR(dpo.loss(g.batch).mean_loss(), g.j["loss"].get<double>(), 1e-5);

  policy.zero_grads();
  const OptimConfig o = golden_optim(g.j["optim"]);
  const auto& want = g.j["losses"];
  for (int step = 1; step <= int(want.size()); ++step) {
    const double loss = dpo.accumulate({g.batch}).mean_loss();
    optimizer_step(policy, o, o.lr, step, pool);
    EXPECT_NEAR(loss, want[step - 1].get<double>(), 2e-3 * std::fabs(want[step - 1].get<double>())) << "AdamW step " << step;
  }
}

// Against itself as the reference, every margin is 0: the loss is log 2, and a micro-batch split
// gives the same gradient as the whole batch.
TEST(Dpo, SelfReferenceStartsAtLogTwoAndAccumulates) {
  Golden g = load_golden("golden_dpo.json");
  ThreadPool pool(1);
  ParamSet policy(golden_weights(g.j, "weights")), reference(golden_weights(g.j, "weights"));
  Transformer model(policy, 2, g.batch.T, pool), ref_model(reference, 2, g.batch.T, pool);
  DpoObjective dpo(model, ref_model, 0.1);
  const DpoStats s = dpo.accumulate({g.batch});
  EXPECT_NEAR(s.mean_loss(), std::log(2.0), 1e-12);
  EXPECT_EQ(s.mean_margin(), 0.0);
  EXPECT_EQ(s.n_preferred, 0);
  const std::vector<float> whole = policy.grads();

  // The same two pairs as two micro-batches of one pair each (row 1 moved to row 0 of the second).
  policy.zero_grads();
  Batch first = g.batch, second = g.batch;
  const int64_t T = g.batch.T;
  for (int64_t t = 0; t < T; ++t) {
    first.weights[T + t] = 0, first.pair_slot[T + t] = -1;
    second.tokens[t] = g.batch.tokens[T + t], second.targets[t] = g.batch.targets[T + t];
    second.weights[t] = g.batch.weights[T + t], second.first[t] = g.batch.first[T + t];
    second.pair_slot[t] = g.batch.pair_slot[T + t] < 0 ? -1 : g.batch.pair_slot[T + t] - 2;
    second.weights[T + t] = 0, second.pair_slot[T + t] = -1;
  }
  first.n_pairs = second.n_pairs = 1;
  EXPECT_NEAR(dpo.accumulate({first, second}).mean_loss(), std::log(2.0), 1e-12);
  for (size_t i = 0; i < whole.size(); ++i) ASSERT_NEAR(policy.grads()[i], whole[i], 1e-6 + 1e-5 * std::fabs(whole[i])) << i;
}

TEST(Dpo, PairLossIsFiniteForAnyMargin) {
  for (double z : {-1e6, -50.0, 0.0, 50.0, 1e6}) {
    const PairLoss p = dpo_pair_loss(z, 0, 0, 0, 1.0);
    EXPECT_TRUE(std::isfinite(p.loss) && std::isfinite(p.dloss_dpi_chosen)) << z;
    // softplus(-z): about -z far below 0, about 0 far above.
    const double want = std::fabs(z) < 100 ? std::log1p(std::exp(-z)) : std::max(-z, 0.0);
    EXPECT_NEAR(p.loss, want, 1e-9 * (1 + std::fabs(z))) << z;
  }
}

std::string dpo_dir(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("edgelm_test_dpo_" + name);
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Pairs whose sides share a prompt of 3 tokens; side lengths vary so that packing has to wrap.
// The chosen answer continues the prompt with (t * 3 + 1) % V, the rejected with (t * 5 + 2) % V.
std::string write_pairs_shard(const std::string& dir, int n_pairs, int64_t vocab) {
  ShardWriter w(vocab);
  Rng rng(3);
  for (int p = 0; p < n_pairs; ++p) {
    std::vector<int32_t> prompt = {int32_t(rng.below(uint64_t(vocab))), int32_t(rng.below(uint64_t(vocab))), 1};
    std::vector<int32_t> chosen = prompt, rejected = prompt;
    const int n_answer = 2 + p % 4;
    for (int i = 0; i < n_answer; ++i) {
      chosen.push_back(int32_t((chosen.back() * 3 + 1) % vocab));
      rejected.push_back(int32_t((rejected.back() * 5 + 2) % vocab));
    }
    std::vector<uint8_t> mask(chosen.size(), 1);
    std::fill(mask.begin(), mask.begin() + 3, 0);
    w.add_pair(chosen, mask, rejected, mask);
  }
  w.write(dir + "/pairs.tokens");
  return dir + "/pairs.tokens";
}

TEST(Loader, PairsArePackedWholeSideBySide) {
  const std::string dir = dpo_dir("loader");
  Shard shard = Shard::open(write_pairs_shard(dir, 9, 40));
  ASSERT_TRUE(shard.is_pairs());
  EXPECT_EQ(shard.n_pairs(), 9);
  BatchLoader loader(shard, 3, 12, PackMode::Pairs, 5);
  Batch b;
  int64_t seen = 0;
  for (int k = 0; k < 4; ++k) {
    loader.next(b);
    ASSERT_GT(b.n_pairs, 0);
    seen += b.n_pairs;
    std::vector<int> positions(size_t(2 * b.n_pairs), 0);
    for (int64_t i = 0; i < b.B * b.T; ++i) {
      const int32_t slot = b.pair_slot[size_t(i)];
      if (slot < 0) {
        EXPECT_EQ(b.weights[size_t(i)], 0.0f);
        continue;
      }
      ASSERT_LT(slot, 2 * b.n_pairs);
      positions[size_t(slot)] += 1;
      // A side lies whole within its row: its example starts at or after the row's start.
      EXPECT_GE(i % b.T, b.first[size_t(i)]);
    }
    for (int64_t q = 0; q < b.n_pairs; ++q) {
      // Both sides of a pair are present and equally long (same prompt, same answer length here).
      EXPECT_GT(positions[size_t(2 * q)], 0);
      EXPECT_EQ(positions[size_t(2 * q)], positions[size_t(2 * q + 1)]);
    }
  }
  EXPECT_GE(seen, 9);  // past an epoch: nothing lost at the batch edges
  // The position resumes the same stream.
  const LoaderPosition pos = loader.position();
  Batch a, c;
  loader.next(a);
  BatchLoader again(shard, 3, 12, PackMode::Pairs, 5);
  again.set_position(pos);
  again.next(c);
  EXPECT_EQ(a.tokens, c.tokens);
  EXPECT_EQ(a.pair_slot, c.pair_slot);

  // A shard of documents is not pairs, and one row too short for a pair is an error naming the fix.
  ShardWriter docs(40);
  docs.add_document(std::vector<int32_t>{1, 2, 3});
  docs.write(dir + "/docs.tokens");
  Shard doc_shard = Shard::open(dir + "/docs.tokens");
  try {
    BatchLoader bad(doc_shard, 2, 8, PackMode::Pairs, 1);
    ADD_FAILURE() << "a documents shard packed as pairs";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--pairs"), std::string::npos) << e.what();
  }
  try {
    BatchLoader bad(shard, 1, 8, PackMode::Pairs, 1);
    ADD_FAILURE() << "a pair longer than the only row";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("train.batch >= 2"), std::string::npos) << e.what();
  }
  EXPECT_THROW(docs.add_pair(std::vector<int32_t>{1, 2}, std::vector<uint8_t>{0, 1}, std::vector<int32_t>{1, 3},
                             std::vector<uint8_t>{0, 1}),
               Error);
  fs::remove_all(dir);
}

ModelConfig dpo_config() {
  ModelConfig c = model_shape("tiny");
  c.n_vocab = 40;
  c.dim = 32;
  c.n_layers = 2;
  c.n_heads = 4;
  c.n_kv_heads = 2;
  c.head_dim = 8;
  c.ffn_dim = 64;
  c.context_length = 64;
  return c;
}

TrainConfig base_run(const std::string& dir, const std::string& mode) {
  TrainConfig c;
  c.mode = mode;
  c.out_dir = dir + "/" + mode;
  c.model = dpo_config();
  c.batch = 4;
  c.seq = 16;
  c.eval_every = 0;
  c.eval_batches = 2;
  c.threads = 2;
  c.optim.warmup_steps = 2;
  return c;
}

// SFT from random weights, then DPO from that model on pairs whose chosen answers the SFT data taught:
// the one trainer serves both; DPO raises the preference margin and keeps the model's keys.
TEST(Train, SftFromScratchThenDpo) {
  const std::string dir = dpo_dir("train");
  const std::string pairs = write_pairs_shard(dir, 24, 40);
  // The SFT data: every pair's chosen side as an example.
  {
    Shard p = Shard::open(pairs);
    ShardWriter sft(40);
    for (int64_t q = 0; q < p.n_pairs(); ++q) {
      std::vector<int32_t> tokens;
      std::vector<uint8_t> mask;
      for (int64_t i = p.doc_start(2 * q); i < p.doc_end(2 * q); ++i) tokens.push_back(p.token(i)), mask.push_back(p.mask(i));
      sft.add_document(tokens, mask);
    }
    sft.write(dir + "/sft.tokens");
  }
  TrainOptions quiet;
  quiet.progress_bar = false;
  quiet.model_metadata.set("edgelm.domain", GgufValue::string("test-device"));
  TrainConfig sft = base_run(dir, "sft");
  sft.train_data = sft.valid_data = dir + "/sft.tokens";
  sft.steps = 30;
  sft.optim.lr = 3e-3f;
  const TrainResult s = train_model(sft, quiet);
  EXPECT_LT(s.final_loss, s.losses.front().second);

  TrainConfig dpo = base_run(dir, "dpo");
  dpo.train_data = dpo.valid_data = pairs;
  dpo.init_model = s.model_path;
  dpo.steps = 12;
  dpo.optim.lr = 1e-3f;
  dpo.dpo_beta = 0.5;
  TrainOptions plain;
  plain.progress_bar = false;
  const TrainResult d = train_model(dpo, plain);
  EXPECT_NEAR(d.losses.front().second, std::log(2.0), 1e-9);  // the reference is the model it starts from
  EXPECT_LT(d.final_loss, 0.9 * std::log(2.0));
  EXPECT_GE(d.valid_loss, 0);
  std::ifstream metrics(dpo.out_dir + "/metrics.jsonl");
  std::string line, last;
  while (std::getline(metrics, line))
    if (line.find("\"accuracy\"") != std::string::npos) last = line;
  EXPECT_NE(last, "") << "dpo metrics carry the pair accuracy";
  GgufFile model = GgufFile::open(d.model_path);
  ASSERT_NE(model.metadata().find("edgelm.domain"), nullptr);  // kept from the SFT model
  EXPECT_EQ(model.metadata().find("edgelm.domain")->as_string("edgelm.domain"), "test-device");
  EXPECT_EQ(model.metadata().find("edgelm.train.step"), nullptr);

  // A run from model.init that leaves the shape to it writes a config.toml that runs again as it is.
  TrainConfig from_init = dpo;
  from_init.model = ModelConfig{};
  from_init.out_dir = dir + "/from-init";
  from_init.steps = 1;
  train_model(from_init, plain);
  TrainConfig replay = parse_train_config(read_file(from_init.out_dir + "/config.toml"), {});
  EXPECT_EQ(replay.model.dim, dpo.model.dim);
  replay.out_dir = dir + "/replay";
  EXPECT_NO_THROW(train_model(replay, plain));

  // The wrong shard for the mode, both ways, fails before any step.
  TrainConfig wrong = dpo;
  wrong.train_data = dir + "/sft.tokens";
  wrong.valid_data = "";
  EXPECT_THROW(train_model(wrong, plain), Error);
  TrainConfig wrong_sft = sft;
  wrong_sft.train_data = pairs;
  wrong_sft.valid_data = "";
  try {
    train_model(wrong_sft, plain);
    ADD_FAILURE() << "SFT on a pairs shard";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("mode \"dpo\""), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgelm::training
