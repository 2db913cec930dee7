// Hugging Face folders in and out: logits against PyTorch's Hugging Face-style
// forward pass both ways (fixtures of tools/make_hf_fixtures.py), bit-identical
// round trips, and clear errors for malformed folders.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <map>
#include <tuple>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convert/hf.h"
#include "model/model.h"
#include "model/session.h"
#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/safetensors.h"
#include "platform/thread_pool.h"
#include "quant/quantize_file.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

std::string hf_dir() { return std::string(EDGELM_TEST_DIR) + "/fixtures/hf"; }
std::string model_dir() { return std::string(EDGELM_TEST_DIR) + "/fixtures/model"; }

std::string scratch(const std::string& name) {
  fs::path p = fs::temp_directory_path() / ("edgelm_test_hf_" + std::to_string(::getpid()) + "_" + name);
  fs::remove_all(p);
  return p.string();
}

struct Expected {
  std::vector<int32_t> tokens;
  std::vector<float> logits;
  double max_abs = 0;
};

Expected read_expected(const std::string& path) {
  nlohmann::json j = nlohmann::json::parse(read_file(path));
  Expected e;
  e.tokens = j.at("tokens").get<std::vector<int32_t>>();
  for (const auto& row : j.at("logits"))
    for (double v : row) {
      e.logits.push_back(float(v));
      e.max_abs = std::max(e.max_abs, std::fabs(v));
    }
  return e;
}

double max_abs_diff(std::span<const float> a, std::span<const float> b) {
  EXPECT_EQ(a.size(), b.size());
  double m = 0;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) m = std::max(m, std::fabs(double(a[i]) - b[i]));
  return m;
}

std::vector<float> all_logits(const std::string& gguf, const std::vector<int32_t>& tokens) {
  InferenceSession s(Model::load(gguf));
  std::span<const float> l = s.eval(tokens, true);
  return {l.begin(), l.end()};
}

// Every tensor of two GGUF files: same names, types, shapes and bytes.
void expect_same_tensors(const std::string& a_path, const std::string& b_path) {
  GgufFile a = GgufFile::open(a_path), b = GgufFile::open(b_path);
  ASSERT_EQ(a.tensors().size(), b.tensors().size());
  for (const GgufTensor& t : a.tensors()) {
    const GgufTensor* u = b.find_tensor(t.name);
    ASSERT_NE(u, nullptr) << t.name;
    EXPECT_EQ(t.type, u->type) << t.name;
    EXPECT_EQ(t.ne, u->ne) << t.name;
    ASSERT_EQ(t.n_bytes, u->n_bytes) << t.name;
    EXPECT_EQ(std::memcmp(t.data, u->data, t.n_bytes), 0) << t.name << " differs";
  }
}

// Every tensor of the safetensors files of two folders.
std::map<std::string, std::tuple<std::string, std::vector<int64_t>, std::string>> folder_tensors(const std::string& folder) {
  std::map<std::string, std::tuple<std::string, std::vector<int64_t>, std::string>> out;
  for (const auto& entry : fs::directory_iterator(folder)) {
    if (entry.path().extension() != ".safetensors") continue;
    SafetensorsFile f = SafetensorsFile::open(entry.path().string());
    for (const SafetensorsTensor& t : f.tensors())
      out[t.name] = {t.dtype, t.shape, std::string(reinterpret_cast<const char*>(t.data), t.n_bytes)};
  }
  return out;
}

void expect_error(const std::function<void()>& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "no error; expected one mentioning " << parts[0];
  } catch (const Error& e) {
    for (const std::string& p : parts) EXPECT_NE(std::string(e.what()).find(p), std::string::npos) << e.what();
  }
}

// --- logits both ways ---

class HfImport : public ::testing::TestWithParam<const char*> {};

TEST_P(HfImport, LogitsMatchHuggingFaceForward) {
  const std::string name = GetParam();
  const std::string gguf = scratch(name + ".gguf");
  HfImportSummary s = convert_hf_to_gguf(hf_dir() + "/" + name, gguf, {});
  EXPECT_TRUE(s.has_tokenizer);
  Expected want = read_expected(hf_dir() + "/" + name + ".logits.json");
  EXPECT_GT(want.max_abs, 1.0);
  EXPECT_LE(max_abs_diff(all_logits(gguf, want.tokens), want.logits), 1e-4 * want.max_abs) << name;
  auto model = Model::load(gguf);
  ASSERT_NE(model->tokenizer(), nullptr);
  EXPECT_EQ(model->tokenizer()->encode("hello"), std::vector<int32_t>{11});
  fs::remove(gguf);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfImport, ::testing::Values("tiny_llama", "tiny_llama_sharded"));

class HfExport : public ::testing::TestWithParam<const char*> {};

TEST_P(HfExport, SameFolderAsCommittedAndLogitsMatch) {
  const std::string name = GetParam();
  const std::string gguf = model_dir() + "/" + name + ".gguf", folder = scratch("export_" + name);
  convert_gguf_to_hf(gguf, folder, {});
  const std::string committed = hf_dir() + "/export_" + name;
  EXPECT_EQ(read_file(folder + "/config.json"), read_file(committed + "/config.json"));
  EXPECT_EQ(folder_tensors(folder), folder_tensors(committed));
  // The committed folder's logits, computed by PyTorch as Hugging Face does, are edgelm's.
  Expected want = read_expected(committed + ".logits.json");
  EXPECT_GT(want.max_abs, 1.0);
  EXPECT_LE(max_abs_diff(all_logits(gguf, want.tokens), want.logits), 1e-4 * want.max_abs) << name;
  fs::remove_all(folder);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfExport, ::testing::Values("tiny_gqa", "tiny_window_untied_f16"));

// --- round trips ---

class HfRoundTrip : public ::testing::TestWithParam<std::tuple<const char*, uint64_t>> {};

TEST_P(HfRoundTrip, GgufToHfToGgufIsBitIdentical) {
  const auto [name, shard_bytes] = GetParam();
  const std::string folder = scratch(cat("rt_", name, "_", shard_bytes)), back = folder + ".gguf";
  convert_gguf_to_hf(model_dir() + "/" + name + ".gguf", folder, {.max_shard_bytes = shard_bytes});
  if (shard_bytes) {
    EXPECT_TRUE(fs::exists(folder + "/model.safetensors.index.json"));
  }
  convert_hf_to_gguf(folder, back, {});
  expect_same_tensors(model_dir() + "/" + std::string(name) + ".gguf", back);
  EXPECT_EQ(read_model_config(GgufFile::open(back)).summary(),
            read_model_config(GgufFile::open(model_dir() + "/" + name + ".gguf")).summary());
  fs::remove_all(folder);
  fs::remove(back);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfRoundTrip,
                         ::testing::Combine(::testing::Values("tiny_gqa", "tiny_gqa_bf16", "tiny_window_untied",
                                                              "tiny_window_untied_f16"),
                                            ::testing::Values(uint64_t(0), uint64_t(20000))));

TEST(HfRoundTripFromHf, HfToGgufToHfKeepsEveryTensor) {
  const std::string gguf = scratch("rt_llama.gguf"), folder = scratch("rt_llama");
  convert_hf_to_gguf(hf_dir() + "/tiny_llama", gguf, {});
  convert_gguf_to_hf(gguf, folder, {});
  EXPECT_EQ(folder_tensors(folder), folder_tensors(hf_dir() + "/tiny_llama"));
  fs::remove_all(folder);
  fs::remove(gguf);
}

TEST(HfImportType, TypeOptionConverts) {
  const std::string gguf = scratch("llama_bf16.gguf");
  convert_hf_to_gguf(hf_dir() + "/tiny_llama", gguf, {.type = TensorType::BF16});
  GgufFile f = GgufFile::open(gguf);
  EXPECT_EQ(f.tensor("blk.0.attn_q.weight").type, TensorType::BF16);
  EXPECT_EQ(f.tensor("blk.0.attn_norm.weight").type, TensorType::F32);
  fs::remove(gguf);
}

// --- the tokenizer ---

TEST(HfTokenizer, JsonRoundTrip) {
  Tokenizer hand = Tokenizer::from_hf_json(std::string(EDGELM_TEST_DIR) + "/fixtures/tokenizer/hand.tokenizer.json");
  std::vector<std::string> texts = {"the year 2024 was fun!\n  ok", "hello world", "Über 12345 naïve — ünïcode"};
  Tokenizer trained = train_bpe(texts, 300, {"<|end|>", "<|user|>"}, {.pre = "llama3"});
  for (const Tokenizer* t : {&hand, &trained}) {
    Tokenizer back = Tokenizer::from_hf_json_text(t->to_hf_json());
    ASSERT_EQ(back.n_vocab(), t->n_vocab());
    EXPECT_EQ(back.n_merges(), t->n_merges());
    EXPECT_EQ(back.pre(), t->pre() == "llama3" ? "llama-bpe" : t->pre());
    EXPECT_EQ(back.eos_id(), t->eos_id());
    for (int32_t i = 0; i < t->n_vocab(); ++i) {
      EXPECT_EQ(back.token_bytes(i), t->token_bytes(i));
      EXPECT_EQ(back.token_type(i), t->token_type(i));
    }
    for (const std::string& s : t == &hand ? std::vector<std::string>{"hello world", "hello"} : texts)
      EXPECT_EQ(back.encode(s), t->encode(s)) << s;
  }
}

// --- malformed folders ---

// A copy of tiny_llama to break.
std::string broken_copy(const std::string& name) {
  std::string dir = scratch("broken_" + name);
  fs::copy(hf_dir() + "/tiny_llama", dir, fs::copy_options::recursive);
  return dir;
}

void edit_config(const std::string& dir, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json j = nlohmann::json::parse(read_file(dir + "/config.json"));
  edit(j);
  write_file_atomic(dir + "/config.json", j.dump());
}

void import(const std::string& dir) { convert_hf_to_gguf(dir, dir + ".gguf", {}); }

TEST(HfMalformed, ConfigProblemsAreNamed) {
  std::string dir = broken_copy("config");
  edit_config(dir, [](nlohmann::json& j) { j.erase("hidden_size"); });
  expect_error([&] { import(dir); }, {"config.json", "hidden_size", "missing"});
  edit_config(dir, [](nlohmann::json& j) { j["hidden_size"] = "32"; });
  expect_error([&] { import(dir); }, {"hidden_size", "not an integer"});
  edit_config(dir, [](nlohmann::json& j) {
    j["hidden_size"] = 32;
    j["architectures"] = {"GPT2LMHeadModel"};
  });
  expect_error([&] { import(dir); }, {"GPT2LMHeadModel", "not one edgelm converts", "LlamaForCausalLM"});
  edit_config(dir, [](nlohmann::json& j) {
    j["architectures"] = {"LlamaForCausalLM"};
    j["rope_scaling"] = {{"type", "linear"}, {"factor", 2.0}};
  });
  expect_error([&] { import(dir); }, {"rope_scaling", "not supported"});
  edit_config(dir, [](nlohmann::json& j) {
    j.erase("rope_scaling");
    j["num_key_value_heads"] = 3;
  });
  expect_error([&] { import(dir); }, {"multiple of kv heads"});
  fs::remove(dir + "/config.json");
  expect_error([&] { import(dir); }, {"config.json is missing"});
  fs::remove_all(dir);
}

TEST(HfMalformed, ShapeMismatchNamesTheTensor) {
  std::string dir = broken_copy("shape");
  edit_config(dir, [](nlohmann::json& j) { j["intermediate_size"] = 40; });
  expect_error([&] { import(dir); }, {"model.layers.0.mlp.gate_proj.weight", "[48, 32]", "needs [40, 32]"});
  fs::remove_all(dir);
}

// Rewrites model.safetensors with one change to its header text (same length) or its size.
void edit_weights(const std::string& dir, const std::string& from, const std::string& to, size_t cut = 0) {
  std::string bytes = read_file(dir + "/model.safetensors");
  if (!from.empty()) {
    size_t at = bytes.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    bytes.replace(at, from.size(), to);
  }
  bytes.resize(bytes.size() - cut);
  write_file_atomic(dir + "/model.safetensors", bytes);
}

TEST(HfMalformed, WeightProblemsAreNamed) {
  std::string dir = broken_copy("weights");
  edit_weights(dir, "", "", 100);
  expect_error([&] { import(dir); }, {"model.safetensors", "truncated", "lm_head.weight"});
  fs::copy_file(hf_dir() + "/tiny_llama/model.safetensors", dir + "/model.safetensors", fs::copy_options::overwrite_existing);
  edit_weights(dir, "\"dtype\": \"F32\"", "\"dtype\": \"I32\"");
  expect_error([&] { import(dir); }, {"dtype I32", "F32, F16 and BF16"});
  fs::copy_file(hf_dir() + "/tiny_llama/model.safetensors", dir + "/model.safetensors", fs::copy_options::overwrite_existing);
  edit_weights(dir, "\"dtype\": \"F32\"", "\"dtype\": \"Q32\"");
  expect_error([&] { import(dir); }, {"unknown dtype 'Q32'"});
  fs::copy_file(hf_dir() + "/tiny_llama/model.safetensors", dir + "/model.safetensors", fs::copy_options::overwrite_existing);
  edit_weights(dir, "model.norm.weight", "model.norX.weight");
  expect_error([&] { import(dir); }, {"model.norm.weight", "missing"});
  fs::copy_file(hf_dir() + "/tiny_llama/model.safetensors", dir + "/model.safetensors", fs::copy_options::overwrite_existing);
  edit_weights(dir, "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.q_proj.bias__");
  expect_error([&] { import(dir); }, {"model.layers.1.self_attn.q_proj.weight", "missing"});
  fs::remove(dir + "/model.safetensors");
  expect_error([&] { import(dir); }, {"no model.safetensors"});
  fs::remove_all(dir);
}

TEST(HfMalformed, ExtraTensorIsRefused) {
  std::string dir = broken_copy("extra");
  SafetensorsFile f = SafetensorsFile::open(hf_dir() + "/tiny_llama/model.safetensors");
  SafetensorsWriter w;
  for (const SafetensorsTensor& t : f.tensors()) w.add_tensor_view(t.name, *t.type, t.shape, t.data, t.n_bytes);
  std::vector<float> bias(16, 0.5f);
  w.add_tensor_view("model.layers.0.self_attn.q_proj.bias", TensorType::F32, {16}, bias.data(), 64);
  w.write(dir + "/model.safetensors");
  expect_error([&] { import(dir); }, {"model.layers.0.self_attn.q_proj.bias", "not part of edgelm's Llama model"});
  fs::remove_all(dir);
}

TEST(HfMalformed, ShardIndexProblemsAreNamed) {
  std::string dir = scratch("broken_index");
  fs::copy(hf_dir() + "/tiny_llama_sharded", dir, fs::copy_options::recursive);
  fs::remove(dir + "/model-00002-of-00002.safetensors");
  expect_error([&] { import(dir); }, {"model-00002-of-00002.safetensors is missing"});
  fs::remove_all(dir);
  fs::copy(hf_dir() + "/tiny_llama_sharded", dir, fs::copy_options::recursive);
  nlohmann::json j = nlohmann::json::parse(read_file(dir + "/model.safetensors.index.json"));
  j["weight_map"]["model.norm.weight"] = "../../etc/passwd";
  write_file_atomic(dir + "/model.safetensors.index.json", j.dump());
  expect_error([&] { import(dir); }, {"not a file in the folder"});
  j["weight_map"]["model.norm.weight"] = "model-00001-of-00002.safetensors";
  write_file_atomic(dir + "/model.safetensors.index.json", j.dump());
  expect_error([&] { import(dir); }, {"model.norm.weight", "does not hold it"});
  fs::remove_all(dir);
}

TEST(HfExportErrors, RefusesWhatItCannotWrite) {
  const std::string folder = scratch("export_refused");
  fs::create_directories(folder);
  write_file_atomic(folder + "/stale.txt", "x");
  expect_error([&] { convert_gguf_to_hf(model_dir() + "/tiny_gqa.gguf", folder, {}); }, {"not an empty folder"});
  fs::remove_all(folder);
  const std::string q8 = scratch("q8.gguf");
  quantize_file(model_dir() + "/tiny_gqa.gguf", q8, {.type = TensorType::Q8_0, .progress = false}, default_thread_pool());
  expect_error([&] { convert_gguf_to_hf(q8, folder, {}); }, {"q8_0", "F32, F16 or BF16"});
  EXPECT_FALSE(fs::exists(folder));
  fs::remove(q8);
}

// --- the safetensors reader ---

TEST(Safetensors, RefusesOverlapsGapsAndBadHeaders) {
  auto file = [](const std::string& header, size_t data_bytes) {
    std::string s(8, '\0');
    for (int i = 0; i < 8; ++i) s[size_t(i)] = char((header.size() >> (8 * i)) & 0xff);
    return s + header + std::string(data_bytes, '\0');
  };
  auto parse = [](const std::string& bytes) {
    SafetensorsFile::parse(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), "t.safetensors");
  };
  EXPECT_NO_THROW(parse(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 8)));
  expect_error([&] { parse(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F16","shape":[2],"data_offsets":[4,8]}})", 8)); },
               {"overlaps"});
  expect_error([&] { parse(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)); }, {"gap"});
  expect_error([&] { parse(file(R"({"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}})", 8)); }, {"8 bytes of data for 3"});
  expect_error([&] { parse(file(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})", 9)); }, {"cover 8"});
  expect_error([&] { parse(file(R"({"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}})", 8)); }, {"shape"});
  expect_error([&] { parse(file(R"([1,2])", 0)); }, {"not a JSON object"});
  expect_error([&] { parse(std::string("\xff\xff\xff\xff\xff\xff\xff\x7f", 8)); }, {"absurd"});
  expect_error([&] { parse(std::string("\x10\0\0\0\0\0\0\0{}", 10)); }, {"truncated"});
}

}  // namespace
}  // namespace edgelm
