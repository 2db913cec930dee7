#pragma once
// PEFT's LoRA adapters in: a folder holding adapter_config.json and
// adapter_model.safetensors, as `model.save_pretrained()` of a PeftModel
// writes it, becomes an adapter in llama.cpp's GGUF form (model/lora.h) for a
// Llama-family base. The conventions that differ, handled here as the model
// converter (convert/hf.h) handles them for the base:
// - Names: "base_model.model.model.layers.3.self_attn.q_proj.lora_A.weight"
//   is blk.3.attn_q.weight.lora_a; A (r, in) and B (out, r) keep their layout.
// - Rotary layout: the base's Wq and Wk rows are permuted on the way in, so
//   their B rows are permuted the same way (W + s B A stays W' + s B' A).
// - Scale: PEFT's alpha / r (alpha / sqrt(r) with use_rslora, written as an
//   alpha of alpha * sqrt(r)).
// What an adapter in llama.cpp's form cannot say is refused by name: DoRA,
// fan_in_fan_out, trained biases, modules_to_save, per-module alphas, and
// adapters on the embeddings or the head.
#include <string>
#include <string_view>

#include "model/config.h"
#include "model/lora.h"

namespace edgelm {

class SafetensorsFile;

struct PeftLoraConfig {
  int64_t r = 0;
  double lora_alpha = 8;  // PEFT's default
  bool use_rslora = false;
  bool rank_pattern = false;  // per-module ranks (the tensors' shapes give them)
};

// adapter_config.json (its text); `name` is used in errors.
PeftLoraConfig peft_config_from_json(std::string_view text, const std::string& name);
// The adapter's tensors, checked against the base's shapes.
LoraAdapter peft_adapter_from_safetensors(const SafetensorsFile& file, const PeftLoraConfig& config, const ModelConfig& base);
// Both files of the folder.
LoraAdapter read_peft_adapter(const std::string& folder, const ModelConfig& base);

}  // namespace edgelm
