#pragma once
// LoRA adapters in llama.cpp's GGUF form: general.type = "adapter",
// adapter.type = "lora", adapter.lora.alpha (f32), and for each adapted matrix
// W of the base ("blk.N.attn_q.weight", ggml ne {in, out}) two tensors
//   "blk.N.attn_q.weight.lora_a"  ne {in, r}   A: r rows of `in` values
//   "blk.N.attn_q.weight.lora_b"  ne {r, out}  B: `out` rows of r values
// so that the adapted product is  y = W x + s * B (A x),  s = alpha / r
// (s = 1 when alpha is 0 or absent, as llama.cpp does), times a user scale.
// PEFT's lora_A / lora_B weights are the same matrices.
//
// An adapter is applied three ways: by an inference session on top of an
// unchanged base (InferenceSession::set_adapter, switchable at run time), by
// merging into f32 weights (lora_merge), and by training (training/lora.h).
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/config.h"
#include "model/model.h"

namespace edgelm {

class GgufFile;
class ThreadPool;
struct Kernels;

// The matrices of a block an adapter may change, in the tensor table's order.
enum class LoraTarget : int { Q, K, V, O, Gate, Up, Down };
inline constexpr int kLoraTargets = 7;
// "attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down".
const char* lora_target_tensor(LoraTarget t);
// Accepts the short names ("q", "k", "v", "o", "gate", "up", "down"), the
// tensor names above and PEFT's module names ("q_proj", ..., "down_proj").
std::optional<LoraTarget> lora_target_from_name(std::string_view name);
// (out rows, in cols) of the target's base matrix.
std::pair<int64_t, int64_t> lora_target_shape(const ModelConfig& c, LoraTarget t);

// One adapted matrix: delta W = s * B A. C = in, R = rank, O = out.
struct LoraMatrix {
  int64_t rank = 0, in = 0, out = 0;  // rank 0: the matrix is not adapted
  std::vector<float> a;               // (R, C)
  std::vector<float> b;               // (O, R)
  bool present() const { return rank > 0; }
  WeightMatrix a_view() const { return {TensorType::F32, a.data(), rank, in}; }
  WeightMatrix b_view() const { return {TensorType::F32, b.data(), out, rank}; }
};

struct LoraAdapter {
  float alpha = 0;  // adapter.lora.alpha; 0: s = 1
  std::vector<std::array<LoraMatrix, kLoraTargets>> layers;  // one entry per block of the base
  std::string name;                                          // general.name

  const LoraMatrix& at(int64_t layer, LoraTarget t) const { return layers[size_t(layer)][size_t(t)]; }
  LoraMatrix& at(int64_t layer, LoraTarget t) { return layers[size_t(layer)][size_t(t)]; }
  float scale_of(const LoraMatrix& m) const { return m.rank == 0 ? 0.0f : alpha > 0 ? alpha / float(m.rank) : 1.0f; }
  int64_t n_params() const;
  int64_t max_rank() const;
  int64_t n_matrices() const;
};

// Reads an adapter file and checks it against the base model's config: every
// tensor pairs up, names a matrix of the base and has the shapes above.
// Errors name the file and the tensor at fault.
LoraAdapter load_lora_adapter(const std::string& path, const ModelConfig& base);
LoraAdapter lora_adapter_from_gguf(const GgufFile& file, const ModelConfig& base);
// Writes it (f32 tensors, atomically) in the form llama.cpp's --lora reads.
void save_lora_adapter(const std::string& path, const LoraAdapter& adapter);

// W += user_scale * s * B A for every adapted matrix of f32 weights.
void lora_merge(WeightsF32& weights, const LoraAdapter& adapter, float user_scale = 1.0f);

// y (T rows, stride ldy) += scale * B (A x) for x (T, in) dense rows.
// tmp holds T * rank floats.
void lora_forward(const LoraMatrix& m, float scale, const float* x, int64_t n_tokens, float* y, int64_t ldy, float* tmp,
                  ThreadPool& pool, const Kernels& k);

}  // namespace edgelm
