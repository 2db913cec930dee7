#pragma once
// A Llama-family model ready for inference: the config, a view of every weight
// tensor (used in place from the memory-mapped GGUF file, or from buffers the
// model owns when built in memory), and the tokenizer when the file has one.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/config.h"
#include "model/weights.h"
#include "platform/tensor_type.h"

namespace edgelm {

class GgufFile;
class Tokenizer;

// One weight matrix as stored: `rows` rows of `cols` values of `type`
// (ggml ne = {cols, rows}); a projection computes y = W x.
struct WeightMatrix {
  TensorType type = TensorType::F32;
  const void* data = nullptr;
  int64_t rows = 0, cols = 0;
  // A row-interleaved copy of a quantised matrix (quant_pack's layout), made at
  // load time when the quantised kernels in use are faster on it; null otherwise.
  const void* packed = nullptr;
  int64_t row_bytes() const { return tensor_row_bytes(type, cols); }
  int64_t n_bytes() const { return rows * row_bytes(); }
};

// C = dim, Q = n_heads*head_dim, K = n_kv_heads*head_dim, F = ffn_dim, V = n_vocab.
struct LayerWeights {
  const float* attn_norm = nullptr;  // (C)
  WeightMatrix wq;                   // (Q, C)
  WeightMatrix wk;                   // (K, C)
  WeightMatrix wv;                   // (K, C)
  WeightMatrix wo;                   // (C, Q)
  const float* ffn_norm = nullptr;   // (C)
  WeightMatrix w_gate;               // (F, C)
  WeightMatrix w_up;                 // (F, C)
  WeightMatrix w_down;               // (C, F)
};

class Model {
 public:
  // Maps the GGUF file; weights stay in the map (F32, F16, BF16, Q8_0, Q5_0, Q4_0).
  // Throws Error naming the file and the tensor at fault.
  static std::shared_ptr<const Model> load(const std::string& path);
  // The same from a file already opened or parsed (GgufFile::parse: the bytes
  // must then outlive the model); errors name file.path().
  static std::shared_ptr<const Model> load(GgufFile file);
  // Builds a model in memory from f32 weights, converted to `type` (float or
  // quantised; norms stay f32). Used by benchmarks and by training to evaluate.
  static std::shared_ptr<const Model> from_weights(const WeightsF32& weights, TensorType type = TensorType::F32);

  ~Model();
  const ModelConfig& config() const { return config_; }
  const Tokenizer* tokenizer() const { return tokenizer_.get(); }

  const WeightMatrix& token_embd() const { return token_embd_; }  // (V, C)
  const std::vector<LayerWeights>& layers() const { return layers_; }
  const float* output_norm() const { return output_norm_; }      // (C)
  const WeightMatrix& output() const { return output_; }         // (V, C): token_embd when tied
  // Bytes of every weight tensor (the tied head counted once): what one decode step reads.
  int64_t weight_bytes() const { return weight_bytes_; }

 private:
  Model() = default;
  void bind(const std::vector<TensorSpec>& specs, const std::vector<WeightMatrix>& tensors, const std::string& where);
  // Fills WeightMatrix::packed for the matrices that gain from it (EDGELM_NO_REPACK=1: none).
  void pack_weights();

  ModelConfig config_;
  std::unique_ptr<GgufFile> file_;                 // the mapped file, when loaded from one
  std::vector<std::vector<uint8_t>> owned_;        // the weight buffers, when built in memory
  std::unique_ptr<Tokenizer> tokenizer_;
  WeightMatrix token_embd_, output_;
  std::vector<LayerWeights> layers_;
  const float* output_norm_ = nullptr;
  int64_t weight_bytes_ = 0;
};

}  // namespace edgelm
