// The inference forward pass: against PyTorch's logits (committed fixtures from
// tools/ref_logits.py), and against itself (KV-cache decoding vs one pass,
// truncate + re-eval, chunked prompts, thread counts).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model/model.h"
#include "model/session.h"
#include "model_test_util.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "quant/quant.h"

namespace edgelm {
namespace {

using testing::fixture_dir;
using testing::strong_random_weights;

using testing::max_abs_diff;

std::vector<float> eval_copy(InferenceSession& s, std::span<const int32_t> tokens, bool all = false) {
  std::span<const float> logits = s.eval(tokens, all);
  return {logits.begin(), logits.end()};
}

struct Expected {
  std::vector<int32_t> tokens;
  std::vector<float> logits;  // (tokens, vocab)
  double max_abs = 0;
};

Expected read_expected(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error("cannot open " + path);
  nlohmann::json j = nlohmann::json::parse(in);
  Expected e;
  e.tokens = j.at("tokens").get<std::vector<int32_t>>();
  for (const auto& row : j.at("logits"))
    for (double v : row) {
      e.logits.push_back(float(v));
      e.max_abs = std::max(e.max_abs, std::fabs(v));
    }
  return e;
}

class ReferenceLogits : public ::testing::TestWithParam<const char*> {};

TEST_P(ReferenceLogits, MatchPyTorch) {
  const std::string name = GetParam();
  auto model = Model::load(fixture_dir() + "/" + name + ".gguf");
  Expected expected = read_expected(fixture_dir() + "/" + name + ".logits.json");
  const int64_t V = model->config().n_vocab;
  ASSERT_EQ(int64_t(expected.logits.size()), int64_t(expected.tokens.size()) * V);
  // The fixtures are only a meaningful check if their logits are far from zero.
  EXPECT_GT(expected.max_abs, 1.0);

  // One batched pass over the whole sequence.
  InferenceSession batch(model);
  std::span<const float> all = batch.eval(expected.tokens, true);
  EXPECT_LE(max_abs_diff(all, expected.logits), 1e-4) << name << " (batched)";

  // Token by token through the KV cache.
  InferenceSession step(model);
  for (size_t t = 0; t < expected.tokens.size(); ++t) {
    std::span<const float> logits = step.eval({&expected.tokens[t], 1});
    EXPECT_LE(max_abs_diff(logits, std::span(expected.logits).subspan(t * size_t(V), size_t(V))), 1e-4)
        << name << " token " << t;
  }
  EXPECT_EQ(step.n_forward_passes(), int64_t(expected.tokens.size()));
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ReferenceLogits,
                         ::testing::Values("tiny_gqa", "tiny_gqa_bf16", "tiny_window_untied", "tiny_window_untied_f16"));

ModelConfig test_config(bool untied, int64_t window) {
  ModelConfig c = testing::fixture_config_gqa();
  c.n_vocab = 160;
  c.dim = 64;
  c.ffn_dim = 96;
  c.n_heads = 4;
  c.n_kv_heads = 1;
  c.head_dim = 16;
  c.n_layers = 2;
  c.context_length = 640;
  c.tied_embeddings = !untied;
  c.sliding_window = window;
  return c;
}

std::vector<int32_t> token_sequence(int64_t n, int64_t vocab) {
  std::vector<int32_t> t(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) t[size_t(i)] = int32_t((i * 37 + 11) % vocab);
  return t;
}

TEST(Forward, BatchedChunkedAndStepwiseAgree) {
  for (int64_t window : {0, 7}) {
    ModelConfig c = test_config(window > 0, window);
    auto model = Model::from_weights(strong_random_weights(c, 3));
    // 530 tokens: more than one 512-token chunk, so the chunk boundary is covered.
    std::vector<int32_t> tokens = token_sequence(530, c.n_vocab);
    InferenceSession once(model);
    std::vector<float> all = eval_copy(once, tokens, true);
    ASSERT_EQ(all.size(), tokens.size() * size_t(c.n_vocab));

    // Uneven pieces: single tokens, short batches (dot-product kernels), long ones (packed).
    InferenceSession pieces(model);
    const size_t cuts[] = {0, 1, 2, 5, 6, 19, 20, 300, 529, 530};
    for (size_t i = 0; i + 1 < std::size(cuts); ++i) {
      std::span<const int32_t> part(tokens.data() + cuts[i], cuts[i + 1] - cuts[i]);
      std::span<const float> logits = pieces.eval(part, true);
      std::span<const float> want(all.data() + cuts[i] * size_t(c.n_vocab), part.size() * size_t(c.n_vocab));
      EXPECT_LE(max_abs_diff(logits, want), 2e-4) << "window " << window << " piece " << i;
    }
    EXPECT_EQ(pieces.n_past(), 530);
  }
}

TEST(Forward, LastLogitsAreTheLastRowOfAll) {
  ModelConfig c = test_config(false, 0);
  auto model = Model::from_weights(strong_random_weights(c, 4));
  std::vector<int32_t> tokens = token_sequence(9, c.n_vocab);
  InferenceSession s1(model), s2(model);
  std::vector<float> kept = eval_copy(s1, tokens);
  std::span<const float> all = s2.eval(tokens, true);
  // Equal up to rounding: one row goes through the dot-product kernel, nine through the packed one.
  EXPECT_LE(max_abs_diff(kept, all.subspan(8 * size_t(c.n_vocab))), 1e-4);
}

TEST(Forward, TruncateThenReevalGivesTheSameLogits) {
  ModelConfig c = test_config(true, 0);
  auto model = Model::from_weights(strong_random_weights(c, 5));
  std::vector<int32_t> prefix = token_sequence(12, c.n_vocab);
  std::vector<int32_t> first = {5, 9, 13, 2}, second = {7, 7, 1};
  InferenceSession s(model);
  s.eval(prefix);
  std::vector<float> a = eval_copy(s, first, true);
  EXPECT_EQ(s.n_past(), 16);
  s.truncate(12);
  std::span<const float> other = s.eval(second);
  EXPECT_GT(max_abs_diff(other, std::span(a).subspan(0, size_t(c.n_vocab))), 1e-3);
  s.truncate(12);
  std::span<const float> again = s.eval(first, true);
  EXPECT_EQ(max_abs_diff(again, a), 0.0);

  // The same against a fresh session that never saw `second`.
  InferenceSession fresh(model);
  fresh.eval(prefix);
  EXPECT_EQ(max_abs_diff(fresh.eval(first, true), a), 0.0);
}

TEST(Forward, ThreadCountDoesNotChangeTheResult) {
  ModelConfig c = test_config(true, 4);
  auto model = Model::from_weights(strong_random_weights(c, 6), TensorType::BF16);
  std::vector<int32_t> tokens = token_sequence(40, c.n_vocab);
  ThreadPool one(1), three(3);
  InferenceSession a(model, 0, &one), b(model, 0, &three);
  std::vector<float> la = eval_copy(a, tokens, true);
  EXPECT_EQ(max_abs_diff(la, b.eval(tokens, true)), 0.0);
  // Decoding steps too (the dot-product kernels split differently).
  for (int32_t id : {3, 8, 13}) {
    std::vector<float> step_a = eval_copy(a, {&id, 1});
    EXPECT_EQ(max_abs_diff(step_a, b.eval({&id, 1})), 0.0);
  }
}

TEST(Forward, FileAndMemoryModelsAgree) {
  auto file = Model::load(fixture_dir() + "/tiny_gqa.gguf");
  WeightsF32 w = load_weights_f32(GgufFile::open(fixture_dir() + "/tiny_gqa.gguf"));
  auto memory = Model::from_weights(w);
  EXPECT_EQ(file->weight_bytes(), memory->weight_bytes());
  std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  InferenceSession a(file), b(memory);
  std::vector<float> la = eval_copy(a, tokens, true);
  EXPECT_EQ(max_abs_diff(la, b.eval(tokens, true)), 0.0);
}

TEST(Forward, QuantisedWeightsStayCloseToFloat) {
  ModelConfig c = test_config(false, 0);
  // Moderate weights: with the strong ones attention is nearly one-hot and a
  // rounding anywhere can flip which key wins, which says nothing about quant_matmul.
  WeightsF32 w = init_random_weights(c, 7);
  for (size_t i = 0; i < w.specs.size(); ++i)
    if (w.specs[i].role != TensorRole::Norm)
      for (float& x : w.data[i]) x *= 5.0f;
  std::shared_ptr<const Model> q8;
  try {
    q8 = Model::from_weights(w, TensorType::Q8_0);
  } catch (const Error& e) {
    GTEST_SKIP() << "quantisation not available yet: " << e.what();
  }
  // The float model of the same rounded weights: what remains is the rounding
  // of the activations inside quant_matmul.
  WeightsF32 rounded = w;
  for (size_t i = 0; i < rounded.specs.size(); ++i) {
    if (rounded.specs[i].role == TensorRole::Norm) continue;
    std::vector<uint8_t> block(size_t(tensor_row_bytes(TensorType::Q8_0, rounded.specs[i].ne[0])));
    for (size_t r = 0; r < rounded.data[i].size(); r += size_t(rounded.specs[i].ne[0])) {
      quantize_row(TensorType::Q8_0, rounded.data[i].data() + r, block.data(), rounded.specs[i].ne[0]);
      dequantize_row(TensorType::Q8_0, block.data(), rounded.data[i].data() + r, rounded.specs[i].ne[0]);
    }
  }
  auto f32 = Model::from_weights(rounded);
  EXPECT_LT(q8->weight_bytes(), f32->weight_bytes() / 3);
  std::vector<int32_t> tokens = token_sequence(10, c.n_vocab);
  InferenceSession a(f32), b(q8);
  std::vector<float> kept = eval_copy(a, tokens, true);
  double max_logit = 0;
  for (float v : kept) max_logit = std::max(max_logit, std::fabs(double(v)));
  // Q8_0 keeps about 2-3 significant digits per weight; the logits follow.
  EXPECT_LT(max_abs_diff(b.eval(tokens, true), kept), 0.05 * max_logit);
}

// The repacked (x8) weights the model builds when the CPU has AVX-512 VNNI
// against the same model without repacking: both quantise the activations the
// same way, so only the float summation order differs. A prompt batch and
// decode steps both go through the packed kernels.
TEST(Forward, RepackedQuantisedWeightsMatchUnpacked) {
  ModelConfig c = test_config(false, 0);
  WeightsF32 w = init_random_weights(c, 11);
  for (TensorType type : {TensorType::Q8_0, TensorType::Q5_0, TensorType::Q4_0}) {
    auto packed = Model::from_weights(w, type);
    ::setenv("EDGELM_NO_REPACK", "1", 1);
    auto plain = Model::from_weights(w, type);
    ::unsetenv("EDGELM_NO_REPACK");
    if (!packed->layers()[0].wq.packed) GTEST_SKIP() << "no repacked kernels on this CPU";
    EXPECT_EQ(plain->layers()[0].wq.packed, nullptr);
    std::vector<int32_t> tokens = token_sequence(9, c.n_vocab);
    InferenceSession a(packed), b(plain);
    std::vector<float> got = eval_copy(a, std::span(tokens).first(7), true);
    std::vector<float> want = eval_copy(b, std::span(tokens).first(7), true);
    double max_logit = 0;
    for (float v : want) max_logit = std::max(max_logit, std::fabs(double(v)));
    EXPECT_LT(max_abs_diff(got, want), 1e-4 * max_logit + 1e-6) << tensor_type_name(type);
    for (int i = 7; i < 9; ++i) {
      std::vector<float> g = eval_copy(a, std::span(tokens).subspan(size_t(i), 1), false);
      std::vector<float> h = eval_copy(b, std::span(tokens).subspan(size_t(i), 1), false);
      EXPECT_LT(max_abs_diff(g, h), 1e-4 * max_logit + 1e-6) << tensor_type_name(type) << " decode step " << i;
    }
  }
}

TEST(Forward, BadInputsAreErrors) {
  ModelConfig c = test_config(false, 0);
  c.context_length = 16;
  auto model = Model::from_weights(strong_random_weights(c, 8));
  InferenceSession s(model);
  std::vector<int32_t> bad = {1, int32_t(c.n_vocab)};
  EXPECT_THROW(s.eval(bad), Error);
  std::vector<int32_t> negative = {-1};
  EXPECT_THROW(s.eval(negative), Error);
  EXPECT_THROW(s.eval({}), Error);
  EXPECT_EQ(s.n_past(), 0);
  std::vector<int32_t> long_input = token_sequence(17, c.n_vocab);
  EXPECT_THROW(s.eval(long_input), Error);
  s.eval(std::span(long_input).first(10));
  EXPECT_THROW(s.truncate(11), Error);
  EXPECT_THROW(s.truncate(-1), Error);
  EXPECT_THROW(s.eval(std::span(long_input).first(7)), Error);
  s.truncate(4);
  EXPECT_EQ(s.n_past(), 4);
}

TEST(Forward, LoadRejectsMismatchedTensors) {
  // A file whose attn_q has the wrong shape for its config.
  ModelConfig c = testing::fixture_config_gqa();
  WeightsF32 w = init_random_weights(c, 9);
  GgufWriter writer;
  c.write_to(writer.metadata());
  for (size_t i = 0; i < w.specs.size(); ++i) {
    std::vector<int64_t> ne = w.specs[i].ne;
    if (w.specs[i].name == "blk.1.attn_k.weight") ne = {ne[1], ne[0]};
    writer.add_tensor(w.specs[i].name, TensorType::F32, ne, w.data[i].data(), w.data[i].size() * 4);
  }
  std::string path = ::testing::TempDir() + "edgelm_bad_shape.gguf";
  writer.write(path);
  try {
    Model::load(path);
    FAIL() << "expected an Error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("blk.1.attn_k.weight"), std::string::npos) << e.what();
  }
  std::remove(path.c_str());
}

TEST(Forward, LoadRejectsConfigValuesOutOfRange) {
  // Found by fuzz_gguf_model's kind of input: a rope base past float's range (converting it was undefined
  // behaviour) and head counts whose products overflow int64 (n_heads x head_dim) must be Errors naming them.
  ModelConfig c = testing::fixture_config_gqa();
  WeightsF32 w = init_random_weights(c, 9);
  struct Row {
    const char* key;
    GgufValue value;
    const char* expect;
  };
  for (const Row& r : std::vector<Row>{
           {"llama.rope.freq_base", GgufValue::real(GgufType::FLOAT64, 1e300), "llama.rope.freq_base: 1e+300 is not a float"},
           {"llama.attention.layer_norm_rms_epsilon", GgufValue::real(GgufType::FLOAT64, -1e39), "is not a float"},
           {"llama.attention.head_count", GgufValue::u64(uint64_t(1) << 40), "absurd size"},
           {"llama.attention.key_length", GgufValue::u64(uint64_t(1) << 40), "absurd size"},
       }) {
    GgufWriter writer;
    c.write_to(writer.metadata());
    writer.metadata().set(r.key, r.value);
    for (size_t i = 0; i < w.specs.size(); ++i)
      writer.add_tensor(w.specs[i].name, TensorType::F32, w.specs[i].ne, w.data[i].data(), w.data[i].size() * 4);
    std::string path = ::testing::TempDir() + "edgelm_bad_config.gguf";
    writer.write(path);
    try {
      Model::load(path);
      ADD_FAILURE() << "accepted " << r.key;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(r.expect), std::string::npos) << e.what();
    }
    std::remove(path.c_str());
  }
}

}  // namespace
}  // namespace edgelm
