// LoRA training: the adapter's gradients against tools/ref_lora.py (PyTorch,
// double precision) and by finite differences; the frozen base gets none.
#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include <filesystem>

#include "train_test_util.h"
#include "model/model.h"
#include "model/weights.h"
#include "model/session.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/random.h"
#include "platform/thread_pool.h"
#include "quant/quantize_file.h"
#include "training/lora.h"
#include "training/shard.h"
#include "training/train_config.h"
#include "training/trainer.h"
#include "training/transformer.h"

namespace edgelm::training {
namespace {

struct LoraGolden {
  nlohmann::json j;
  WeightsF32 weights;
  Batch batch;
  LoraAdapter adapter;
  LoraConfig config;
};

LoraGolden load_lora_golden() {
  LoraGolden g;
  g.j = nlohmann::json::parse(read_file(std::string(EDGELM_TEST_DIR) + "/fixtures/training/golden_lora.json"));
  const auto& c = g.j["config"];
  ModelConfig cfg{.n_vocab = c["n_vocab"], .dim = c["dim"], .n_layers = c["n_layers"], .n_heads = c["n_heads"],
                  .n_kv_heads = c["n_kv_heads"], .head_dim = c["head_dim"], .ffn_dim = c["ffn_dim"],
                  .context_length = c["context_length"], .rope_theta = c["rope_theta"], .norm_eps = c["norm_eps"],
                  .tied_embeddings = c["tied"], .sliding_window = c["sliding_window"]};
  g.weights = init_random_weights(cfg, 0);
  for (size_t i = 0; i < g.weights.specs.size(); ++i) {
    const auto& src = g.j["weights"].at(g.weights.specs[i].name);
    for (size_t k = 0; k < src.size(); ++k) g.weights.data[i][k] = src[k].get<float>();
  }
  const auto& b = g.j["batch"];
  g.batch.resize(b["B"], b["T"]);
  g.batch.tokens = b["tokens"].get<std::vector<int32_t>>();
  g.batch.targets = b["targets"].get<std::vector<int32_t>>();
  g.batch.first = b["first"].get<std::vector<int32_t>>();
  g.batch.weights = b["weights"].get<std::vector<float>>();
  g.config.rank = g.j["rank"];
  g.config.alpha = g.j["alpha"];
  g.config.targets.clear();
  for (int t = 0; t < kLoraTargets; ++t) g.config.targets.push_back(LoraTarget(t));
  g.adapter.alpha = g.config.alpha;
  g.adapter.layers.resize(size_t(cfg.n_layers));
  for (int64_t l = 0; l < cfg.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      LoraMatrix& m = g.adapter.at(l, LoraTarget(t));
      std::tie(m.out, m.in) = lora_target_shape(cfg, LoraTarget(t));
      m.rank = g.config.rank;
      const std::string base = layer_tensor_name(int(l), lora_target_tensor(LoraTarget(t)));
      m.a = g.j["lora"].at(base + ".lora_a").get<std::vector<float>>();
      m.b = g.j["lora"].at(base + ".lora_b").get<std::vector<float>>();
    }
  return g;
}

// The mean loss of the batch (what the fixture's loss is).
double mean_loss(Transformer& model, const Batch& b) { return model.loss(b) / b.n_weighted(); }

TEST(LoraTrain, AdapterGradientsMatchPyTorch) {
  LoraGolden g = load_lora_golden();
  ThreadPool pool(2);
  ParamSet params(std::move(g.weights));
  for (bool recompute : {false, true}) {
    LoraTrainer lora(params.config(), g.config, g.batch.B * g.batch.T, 1);
    lora.load_values(g.adapter);
    Transformer model(params, g.batch.B, g.batch.T, pool, {.recompute = recompute, .lora = &lora});
    model.forward(g.batch);
    const double n = g.batch.n_weighted();
    EXPECT_NEAR(model.backward(g.batch, float(1.0 / n)) / n, g.j["loss"].get<double>(), 1e-5);
    double worst = 0;
    for (int64_t l = 0; l < params.config().n_layers; ++l)
      for (int t = 0; t < kLoraTargets; ++t) {
        const std::string base = layer_tensor_name(int(l), lora_target_tensor(LoraTarget(t)));
        for (auto [suffix, got] : {std::pair{".lora_a", lora.grad_a(int(l), LoraTarget(t))},
                                   std::pair{".lora_b", lora.grad_b(int(l), LoraTarget(t))}}) {
          const auto& want = g.j["grads"].at(base + suffix);
          for (size_t i = 0; i < want.size(); ++i) {
            const double err = std::fabs(got[i] - want[i].get<double>());
            worst = std::max(worst, err);
            ASSERT_LE(err, 1e-4) << base << suffix << "[" << i << "] recompute " << recompute;
          }
        }
      }
    RecordProperty(recompute ? "max_abs_error_recompute" : "max_abs_error", std::to_string(worst));
    // The base is frozen: its matrices' and embeddings' gradients were not computed (the norms'
    // gains still get theirs from the shared RMSNorm backward, and no optimiser reads them).
    for (const ParamTensor& p : params.tensors()) {
      if (p.spec->role == TensorRole::Norm) continue;
      for (int64_t i = 0; i < p.n; ++i) ASSERT_EQ(p.grad[i], 0.0f) << p.spec->name;
    }
  }
}

// What a LoRA run does (training/trainer.cpp): the base held without gradient or moment
// buffers. The adapter's gradients are the same bit for bit as over a trainable copy.
TEST(LoraTrain, FrozenBaseKeepsNoGradientsAndGivesTheSameAdapterGradients) {
  LoraGolden g = load_lora_golden();
  ThreadPool pool(2);
  ParamSet trainable(g.weights), frozen(std::move(g.weights), /*trainable=*/false);
  EXPECT_EQ(frozen.n_params(), trainable.n_params());
  EXPECT_TRUE(frozen.grads().empty());
  EXPECT_TRUE(frozen.moment1().empty());
  EXPECT_TRUE(frozen.moment2().empty());
  for (const ParamTensor& p : frozen.tensors()) {
    EXPECT_EQ(p.grad, nullptr) << p.spec->name;
    EXPECT_EQ(p.m, nullptr) << p.spec->name;
  }
  std::vector<float> grads[2];
  int k = 0;
  for (ParamSet* params : {&trainable, &frozen}) {
    LoraTrainer lora(params->config(), g.config, g.batch.B * g.batch.T, 1);
    lora.load_values(g.adapter);
    Transformer model(*params, g.batch.B, g.batch.T, pool, {.lora = &lora});
    model.forward(g.batch);
    model.backward(g.batch, float(1.0 / g.batch.n_weighted()));
    grads[k++] = lora.grads();
  }
  ASSERT_FALSE(grads[0].empty());
  EXPECT_EQ(grads[0], grads[1]);
}

TEST(LoraTrain, AdapterGradientsMatchFiniteDifferences) {
  LoraGolden g = load_lora_golden();
  ThreadPool pool(1);
  ParamSet params(std::move(g.weights));
  LoraTrainer lora(params.config(), g.config, g.batch.B * g.batch.T, 1);
  lora.load_values(g.adapter);
  Transformer model(params, g.batch.B, g.batch.T, pool, {.lora = &lora});
  model.forward(g.batch);
  model.backward(g.batch, float(1.0 / g.batch.n_weighted()));
  const std::vector<float> grads = lora.grads();
  // A spread of entries over every matrix, A and B alike; central differences in f32 with a step
  // large enough for the loss's rounding (~1e-7) to stay well below the tolerance.
  const float h = 2e-3f;
  int checked = 0;
  for (size_t i = 3; i < lora.values().size(); i += 37) {
    float& v = lora.values()[i];
    const float keep = v;
    v = keep + h;
    const double up = mean_loss(model, g.batch);
    v = keep - h;
    const double down = mean_loss(model, g.batch);
    v = keep;
    const double fd = (up - down) / (2.0 * h);
    EXPECT_NEAR(grads[i], fd, 2e-3 + 2e-3 * std::fabs(fd)) << "parameter " << i;
    ++checked;
  }
  EXPECT_GT(checked, 20);
}

TEST(LoraTrain, StartsFromTheBaseAndDropoutOnlyWhileTraining) {
  LoraGolden g = load_lora_golden();
  ThreadPool pool(2);
  ParamSet params(std::move(g.weights));
  Transformer plain(params, g.batch.B, g.batch.T, pool);
  const double base_loss = mean_loss(plain, g.batch);
  LoraConfig cfg = g.config;
  cfg.dropout = 0.5f;
  LoraTrainer lora(params.config(), cfg, g.batch.B * g.batch.T, 7);
  Transformer model(params, g.batch.B, g.batch.T, pool, {.lora = &lora});
  // B starts at zero (PEFT's initialisation): the adapted model is the base.
  EXPECT_EQ(mean_loss(model, g.batch), base_loss);
  lora.load_values(g.adapter);
  lora.set_training(false);
  const double eval_loss = mean_loss(model, g.batch);
  EXPECT_EQ(mean_loss(model, g.batch), eval_loss);
  lora.set_training(true);
  EXPECT_NE(mean_loss(model, g.batch), eval_loss);
  EXPECT_NEAR(eval_loss, g.j["loss"].get<double>(), 1e-5);
}

TEST(LoraTrain, ConfigSectionParsesAndRoundTrips) {
  TrainConfig c = parse_train_config(
      "mode = \"sft\"\n[model]\ninit = \"base.gguf\"\n[data]\ntrain = \"t.tokens\"\n[lora]\nrank = 4\nalpha = 8\n"
      "dropout = 0.1\ntargets = \"q,v,down\"\n",
      {"lora.alpha=12", "lora.keep_base_type=false"});
  EXPECT_EQ(c.lora.rank, 4);
  EXPECT_FALSE(c.lora.keep_base_type);
  EXPECT_EQ(c.lora.alpha, 12.0f);
  EXPECT_EQ(c.lora.targets, (std::vector<LoraTarget>{LoraTarget::Q, LoraTarget::V, LoraTarget::Down}));
  TrainConfig back = parse_train_config(train_config_to_toml(c), {});
  EXPECT_EQ(back.lora.targets, c.lora.targets);
  EXPECT_FLOAT_EQ(back.lora.dropout, 0.1f);
  EXPECT_FALSE(back.lora.keep_base_type);
  EXPECT_THROW(parse_train_config("[data]\ntrain = \"t\"\n[lora]\nrank = 4\n", {}), Error);  // no model.init
  EXPECT_THROW(parse_train_config("[model]\ninit=\"b\"\n[data]\ntrain = \"t\"\n[lora]\nrank = 4\ntargets = \"q,x\"\n", {}),
               Error);
}

// This process's scratch folder for one test, /tmp/edgelm_test_lora_NAME_PID.
std::string lora_test_dir(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgelm_test_lora_" + name + "_" + std::to_string(::getpid()))).string();
}

// A base and a token shard in `dir`, and a [lora] run over them (tiny shapes).
TrainConfig lora_run_setup(const std::string& dir) {
  namespace fs = std::filesystem;
  fs::remove_all(dir);
  fs::create_directories(dir);
  ModelConfig mc = model_shape("tiny");
  mc.n_vocab = 40;
  mc.dim = 32;
  mc.n_heads = 4;
  mc.n_kv_heads = 2;
  mc.head_dim = 8;
  mc.ffn_dim = 64;
  mc.context_length = 64;
  const std::string base = dir + "/base.gguf";
  // A base whose (tied, frozen) embeddings are large enough for logits to move: at init's std of
  // 0.02 a frozen head caps every logit near 0.6, whatever the adapter learns.
  WeightsF32 base_weights = init_random_weights(mc, 3);
  for (float& x : base_weights.data[0]) x *= 25.0f;
  save_weights_gguf(base, base_weights, TensorType::F32, nullptr);
  ShardWriter w(40);
  Rng rng(5);
  for (int d = 0; d < 30; ++d) {
    std::vector<int32_t> doc(20 + d);
    for (size_t i = 0; i < doc.size(); ++i) doc[i] = int32_t((d + i * 3 + rng.below(3)) % 40);
    w.add_document(doc);
  }
  w.write(dir + "/train.tokens");
  TrainConfig c;
  c.out_dir = dir + "/run";
  c.init_model = base;
  c.train_data = dir + "/train.tokens";
  c.batch = 2;
  c.seq = 16;
  c.steps = 80;
  c.eval_every = 0;
  c.threads = 2;
  c.optim.lr = 5e-2f;
  c.optim.min_lr = 5e-3f;
  c.lora.rank = 8;
  c.lora.alpha = 16;
  c.lora.dropout = 0.05f;
  c.lora.targets = {LoraTarget::Q, LoraTarget::V, LoraTarget::Gate, LoraTarget::Up, LoraTarget::Down};
  return c;
}

// A whole [lora] run: the loss falls, only adapter.gguf is written, and it runs on the unchanged base.
TEST(LoraTrain, TrainRunWritesAnAdapterThatRunsOnTheBase) {
  namespace fs = std::filesystem;
  const fs::path dir = lora_test_dir("train");
  TrainConfig c = lora_run_setup(dir.string());
  const std::string base = c.init_model;
  const std::string base_bytes = read_file(base);
  TrainOptions quiet;
  quiet.progress_bar = false;
  TrainResult r = train_model(c, quiet);
  EXPECT_EQ(r.model_path, c.out_dir + "/adapter.gguf");
  EXPECT_FALSE(fs::exists(c.out_dir + "/model.gguf"));
  // Mean losses of the first and last ten steps (batches differ from step to step).
  double early = 0, late = 0;
  for (int i = 0; i < 10; ++i) {
    early += r.losses[size_t(i)].second / 10;
    late += r.losses[r.losses.size() - 1 - size_t(i)].second / 10;
  }
  EXPECT_LT(late, early - 0.3) << "early " << early << ", late " << late;
  // 2 blocks x rank 8 x (in + out) of q (32 -> 32), v (32 -> 16), gate and up (32 -> 64), down (64 -> 32).
  EXPECT_EQ(r.n_params, 2 * 8 * ((32 + 32) + (32 + 16) + 3 * (32 + 64)));
  EXPECT_EQ(read_file(base), base_bytes);  // the base is untouched
  auto model = Model::load(base);
  auto adapter = std::make_shared<const LoraAdapter>(load_lora_adapter(r.model_path, model->config()));
  EXPECT_EQ(adapter->n_matrices(), 2 * 5);
  InferenceSession s(model);
  const std::vector<int32_t> tokens = {1, 4, 7, 10, 13};
  auto first = s.eval(tokens);
  std::vector<float> plain(first.begin(), first.end());
  s.set_adapter(adapter);
  auto adapted = s.eval(tokens);
  double diff = 0;
  for (size_t i = 0; i < plain.size(); ++i) diff = std::max(diff, std::fabs(double(plain[i]) - adapted[i]));
  EXPECT_GT(diff, 1e-3);
  fs::remove_all(dir);
}

// Stopped after step 3 (as Ctrl-C does) and resumed, a [lora] run gives the
// straight run's losses and adapter bit for bit (moments, data position and
// dropout masks restored); a checkpoint of another rank is refused by name.
TEST(LoraTrain, ResumeIsBitIdentical) {
  namespace fs = std::filesystem;
  const std::string dir = lora_test_dir("resume");
  TrainConfig c = lora_run_setup(dir);
  c.steps = 6;
  TrainOptions quiet;
  quiet.progress_bar = false;
  TrainResult straight = train_model(c, quiet);
  ASSERT_EQ(straight.losses.size(), 6u);
  EXPECT_EQ(straight.checkpoint_path, c.out_dir + "/adapter-checkpoint.gguf");

  c.out_dir = dir + "/run2";
  TrainResult part1 = train_stopped_after(c, quiet, 3);
  EXPECT_TRUE(part1.interrupted);
  EXPECT_FALSE(fs::exists(c.out_dir + "/adapter.gguf"));
  TrainOptions resume = quiet;
  resume.resume = true;
  TrainResult part2 = train_model(c, resume);
  ASSERT_EQ(part2.losses.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(part1.losses[size_t(i)].second, straight.losses[size_t(i)].second) << "step " << i + 1;
    EXPECT_EQ(part2.losses[size_t(i)].second, straight.losses[size_t(i) + 3].second) << "step " << i + 4;
  }
  EXPECT_EQ(read_file(part2.model_path), read_file(straight.model_path));

  c.lora.rank = 4;
  try {
    train_model(c, resume);
    ADD_FAILURE() << "a checkpoint of rank 8 resumed a rank-4 run";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("adapter-checkpoint.gguf"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("rank 4"), std::string::npos) << e.what();
  }
  fs::remove_all(dir);
}

// The frozen base kept in its file's type (QLoRA's way) trains the same
// adapter as the base converted to f32 at load, bit for bit, while holding a
// quarter (Q8_0) or half (BF16) of the f32 bytes; dequantised in blocks of a
// few rows, the products sum in another order and agree to float rounding.
TEST(LoraTrain, PackedBaseTrainsTheSameAdapterInLessMemory) {
  namespace fs = std::filesystem;
  const std::string dir = lora_test_dir("packed");
  TrainConfig c = lora_run_setup(dir);
  c.steps = 4;
  c.lora.dropout = 0;
  TrainOptions quiet;
  quiet.progress_bar = false;
  const std::string f32_base = c.init_model, bf16_base = dir + "/base-bf16.gguf", q8_base = dir + "/base-q8_0.gguf";
  const WeightsF32 weights = load_weights_f32(GgufFile::open(f32_base));
  save_weights_gguf(bf16_base, weights, TensorType::BF16, nullptr);
  QuantizeFileOptions qo;
  qo.progress = false;
  quantize_file(f32_base, q8_base, qo, default_thread_pool());

  int64_t f32_bytes = 0, q8_bytes = 0;
  for (const auto& spec : weights.specs)
    f32_bytes += spec.n_elements() * 4, q8_bytes += spec.ne.size() == 2 ? spec.n_elements() / 32 * 34 : spec.n_elements() * 4;
  EXPECT_EQ(ParamSet::frozen_packed(GgufFile::open(q8_base))->value_bytes(), q8_bytes);
  EXPECT_EQ(ParamSet(load_weights_f32(GgufFile::open(q8_base)), false).value_bytes(), f32_bytes);
  EXPECT_LT(q8_bytes * 3, f32_bytes);

  for (const std::string& base : {bf16_base, q8_base}) {
    SCOPED_TRACE(base);
    c.init_model = base;
    c.out_dir = dir + "/packed";
    c.lora.keep_base_type = true;
    const TrainResult packed = train_model(c, quiet);
    c.out_dir = dir + "/f32";
    c.lora.keep_base_type = false;
    const TrainResult unpacked = train_model(c, quiet);
    ASSERT_EQ(packed.losses.size(), unpacked.losses.size());
    for (size_t i = 0; i < packed.losses.size(); ++i) EXPECT_EQ(packed.losses[i].second, unpacked.losses[i].second) << i;
    EXPECT_EQ(read_file(packed.model_path), read_file(unpacked.model_path));
  }

  // One step's loss and adapter gradients with the Q8_0 base dequantised 3 rows at a time.
  ThreadPool pool(2);
  ParamSet f32_set(load_weights_f32(GgufFile::open(q8_base)), false);
  auto packed_set = ParamSet::frozen_packed(GgufFile::open(q8_base));
  ASSERT_NE(packed_set->get("blk.0.ffn_down.weight").packed, nullptr);
  EXPECT_EQ(packed_set->get("blk.0.ffn_down.weight").value, nullptr);
  EXPECT_NE(packed_set->get("blk.0.attn_norm.weight").value, nullptr);  // norms stay f32
  LoraConfig lc = c.lora;
  Batch b;
  b.resize(2, 16);
  for (int64_t i = 0; i < 32; ++i) b.tokens[size_t(i)] = int32_t(i % 40), b.targets[size_t(i)] = int32_t((i * 7) % 40), b.weights[size_t(i)] = 1;
  std::vector<float> grads[2];
  double losses[2];
  for (int k = 0; k < 2; ++k) {
    LoraTrainer lora(weights.config, lc, 32, 3);
    for (float& v : lora.values()) v += 0.01f;  // B away from zero, so every path carries gradient
    TransformerOptions mo;
    mo.lora = &lora;
    mo.packed_block_values = 3 * 64;
    Transformer model(k == 0 ? f32_set : *packed_set, 2, 16, pool, mo);
    model.forward(b);
    losses[k] = model.backward(b, 1.0f / 32);
    grads[k] = lora.grads();
  }
  EXPECT_NEAR(losses[1], losses[0], 1e-5 * std::fabs(losses[0]));
  double worst = 0, scale = 0;
  for (size_t i = 0; i < grads[0].size(); ++i)
    worst = std::max(worst, std::fabs(double(grads[1][i]) - grads[0][i])), scale = std::max(scale, std::fabs(double(grads[0][i])));
  EXPECT_GT(scale, 0);
  EXPECT_LT(worst, 1e-5 * scale);
  fs::remove_all(dir);
}

// DPO with an adapter: the reference is the run's own frozen base (shared, not
// loaded twice), so the first step, where B = 0 makes the policy the base, has
// the loss log 2 of a zero margin; training moves it.
TEST(LoraTrain, DpoAdapterUsesTheFrozenBaseAsItsReference) {
  namespace fs = std::filesystem;
  const std::string dir = lora_test_dir("dpo");
  TrainConfig c = lora_run_setup(dir);
  const std::string q8_base = dir + "/base-q8_0.gguf";
  QuantizeFileOptions qo;
  qo.progress = false;
  quantize_file(c.init_model, q8_base, qo, default_thread_pool());
  ShardWriter pairs(40);
  Rng rng(9);
  for (int p = 0; p < 12; ++p) {
    std::vector<int32_t> prompt_chosen = {1, 2, 3}, prompt_rejected = {1, 2, 3};
    for (int i = 0; i < 4; ++i) prompt_chosen.push_back(int32_t(4 + rng.below(18))), prompt_rejected.push_back(int32_t(22 + rng.below(18)));
    const std::vector<uint8_t> mask = {0, 0, 0, 1, 1, 1, 1};
    pairs.add_pair(prompt_chosen, mask, prompt_rejected, mask);
  }
  pairs.write(dir + "/pairs.tokens");
  c.mode = "dpo";
  c.init_model = q8_base;
  c.train_data = dir + "/pairs.tokens";
  c.steps = 20;
  c.lora.dropout = 0;
  TrainOptions quiet;
  quiet.progress_bar = false;
  const TrainResult r = train_model(c, quiet);
  ASSERT_EQ(r.losses.size(), 20u);
  EXPECT_NEAR(r.losses[0].second, std::log(2.0), 1e-6);
  EXPECT_LT(r.losses.back().second, 0.6);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace edgelm::training
