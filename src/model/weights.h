#pragma once
// Full-precision (f32) weights of a model, one buffer per entry of the tensor
// table: what training updates, what `model init` creates, and what is saved
// to GGUF in f32, f16 or bf16.
#include <cstdint>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/tensors.h"
#include "platform/tensor_type.h"

namespace edgelm {

class GgufFile;
class GgufMetadata;

struct WeightsF32 {
  ModelConfig config;
  std::vector<TensorSpec> specs;
  std::vector<std::vector<float>> data;  // data[i] holds specs[i], row-major in ggml order
  float* find(const std::string& name);  // null if absent
  const float* find(const std::string& name) const;
};

// normal(0, 0.02) for matrices and embeddings; attn_output and ffn_down
// scaled by 1/sqrt(2*n_layers) (GPT-2's residual scaling); norm gains 1.
WeightsF32 init_random_weights(const ModelConfig& config, uint64_t seed);

// Reads every tensor of the table, converting F16/BF16 (and quantised types) to f32.
WeightsF32 load_weights_f32(const GgufFile& file);
// The config of a model file (tied_embeddings from whether output.weight is present), validated.
ModelConfig read_model_config(const GgufFile& file);

// Writes the model as GGUF: config metadata, `extra` metadata (e.g. the
// tokenizer's keys), and every tensor converted to `type` (f32, f16 or bf16;
// norms always stay f32 as llama.cpp expects). Atomic.
void save_weights_gguf(const std::string& path, const WeightsF32& weights, TensorType type, const GgufMetadata* extra,
                       const std::string& model_name = "edgelm");

// Converts n values of a tensor of any supported type to f32.
void tensor_to_f32(TensorType type, const void* src, float* dst, int64_t n);

}  // namespace edgelm
