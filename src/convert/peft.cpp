// PEFT LoRA adapter folders -> LoraAdapter (convert/peft.h).
#include "convert/peft.h"

#include <charconv>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <vector>

#include "convert/hf.h"
#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/json.h"
#include "platform/safetensors.h"

namespace edgelm {

PeftLoraConfig peft_config_from_json(std::string_view text, const std::string& name) {
  nlohmann::json j = parse_json(text, name);
  if (!j.is_object()) fail(name, ": not a JSON object");
  auto is_set = [&](const char* key) {
    return j.contains(key) && !j[key].is_null() && !(j[key].is_boolean() && !j[key].get<bool>()) &&
           !((j[key].is_object() || j[key].is_array()) && j[key].empty());
  };
  if (j.contains("peft_type") && !(j["peft_type"].is_string() && j["peft_type"].get<std::string>() == "LORA"))
    fail(name, ": peft_type is ", j["peft_type"].dump(), ", not \"LORA\"");
  PeftLoraConfig c;
  if (!j.contains("r") || !j["r"].is_number_integer() || j["r"].get<int64_t>() < 1 || j["r"].get<int64_t>() > 65536)
    fail(name, ": \"r\" must be a positive integer (the adapter's rank)");
  c.r = j["r"].get<int64_t>();
  if (j.contains("lora_alpha")) {
    if (!j["lora_alpha"].is_number() || !(j["lora_alpha"].get<double>() > 0) || !(j["lora_alpha"].get<double>() < 1e9))
      fail(name, ": \"lora_alpha\" must be a positive number");
    c.lora_alpha = j["lora_alpha"].get<double>();
  }
  if (j.contains("use_rslora") && !j["use_rslora"].is_null()) {
    if (!j["use_rslora"].is_boolean()) fail(name, ": \"use_rslora\" must be true or false");
    c.use_rslora = j["use_rslora"].get<bool>();
  }
  if (is_set("use_dora")) fail(name, ": a DoRA adapter (use_dora) is not a LoRA adapter llama.cpp's form can hold");
  if (is_set("fan_in_fan_out")) fail(name, ": fan_in_fan_out adapters (GPT-2 style Conv1D) are not for a Llama base");
  if (j.contains("bias") && !(j["bias"].is_string() && j["bias"].get<std::string>() == "none"))
    fail(name, ": \"bias\" is ", j["bias"].dump(), ": trained biases cannot be carried (only \"none\")");
  if (is_set("modules_to_save"))
    fail(name, ": modules_to_save ", j["modules_to_save"].dump(), " are whole trained modules, not LoRA matrices");
  if (is_set("alpha_pattern")) fail(name, ": per-module alphas (alpha_pattern) cannot be carried: one alpha per adapter");
  c.rank_pattern = is_set("rank_pattern");
  if (c.rank_pattern && c.use_rslora)
    fail(name, ": use_rslora with per-module ranks (rank_pattern) has no single alpha that gives every scale");
  return c;
}

namespace {

// "model.layers.3.self_attn.q_proj.lora_A.weight" -> (3, Q, 'A'); false when not of that form.
bool parse_lora_name(std::string_view name, int64_t& layer, LoraTarget& target, char& which) {
  const std::string_view prefix = "model.layers.";
  if (!name.starts_with(prefix)) return false;
  name.remove_prefix(prefix.size());
  const auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), layer);
  if (ec != std::errc() || end == name.data() || layer < 0) return false;
  name.remove_prefix(size_t(end - name.data()));
  for (std::string_view block : {".self_attn.", ".mlp."})
    if (name.starts_with(block)) {
      name.remove_prefix(block.size());
      const size_t dot = name.find('.');
      if (dot == std::string_view::npos) return false;
      auto t = lora_target_from_name(name.substr(0, dot));
      if (!t || !std::string_view(name.substr(0, dot)).ends_with("_proj")) return false;
      const std::string_view rest = name.substr(dot);
      if (rest != ".lora_A.weight" && rest != ".lora_B.weight") return false;
      target = *t;
      which = rest[6];
      return true;
    }
  return false;
}

}  // namespace

LoraAdapter peft_adapter_from_safetensors(const SafetensorsFile& file, const PeftLoraConfig& config, const ModelConfig& base) {
  const std::string& path = file.path();
  LoraAdapter a;
  a.layers.resize(size_t(base.n_layers));
  a.alpha = float(config.use_rslora ? config.lora_alpha * std::sqrt(double(config.r)) : config.lora_alpha);
  const std::string_view prefix = "base_model.model.";
  for (const SafetensorsTensor& t : file.tensors()) {
    std::string_view name = t.name;
    int64_t layer = 0;
    LoraTarget target{};
    char which = 0;
    if (!name.starts_with(prefix) || !parse_lora_name(name.substr(prefix.size()), layer, target, which))
      fail(path, ": tensor '", t.name, "' is not a LoRA matrix of a block's projection (q/k/v/o/gate/up/down_proj); "
                 "adapters on the embeddings or the head are not supported");
    if (layer >= base.n_layers) fail(path, ": tensor '", t.name, "' is past the base model's ", base.n_layers, " blocks");
    if (t.shape.size() != 2) fail(path, ": tensor '", t.name, "' is not a matrix");
    const auto [out, in] = lora_target_shape(base, target);
    LoraMatrix& m = a.at(layer, target);
    const int64_t rank = which == 'A' ? t.shape[0] : t.shape[1];
    const int64_t other = which == 'A' ? t.shape[1] : t.shape[0];
    if (rank < 1 || other != (which == 'A' ? in : out))
      fail(path, ": tensor '", t.name, "' is [", t.shape[0], ", ", t.shape[1], "], the base needs ",
           which == 'A' ? cat("[r, ", in, "]") : cat("[", out, ", r]"));
    if (!config.rank_pattern && rank != config.r)
      fail(path, ": tensor '", t.name, "' has rank ", rank, ", adapter_config.json says r = ", config.r);
    if (m.rank != 0 && m.rank != rank) fail(path, ": tensor '", t.name, "' has rank ", rank, ", its pair ", m.rank);
    std::vector<float>& dst = which == 'A' ? m.a : m.b;
    if (!dst.empty()) fail(path, ": tensor '", t.name, "' appears twice");
    m.rank = rank;
    m.in = in;
    m.out = out;
    dst.resize(size_t(t.n_elements()));
    tensor_to_f32(t.float_type(path), t.data, dst.data(), t.n_elements());
  }
  int64_t n = 0;
  for (int64_t l = 0; l < base.n_layers; ++l)
    for (int ti = 0; ti < kLoraTargets; ++ti) {
      LoraMatrix& m = a.at(l, LoraTarget(ti));
      if (m.rank == 0) continue;
      if (m.a.empty() || m.b.empty())
        fail(path, ": block ", l, " ", lora_target_tensor(LoraTarget(ti)), " has a lora_", m.a.empty() ? "B" : "A",
             " matrix but no lora_", m.a.empty() ? "A" : "B");
      // The base's rows of Wq and Wk are permuted into GGUF's rotary layout; B's rows follow them.
      if (LoraTarget(ti) == LoraTarget::Q || LoraTarget(ti) == LoraTarget::K) {
        std::vector<float> hf = m.b;
        permute_rope_rows(reinterpret_cast<const uint8_t*>(hf.data()), reinterpret_cast<uint8_t*>(m.b.data()),
                          LoraTarget(ti) == LoraTarget::Q ? base.n_heads : base.n_kv_heads, base.head_dim, m.rank * 4, true);
      }
      ++n;
    }
  if (n == 0) fail(path, ": the adapter has no LoRA matrices");
  return a;
}

LoraAdapter read_peft_adapter(const std::string& folder, const ModelConfig& base) {
  namespace fs = std::filesystem;
  const std::string config_path = folder + "/adapter_config.json", weights = folder + "/adapter_model.safetensors";
  if (!fs::exists(config_path)) fail(folder, ": no adapter_config.json (not a PEFT adapter folder?)");
  if (!fs::exists(weights))
    fail(folder, ": no adapter_model.safetensors (edgelm reads safetensors only; adapter_model.bin must be converted first)");
  const PeftLoraConfig config = peft_config_from_json(read_file(config_path), config_path);
  LoraAdapter a = peft_adapter_from_safetensors(SafetensorsFile::open(weights), config, base);
  a.name = fs::path(folder).filename().string();
  if (a.name.empty()) a.name = fs::path(folder).parent_path().filename().string();
  return a;
}

}  // namespace edgelm
