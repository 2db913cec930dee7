// LoRA adapters at inference: the session's adapter term equals merging the
// adapter into the weights, adapters switch without reloading the base, and the
// llama.cpp GGUF form round-trips and is checked on load.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "model/lora.h"
#include "model/model.h"
#include "model/session.h"
#include "model_test_util.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/random.h"

namespace edgelm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / ("edgelm_test_lora_" + std::to_string(::getpid()) + "_" + name)).string();
}

// Every target of every block at `rank`, or only `only` when given.
LoraAdapter random_adapter(const ModelConfig& c, int64_t rank, float alpha, uint64_t seed,
                           std::optional<LoraTarget> only = std::nullopt) {
  LoraAdapter a;
  a.alpha = alpha;
  a.name = cat("test-", seed);
  a.layers.resize(size_t(c.n_layers));
  Rng rng(seed);
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      if (only && LoraTarget(t) != *only) continue;
      LoraMatrix& m = a.at(l, LoraTarget(t));
      auto [out, in] = lora_target_shape(c, LoraTarget(t));
      m.rank = rank;
      m.in = in;
      m.out = out;
      m.a.resize(size_t(rank * in));
      m.b.resize(size_t(out * rank));
      for (float& x : m.a) x = float(rng.normal()) * 0.3f;
      for (float& x : m.b) x = float(rng.normal()) * 0.3f;
    }
  return a;
}

using testing::max_abs_diff;

double max_abs(std::span<const float> a) {
  double m = 0;
  for (float x : a) m = std::max(m, std::fabs(double(x)));
  return m;
}

std::vector<float> logits_of(InferenceSession& s, const std::vector<int32_t>& tokens) {
  auto l = s.eval(tokens, true);
  return {l.begin(), l.end()};
}

const std::vector<int32_t> kTokens = {1, 7, 3, 29, 11, 0, 42, 5, 17, 8, 23, 2};

TEST(Lora, SessionAdapterEqualsMergedWeights) {
  const ModelConfig c = testing::fixture_config_gqa();
  WeightsF32 base = testing::strong_random_weights(c, 5);
  for (auto only : {std::optional<LoraTarget>{}, std::optional{LoraTarget::Up}, std::optional{LoraTarget::K}}) {
    auto adapter = std::make_shared<const LoraAdapter>(random_adapter(c, 4, 8.0f, 9, only));
    WeightsF32 merged = base;
    lora_merge(merged, *adapter, 0.5f);
    InferenceSession with_adapter(Model::from_weights(base));
    with_adapter.set_adapter(adapter, 0.5f);
    InferenceSession merged_session(Model::from_weights(merged));
    InferenceSession plain(Model::from_weights(base));
    std::vector<float> got = logits_of(with_adapter, kTokens), want = logits_of(merged_session, kTokens);
    EXPECT_LE(max_abs_diff(got, want), 1e-4 * max_abs(want));
    // The adapter changes the logits by far more than the tolerance (the check can fail).
    EXPECT_GT(max_abs_diff(logits_of(plain, kTokens), want), 0.05 * max_abs(want));
  }
}

TEST(Lora, SwitchesAtRunTimeWithoutReloading) {
  const ModelConfig c = testing::fixture_config_gqa();
  auto model = Model::from_weights(testing::strong_random_weights(c, 5), TensorType::Q8_0);
  auto a = std::make_shared<const LoraAdapter>(random_adapter(c, 2, 4.0f, 1));
  auto b = std::make_shared<const LoraAdapter>(random_adapter(c, 8, 0.0f, 2));
  InferenceSession s(model);
  const std::vector<float> base = logits_of(s, kTokens);
  s.set_adapter(a);
  EXPECT_EQ(s.n_past(), 0);
  const std::vector<float> with_a = logits_of(s, kTokens);
  s.set_adapter(b);
  const std::vector<float> with_b = logits_of(s, kTokens);
  s.set_adapter(nullptr);
  EXPECT_EQ(max_abs_diff(logits_of(s, kTokens), base), 0.0);
  s.set_adapter(a);
  EXPECT_EQ(max_abs_diff(logits_of(s, kTokens), with_a), 0.0);
  EXPECT_GT(max_abs_diff(with_a, with_b), 0.05 * max_abs(with_a));
  // Decoding token by token under the adapter agrees with one batched pass.
  InferenceSession step(model);
  step.set_adapter(a);
  for (size_t i = 0; i < kTokens.size(); ++i) {
    auto l = step.eval({&kTokens[i], 1});
    EXPECT_LE(max_abs_diff(l, std::span(with_a).subspan(i * size_t(c.n_vocab), size_t(c.n_vocab))), 1e-4 * max_abs(with_a));
  }
}

TEST(Lora, GgufFormRoundTripsAsLlamaCppReadsIt) {
  const ModelConfig c = testing::fixture_config_gqa();
  LoraAdapter a = random_adapter(c, 3, 6.0f, 4, LoraTarget::V);
  a.at(1, LoraTarget::O) = random_adapter(c, 5, 6.0f, 5, LoraTarget::O).at(1, LoraTarget::O);
  const std::string path = temp_path("rt.gguf");
  save_lora_adapter(path, a);
  GgufFile f = GgufFile::open(path);
  EXPECT_EQ(f.metadata().at("general.type").as_string(), "adapter");
  EXPECT_EQ(f.metadata().at("adapter.type").as_string(), "lora");
  EXPECT_EQ(f.metadata().at("adapter.lora.alpha").type(), GgufType::FLOAT32);
  const GgufTensor& la = f.tensor("blk.1.attn_v.weight.lora_a");
  const GgufTensor& lb = f.tensor("blk.1.attn_v.weight.lora_b");
  EXPECT_EQ(la.ne, (std::vector<int64_t>{c.dim, 3}));       // {in, r}: ne[0] as the base's
  EXPECT_EQ(lb.ne, (std::vector<int64_t>{3, c.kv_dim()}));  // {r, out}: ne[1] as the base's
  EXPECT_EQ(f.tensor("blk.1.attn_output.weight.lora_a").ne, (std::vector<int64_t>{c.q_dim(), 5}));
  LoraAdapter back = load_lora_adapter(path, c);
  EXPECT_EQ(back.alpha, 6.0f);
  EXPECT_EQ(back.n_matrices(), a.n_matrices());
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      EXPECT_EQ(back.at(l, LoraTarget(t)).a, a.at(l, LoraTarget(t)).a);
      EXPECT_EQ(back.at(l, LoraTarget(t)).b, a.at(l, LoraTarget(t)).b);
    }
  std::filesystem::remove(path);
}

void expect_error(const std::function<void()>& fn, const std::string& part) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning " << part;
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
  }
}

TEST(Lora, BadAdaptersAreRefusedByName) {
  const ModelConfig c = testing::fixture_config_gqa();
  const std::string path = temp_path("bad.gguf");
  auto write = [&](const std::function<void(GgufWriter&)>& fill, const char* type = "adapter") {
    GgufWriter w;
    w.metadata().set("general.architecture", GgufValue::string("llama"));
    w.metadata().set("general.type", GgufValue::string(type));
    w.metadata().set("adapter.type", GgufValue::string("lora"));
    w.metadata().set("adapter.lora.alpha", GgufValue::f32(4));
    fill(w);
    w.write(path);
  };
  std::vector<float> buf(4096, 0.1f);
  auto add = [&](GgufWriter& w, const std::string& name, std::vector<int64_t> ne) {
    w.add_tensor_view(name, TensorType::F32, ne, buf.data(), uint64_t(ne[0] * ne[1] * 4));
  };
  write([&](GgufWriter& w) { add(w, "blk.0.attn_q.weight.lora_a", {c.dim, 2}); });
  expect_error([&] { load_lora_adapter(path, c); }, "no .lora_b");
  write([&](GgufWriter& w) {
    add(w, "blk.0.attn_q.weight.lora_a", {c.dim, 2});
    add(w, "blk.0.attn_q.weight.lora_b", {2, c.kv_dim()});
  });
  expect_error([&] { load_lora_adapter(path, c); }, "wrong shape");
  write([&](GgufWriter& w) {
    add(w, "blk.0.attn_q.weight.lora_a", {c.dim, 2});
    add(w, "blk.0.attn_q.weight.lora_b", {3, c.q_dim()});
  });
  expect_error([&] { load_lora_adapter(path, c); }, "rank 2 but lora_b 3");
  write([&](GgufWriter& w) {
    add(w, "blk.9.attn_q.weight.lora_a", {c.dim, 2});
    add(w, "blk.9.attn_q.weight.lora_b", {2, c.q_dim()});
  });
  expect_error([&] { load_lora_adapter(path, c); }, "past the base model's 2 blocks");
  write([&](GgufWriter& w) {
    add(w, "token_embd.weight.lora_a", {c.dim, 2});
    add(w, "token_embd.weight.lora_b", {2, c.n_vocab});
  });
  expect_error([&] { load_lora_adapter(path, c); }, "not a block matrix");
  write([&](GgufWriter& w) { add(w, "blk.0.attn_q.weight", {c.dim, c.q_dim()}); });
  expect_error([&] { load_lora_adapter(path, c); }, "neither a .lora_a nor a .lora_b");
  write([&](GgufWriter& w) { add(w, "blk.0.attn_q.weight.lora_a", {c.dim, 2}); }, "model");
  expect_error([&] { load_lora_adapter(path, c); }, "not 'adapter'");
  InferenceSession s(Model::from_weights(testing::strong_random_weights(c, 5)));
  ModelConfig other = c;
  other.n_layers = 3;
  expect_error([&] { s.set_adapter(std::make_shared<const LoraAdapter>(random_adapter(other, 2, 1, 1))); }, "3 blocks");
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace edgelm
