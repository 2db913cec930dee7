// The Llama-family mapping between Hugging Face and GGUF: tensor names, the
// rotary row permutation, and config.json.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "convert/hf.h"
#include "platform/error.h"
#include "platform/json.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

namespace {

// GGUF's per-block suffix -> Hugging Face's name inside "model.layers.N.".
struct LayerName {
  const char* gguf;
  const char* hf;
};
constexpr LayerName kLayerNames[] = {
    {"attn_norm", "input_layernorm"},         {"attn_q", "self_attn.q_proj"}, {"attn_k", "self_attn.k_proj"},
    {"attn_v", "self_attn.v_proj"},           {"attn_output", "self_attn.o_proj"},
    {"ffn_norm", "post_attention_layernorm"}, {"ffn_gate", "mlp.gate_proj"},  {"ffn_up", "mlp.up_proj"},
    {"ffn_down", "mlp.down_proj"},
};

// The architectures whose config and weights are edgelm's model: Mistral is
// Llama with an optional sliding window.
constexpr const char* kArchitectures[] = {"LlamaForCausalLM", "MistralForCausalLM"};

// The shortest decimal that reads back as the same float, so config.json says
// 1e-05 rather than 9.999999747378752e-06.
double shortest_float(float x) {
  char buf[32];
  for (int digits = 6; digits <= 9; ++digits) {
    std::snprintf(buf, sizeof buf, "%.*g", digits, double(x));
    if (std::strtof(buf, nullptr) == x) break;
  }
  return std::strtod(buf, nullptr);
}

}  // namespace

std::string hf_tensor_name(const TensorSpec& spec) {
  if (spec.name == "token_embd.weight") return "model.embed_tokens.weight";
  if (spec.name == "output_norm.weight") return "model.norm.weight";
  if (spec.name == "output.weight") return "lm_head.weight";
  const std::string prefix = cat("blk.", spec.layer, ".");
  for (const LayerName& n : kLayerNames)
    if (spec.name == prefix + n.gguf + ".weight") return cat("model.layers.", spec.layer, ".", n.hf, ".weight");
  fail("no Hugging Face name for tensor '", spec.name, "'");
}

void permute_rope_rows(const uint8_t* src, uint8_t* dst, int64_t n_heads, int64_t head_dim, int64_t row_bytes,
                       bool hf_to_gguf) {
  // Within a head, GGUF row 2i + j holds Hugging Face row j * hd/2 + i (j = 0, 1).
  const int64_t half = head_dim / 2;
  for (int64_t h = 0; h < n_heads; ++h)
    for (int64_t i = 0; i < half; ++i)
      for (int64_t j = 0; j < 2; ++j) {
        const int64_t gguf_row = h * head_dim + 2 * i + j, hf_row = h * head_dim + j * half + i;
        const int64_t from = hf_to_gguf ? hf_row : gguf_row, to = hf_to_gguf ? gguf_row : hf_row;
        std::memcpy(dst + to * row_bytes, src + from * row_bytes, size_t(row_bytes));
      }
}

ModelConfig hf_config_from_json(std::string_view text, const std::string& name, bool lm_head_present) {
  nlohmann::json j = parse_json(text, name);
  if (!j.is_object()) fail(name, ": not a JSON object");
  auto has = [&](const char* key) { return j.contains(key) && !j[key].is_null(); };
  auto get_int = [&](const char* key) -> int64_t {
    if (!has(key)) fail(name, ": key \"", key, "\" is missing");
    if (!j[key].is_number_integer()) fail(name, ": \"", key, "\" is ", j[key].dump(), ", not an integer");
    return j[key].get<int64_t>();
  };
  auto get_float = [&](const char* key, float def) -> float {
    if (!has(key)) return def;
    if (!j[key].is_number()) fail(name, ": \"", key, "\" is ", j[key].dump(), ", not a number");
    double v = j[key].get<double>();
    if (!(std::fabs(v) <= 3.0e38)) fail(name, ": \"", key, "\" is ", v, ", not a float");
    return float(v);
  };

  std::string arch = "(none)";
  if (has("architectures")) {
    if (!j["architectures"].is_array() || j["architectures"].empty() || !j["architectures"][0].is_string())
      fail(name, ": \"architectures\" is not a list of names");
    arch = j["architectures"][0].get<std::string>();
  }
  bool known = false;
  for (const char* a : kArchitectures) known |= arch == a;
  if (!known)
    fail(name, ": architecture ", arch, " is not one edgelm converts (the Llama family: LlamaForCausalLM, MistralForCausalLM)");
  // What would change the computation and edgelm's model does not do is refused, not dropped.
  if (has("hidden_act") && j["hidden_act"] != "silu")
    fail(name, ": hidden_act ", j["hidden_act"].dump(), " is not supported (edgelm's feed-forward is SwiGLU, \"silu\")");
  if (has("rope_scaling")) fail(name, ": rope_scaling ", j["rope_scaling"].dump().substr(0, 120), " is not supported");
  for (const char* key : {"attention_bias", "mlp_bias"})
    if (has(key) && j[key] != false) fail(name, ": ", key, " ", j[key].dump(), " is not supported (edgelm's projections have no bias)");

  ModelConfig c;
  c.n_vocab = get_int("vocab_size");
  c.dim = get_int("hidden_size");
  c.ffn_dim = get_int("intermediate_size");
  c.n_layers = get_int("num_hidden_layers");
  c.n_heads = get_int("num_attention_heads");
  c.n_kv_heads = has("num_key_value_heads") ? get_int("num_key_value_heads") : c.n_heads;
  c.head_dim = has("head_dim") ? get_int("head_dim") : (c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.context_length = has("max_position_embeddings") ? get_int("max_position_embeddings") : 2048;
  c.rope_theta = get_float("rope_theta", 10000.0f);
  c.norm_eps = get_float("rms_norm_eps", 1e-6f);  // LlamaConfig's default
  c.sliding_window = has("sliding_window") ? get_int("sliding_window") : 0;
  if (has("tie_word_embeddings")) {
    if (!j["tie_word_embeddings"].is_boolean()) fail(name, ": \"tie_word_embeddings\" is not true or false");
    c.tied_embeddings = j["tie_word_embeddings"].get<bool>();
  } else {
    c.tied_embeddings = !lm_head_present;
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail(name, ": ", e.what());
  }
  return c;
}

std::string hf_config_to_json(const ModelConfig& c, TensorType dtype, const Tokenizer* tokenizer) {
  const bool mistral = c.sliding_window > 0;
  nlohmann::ordered_json j;
  j["architectures"] = {mistral ? "MistralForCausalLM" : "LlamaForCausalLM"};
  j["model_type"] = mistral ? "mistral" : "llama";
  j["vocab_size"] = c.n_vocab;
  j["hidden_size"] = c.dim;
  j["intermediate_size"] = c.ffn_dim;
  j["num_hidden_layers"] = c.n_layers;
  j["num_attention_heads"] = c.n_heads;
  j["num_key_value_heads"] = c.n_kv_heads;
  j["head_dim"] = c.head_dim;
  j["max_position_embeddings"] = c.context_length;
  j["rope_theta"] = shortest_float(c.rope_theta);
  j["rms_norm_eps"] = shortest_float(c.norm_eps);
  j["hidden_act"] = "silu";
  j["attention_bias"] = false;
  j["mlp_bias"] = false;
  j["rope_scaling"] = nullptr;
  if (mistral) j["sliding_window"] = c.sliding_window;
  j["tie_word_embeddings"] = c.tied_embeddings;
  j["torch_dtype"] = dtype == TensorType::F32 ? "float32" : dtype == TensorType::F16 ? "float16" : "bfloat16";
  if (tokenizer && tokenizer->bos_id() >= 0) j["bos_token_id"] = tokenizer->bos_id();
  if (tokenizer && tokenizer->eos_id() >= 0) j["eos_token_id"] = tokenizer->eos_id();
  return j.dump(2) + "\n";
}

}  // namespace edgelm
