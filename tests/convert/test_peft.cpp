// PEFT LoRA adapter folders in (convert/peft.h): an adapter written in PEFT's
// layout reads back as the adapter it came from; merged into the Hugging Face
// base in PEFT's layout and converted, it gives the weights that the imported
// adapter merged into the converted base gives (so the q/k row permutation and
// the scale are right); and every construct llama.cpp's form cannot hold is
// refused by name.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "convert/hf.h"
#include "convert/peft.h"
#include "model/lora.h"
#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/random.h"
#include "platform/safetensors.h"

namespace edgelm {
namespace {

std::string peft_scratch(const std::string& name) {
  auto p = std::filesystem::temp_directory_path() / ("edgelm_test_peft_" + std::to_string(::getpid()) + "_" + name);
  std::filesystem::remove_all(p);
  std::filesystem::create_directories(p);
  return p.string();
}

const char* peft_module(LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return "self_attn.q_proj";
    case LoraTarget::K: return "self_attn.k_proj";
    case LoraTarget::V: return "self_attn.v_proj";
    case LoraTarget::O: return "self_attn.o_proj";
    case LoraTarget::Gate: return "mlp.gate_proj";
    case LoraTarget::Up: return "mlp.up_proj";
    case LoraTarget::Down: return "mlp.down_proj";
  }
  return "";
}

// Every target of every block, rank `rank`, random values (GGUF's layout).
LoraAdapter peft_test_adapter(const ModelConfig& c, int64_t rank, float alpha) {
  LoraAdapter a;
  a.alpha = alpha;
  a.layers.resize(size_t(c.n_layers));
  Rng rng(11);
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      LoraMatrix& m = a.at(l, LoraTarget(t));
      std::tie(m.out, m.in) = lora_target_shape(c, LoraTarget(t));
      m.rank = rank;
      m.a.resize(size_t(rank * m.in));
      m.b.resize(size_t(m.out * rank));
      for (float& x : m.a) x = float(rng.normal()) * 0.2f;
      for (float& x : m.b) x = float(rng.normal()) * 0.2f;
    }
  return a;
}

// B in Hugging Face's rotary row order (what PEFT trains against an HF base).
std::vector<float> hf_rows_of_b(const ModelConfig& c, LoraTarget t, const LoraMatrix& m) {
  std::vector<float> hf = m.b;
  if (t == LoraTarget::Q || t == LoraTarget::K)
    permute_rope_rows(reinterpret_cast<const uint8_t*>(m.b.data()), reinterpret_cast<uint8_t*>(hf.data()),
                      t == LoraTarget::Q ? c.n_heads : c.n_kv_heads, c.head_dim, m.rank * 4, false);
  return hf;
}

// Writes `a` as PEFT saves it, with `config` as adapter_config.json.
void write_peft_folder(const std::string& dir, const ModelConfig& c, const LoraAdapter& a, const nlohmann::json& config) {
  std::filesystem::create_directories(dir);
  write_file_atomic(dir + "/adapter_config.json", config.dump(2));
  std::vector<std::vector<float>> keep;
  SafetensorsWriter w;
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      const LoraMatrix& m = a.at(l, LoraTarget(t));
      if (!m.present()) continue;
      const std::string base = cat("base_model.model.model.layers.", l, ".", peft_module(LoraTarget(t)));
      keep.push_back(hf_rows_of_b(c, LoraTarget(t), m));
      w.add_tensor_view(base + ".lora_A.weight", TensorType::F32, {m.rank, m.in}, m.a.data(), m.a.size() * 4);
      w.add_tensor_view(base + ".lora_B.weight", TensorType::F32, {m.out, m.rank}, keep.back().data(), keep.back().size() * 4);
    }
  w.write(dir + "/adapter_model.safetensors");
}

nlohmann::json peft_config(int64_t r, double alpha) {
  return {{"peft_type", "LORA"}, {"r", r}, {"lora_alpha", alpha}, {"bias", "none"}, {"use_rslora", false},
          {"use_dora", false}, {"fan_in_fan_out", false}, {"modules_to_save", nullptr},
          {"target_modules", {"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}}};
}

TEST(PeftImport, ReadsBackTheAdapterAndMergesAsTheBaseWasConverted) {
  const std::string hf_base = std::string(EDGELM_TEST_DIR) + "/fixtures/hf/tiny_llama";
  const std::string dir = peft_scratch("merge");
  const std::string base_gguf = dir + "/base.gguf";
  const ModelConfig c = convert_hf_to_gguf(hf_base, base_gguf, {}).config;
  const LoraAdapter want = peft_test_adapter(c, 4, 8.0f);
  write_peft_folder(dir + "/peft", c, want, peft_config(4, 8.0));
  const LoraAdapter got = read_peft_adapter(dir + "/peft", c);
  EXPECT_EQ(got.alpha, 8.0f);
  EXPECT_EQ(got.name, "peft");
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      SCOPED_TRACE(cat("block ", l, " ", lora_target_tensor(LoraTarget(t))));
      EXPECT_EQ(got.at(l, LoraTarget(t)).a, want.at(l, LoraTarget(t)).a);
      EXPECT_EQ(got.at(l, LoraTarget(t)).b, want.at(l, LoraTarget(t)).b);
    }

  // PEFT's merge in Hugging Face's layout (W + alpha/r B A), then the model converter...
  SafetensorsFile base = SafetensorsFile::open(hf_base + "/model.safetensors");
  std::vector<std::vector<float>> merged;
  SafetensorsWriter w;
  for (const SafetensorsTensor& t : base.tensors()) {
    merged.emplace_back(size_t(t.n_elements()));
    tensor_to_f32(t.float_type("base"), t.data, merged.back().data(), t.n_elements());
    for (int64_t l = 0; l < c.n_layers; ++l)
      for (int ti = 0; ti < kLoraTargets; ++ti) {
        if (t.name != cat("model.layers.", l, ".", peft_module(LoraTarget(ti)), ".weight")) continue;
        const LoraMatrix& m = want.at(l, LoraTarget(ti));
        const std::vector<float> b = hf_rows_of_b(c, LoraTarget(ti), m);
        const double s = 8.0 / 4;
        for (int64_t o = 0; o < m.out; ++o)
          for (int64_t i = 0; i < m.in; ++i) {
            double d = 0;
            for (int64_t r = 0; r < m.rank; ++r) d += double(b[size_t(o * m.rank + r)]) * m.a[size_t(r * m.in + i)];
            merged.back()[size_t(o * m.in + i)] += float(s * d);
          }
      }
    w.add_tensor_view(t.name, TensorType::F32, t.shape, merged.back().data(), merged.back().size() * 4);
  }
  std::filesystem::create_directories(dir + "/merged");
  for (const char* f : {"config.json", "tokenizer.json"})
    if (std::filesystem::exists(hf_base + "/" + f)) std::filesystem::copy_file(hf_base + "/" + f, dir + "/merged/" + f);
  w.write(dir + "/merged/model.safetensors");
  convert_hf_to_gguf(dir + "/merged", dir + "/merged.gguf", {});
  const WeightsF32 hf_merged = load_weights_f32(GgufFile::open(dir + "/merged.gguf"));
  // ... equals the imported adapter merged into the converted base.
  WeightsF32 ours = load_weights_f32(GgufFile::open(base_gguf));
  lora_merge(ours, got);
  double worst = 0;
  for (size_t i = 0; i < ours.data.size(); ++i)
    for (size_t k = 0; k < ours.data[i].size(); ++k)
      worst = std::max(worst, std::fabs(double(ours.data[i][k]) - hf_merged.data[i][k]));
  EXPECT_LT(worst, 1e-6);
  std::filesystem::remove_all(dir);
}

TEST(PeftImport, RsLoraScaleAndPerModuleRanks) {
  const std::string dir = peft_scratch("rslora");
  const ModelConfig c =
      convert_hf_to_gguf(std::string(EDGELM_TEST_DIR) + "/fixtures/hf/tiny_llama", dir + "/base.gguf", {}).config;
  nlohmann::json config = peft_config(4, 8.0);
  config["use_rslora"] = true;
  write_peft_folder(dir, c, peft_test_adapter(c, 4, 8.0f), config);
  const LoraAdapter a = read_peft_adapter(dir, c);
  // PEFT's rsLoRA scale alpha / sqrt(r) as llama.cpp's alpha / r.
  EXPECT_FLOAT_EQ(a.scale_of(a.at(0, LoraTarget::Q)), float(8.0 / std::sqrt(4.0)));
  LoraAdapter mixed = peft_test_adapter(c, 4, 8.0f);
  mixed.at(1, LoraTarget::Down) = peft_test_adapter(c, 2, 8.0f).at(1, LoraTarget::Down);
  config = peft_config(4, 8.0);
  config["rank_pattern"] = {{"model.layers.1.mlp.down_proj", 2}};
  write_peft_folder(dir, c, mixed, config);
  const LoraAdapter b = read_peft_adapter(dir, c);
  EXPECT_EQ(b.at(1, LoraTarget::Down).rank, 2);
  EXPECT_FLOAT_EQ(b.scale_of(b.at(1, LoraTarget::Down)), 4.0f);
  std::filesystem::remove_all(dir);
}

TEST(PeftImport, WhatTheGgufFormCannotHoldIsRefusedByName) {
  const std::string dir = peft_scratch("bad");
  const ModelConfig c =
      convert_hf_to_gguf(std::string(EDGELM_TEST_DIR) + "/fixtures/hf/tiny_llama", dir + "/base.gguf", {}).config;
  const LoraAdapter a = peft_test_adapter(c, 4, 8.0f);
  auto refused = [&](const std::function<void(nlohmann::json&)>& edit, const std::string& why) {
    nlohmann::json config = peft_config(4, 8.0);
    edit(config);
    write_peft_folder(dir, c, a, config);
    try {
      read_peft_adapter(dir, c);
      ADD_FAILURE() << "no error; expected one mentioning " << why;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
    }
  };
  refused([](nlohmann::json& j) { j["use_dora"] = true; }, "DoRA");
  refused([](nlohmann::json& j) { j["bias"] = "all"; }, "bias");
  refused([](nlohmann::json& j) { j["modules_to_save"] = {"lm_head"}; }, "modules_to_save");
  refused([](nlohmann::json& j) { j["alpha_pattern"] = {{"q_proj", 4}}; }, "alpha_pattern");
  refused([](nlohmann::json& j) { j["peft_type"] = "IA3"; }, "IA3");
  refused([](nlohmann::json& j) { j["r"] = 8; }, "r = 8");
  refused([](nlohmann::json& j) { j["r"] = "four"; }, "\"r\"");
  refused([](nlohmann::json& j) { j["fan_in_fan_out"] = true; }, "fan_in_fan_out");

  // An adapter on the embeddings, a lone lora_A, a matrix of the wrong size.
  write_file_atomic(dir + "/adapter_config.json", peft_config(4, 8.0).dump());
  std::vector<float> v(4 * 32, 0.5f);
  for (const auto& [name, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
           {"base_model.model.model.embed_tokens.lora_A.weight", {4, 32}},
           {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", {4, 32}},
           {"base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", {4, 16}},
           {"base_model.model.model.layers.9.self_attn.q_proj.lora_A.weight", {4, 32}}}) {
    SafetensorsWriter w;
    w.add_tensor_view(name, TensorType::F32, shape, v.data(), uint64_t(shape[0] * shape[1]) * 4);
    w.write(dir + "/adapter_model.safetensors");
    EXPECT_THROW(read_peft_adapter(dir, c), Error) << name;
  }
  std::filesystem::remove(dir + "/adapter_config.json");
  EXPECT_THROW(read_peft_adapter(dir, c), Error);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace edgelm
