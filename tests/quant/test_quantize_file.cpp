// Whole-file quantisation: the GGUF edgelm writes reads back with the same
// metadata and exactly the bytes quantize_row produces, norms stay f32, and a
// quantised tiny model's logits stay close to the full-precision model's.
#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

#include "model/model.h"
#include "model/session.h"
#include "model/weights.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"
#include "quant/quant.h"
#include "quant/quantize_file.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

class QuantizeFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("edgelm_test_quant_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    ModelConfig c = model_shape("tiny");
    WeightsF32 w = init_random_weights(c, 5);
    // Embeddings of unit scale make the tied head's logits peaked (std ~ 8),
    // so top-1 agreement is a meaningful check rather than a coin toss.
    float* embd = w.find("token_embd.weight");
    ASSERT_NE(embd, nullptr);
    for (int64_t i = 0; i < c.n_vocab * c.dim; ++i) embd[i] *= 50;
    std::vector<std::string> texts = {"turn the purifier on", "set fan speed to three", "what is the air quality",
                                      "switch to sleep mode please", "turn it off"};
    tokenizer_ = train_bpe(texts, 300, {"<|user|>", "<|end|>"});
    GgufMetadata extra;
    tokenizer_.write_to(extra);
    in_ = (dir_ / "model_f32.gguf").string();
    save_weights_gguf(in_, w, TensorType::F32, &extra, "tiny-test");
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  fs::path dir_;
  std::string in_;
  Tokenizer tokenizer_;
};

TEST_F(QuantizeFile, ReadsBackIdentically) {
  ThreadPool pool(2);
  for (TensorType type : {TensorType::Q8_0, TensorType::Q5_0, TensorType::Q4_0}) {
    QuantizeFileOptions o;
    o.type = type;
    o.progress = false;
    std::string out = path("model_q.gguf");
    QuantizeFileReport r = quantize_file(in_, out, o, pool);
    GgufFile src = GgufFile::open(in_), q = GgufFile::open(out);
    EXPECT_LT(r.tensor_bytes_after, r.tensor_bytes_before / 3);

    // Metadata: everything carried over, plus what llama.cpp reads to name the file type.
    for (const auto& [key, value] : src.metadata().entries()) {
      if (key == "general.file_type") continue;
      const GgufValue* copied = q.metadata().find(key);
      ASSERT_NE(copied, nullptr) << key;
      EXPECT_EQ(*copied, value) << key;
    }
    EXPECT_EQ(q.metadata().at("general.file_type").as_int(), int64_t(llama_file_type(type)));
    EXPECT_EQ(q.metadata().at("general.quantization_version").as_int(), 2);
    EXPECT_EQ(Tokenizer::from_gguf(q).encode("turn the purifier on"), tokenizer_.encode("turn the purifier on"));

    ASSERT_EQ(q.tensors().size(), src.tensors().size());
    for (const GgufTensor& t : src.tensors()) {
      const GgufTensor& u = q.tensor(t.name);
      EXPECT_EQ(u.ne, t.ne) << t.name;
      if (t.ne.size() == 1) {  // norms: f32, bytes unchanged
        EXPECT_EQ(u.type, TensorType::F32) << t.name;
        EXPECT_EQ(std::memcmp(u.data, t.data, t.n_bytes), 0) << t.name;
        continue;
      }
      // The tied embedding is the output head: q8_0 by default.
      TensorType expect = t.name == "token_embd.weight" ? TensorType::Q8_0 : type;
      ASSERT_EQ(u.type, expect) << t.name;
      std::vector<uint8_t> mine(u.n_bytes);
      int64_t cols = t.ne[0], row_bytes = tensor_row_bytes(expect, cols);
      for (int64_t row = 0; row < t.rows(); ++row)
        quantize_row(expect, reinterpret_cast<const float*>(t.data) + row * cols, mine.data() + row * row_bytes, cols);
      EXPECT_EQ(std::memcmp(mine.data(), u.data, u.n_bytes), 0) << t.name;
    }
  }
}

TEST_F(QuantizeFile, OptionsAndErrors) {
  ThreadPool pool(1);
  QuantizeFileOptions o;
  o.type = TensorType::Q4_0;
  o.output_type = TensorType::F16;
  o.progress = false;
  quantize_file(in_, path("a.gguf"), o, pool);
  EXPECT_EQ(GgufFile::open(path("a.gguf")).tensor("token_embd.weight").type, TensorType::F16);
  // Requantising needs consent; a float type is not a quantisation target.
  o.output_type.reset();
  EXPECT_THROW(quantize_file(path("a.gguf"), path("b.gguf"), o, pool), Error);
  o.allow_requantize = true;
  EXPECT_NO_THROW(quantize_file(path("a.gguf"), path("b.gguf"), o, pool));
  o.type = TensorType::F16;
  EXPECT_THROW(quantize_file(in_, path("c.gguf"), o, pool), Error);
  o.type = TensorType::Q8_0;
  EXPECT_THROW(quantize_file(path("missing.gguf"), path("c.gguf"), o, pool), Error);
  EXPECT_FALSE(fs::exists(path("c.gguf")));
}

// Stated tolerance, measured on this tiny model (logit std ~ 8): the RMS logit
// error relative to the RMS logit is below 2% for Q8_0, 9% for Q5_0 and 18%
// for Q4_0 (measured: 0.8%, 5.7%, 11.2%), and the top-1 token agrees on at
// least 95% / 85% / 80% of positions (measured: all).
TEST_F(QuantizeFile, QuantisedLogitsStayCloseToFullPrecision) {
  ThreadPool pool(2);
  auto full = Model::load(in_);
  std::vector<int32_t> tokens = tokenizer_.encode("set fan speed to three and turn the purifier on, then what is the air");
  ASSERT_GT(tokens.size(), 8u);
  InferenceSession s_full(full, 0, &pool);
  std::span<const float> ref_span = s_full.eval(tokens, true);
  std::vector<float> ref(ref_span.begin(), ref_span.end());
  const int64_t V = full->config().n_vocab;
  struct Case { TensorType type; double max_rel_rms, min_agree; };
  for (Case c : {Case{TensorType::Q8_0, 0.02, 0.95}, Case{TensorType::Q5_0, 0.09, 0.85}, Case{TensorType::Q4_0, 0.18, 0.80}}) {
    QuantizeFileOptions o;
    o.type = c.type;
    o.output_type = c.type;  // the head quantised too: the strictest case
    o.progress = false;
    quantize_file(in_, path("q.gguf"), o, pool);
    auto qm = Model::load(path("q.gguf"));
    InferenceSession s_q(qm, 0, &pool);
    std::span<const float> got = s_q.eval(tokens, true);
    double err = 0, norm = 0;
    int agree = 0;
    for (size_t t = 0; t < tokens.size(); ++t) {
      const float* a = ref.data() + t * size_t(V);
      const float* b = got.data() + t * size_t(V);
      for (int64_t v = 0; v < V; ++v) {
        err += double(a[v] - b[v]) * (a[v] - b[v]);
        norm += double(a[v]) * a[v];
      }
      agree += std::max_element(a, a + V) - a == std::max_element(b, b + V) - b;
    }
    double rel = std::sqrt(err / norm), agreement = double(agree) / double(tokens.size());
    EXPECT_LT(rel, c.max_rel_rms) << tensor_type_name(c.type);
    EXPECT_GE(agreement, c.min_agree) << tensor_type_name(c.type);
    std::printf("%s: relative RMS logit error %.4f, top-1 agreement %.2f\n", std::string(tensor_type_name(c.type)).c_str(),
                rel, agreement);
  }
}

// A model without a vocabulary says so the way llama.cpp reads it
// (tokenizer.ggml.model "no_vocab"; llama.cpp does not load a file without the
// key), loads here without a tokenizer, and keeps the marker when quantised; a
// file written before the marker existed gets it from quantize.
TEST_F(QuantizeFile, AModelWithoutAVocabularyCarriesLlamaCppsMarker) {
  ThreadPool pool(2);
  const std::string ids_only = path("ids_only.gguf");
  save_weights_gguf(ids_only, init_random_weights(model_shape("tiny"), 3), TensorType::F32, nullptr, "ids-only");
  EXPECT_EQ(GgufFile::open(ids_only).metadata().at("tokenizer.ggml.model").as_string(), kGgufNoVocabulary);
  EXPECT_EQ(Model::load(ids_only)->tokenizer(), nullptr);
  try {
    Tokenizer::from_gguf(GgufFile::open(ids_only));
    ADD_FAILURE() << "a vocabulary-less file gave a tokenizer";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no tokenizer"), std::string::npos) << e.what();
  }
  QuantizeFileOptions o;
  o.type = TensorType::Q4_0;
  o.progress = false;
  const std::string fixture = std::string(EDGELM_TEST_DIR) + "/fixtures/model/tiny_gqa.gguf";
  ASSERT_FALSE(GgufFile::open(fixture).metadata().contains("tokenizer.ggml.model"));
  for (const std::string& in : {ids_only, fixture}) {
    quantize_file(in, path("q.gguf"), o, pool);
    EXPECT_EQ(GgufFile::open(path("q.gguf")).metadata().at("tokenizer.ggml.model").as_string(), kGgufNoVocabulary) << in;
    EXPECT_EQ(Model::load(path("q.gguf"))->tokenizer(), nullptr) << in;
  }
}

}  // namespace
}  // namespace edgelm
