#pragma once
// The trainable state of a model: for every entry of the tensor table its
// value (owned by WeightsF32, so saving is save_weights_gguf), its gradient
// and its two AdamW moments. Gradients and moments live in flat buffers laid
// out in tensor-table order, so clipping, zeroing and checkpointing walk one
// array; `tensors()` gives the per-tensor view of all four at once.
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "model/weights.h"
#include "platform/tensor_type.h"

namespace edgelm {
class GgufFile;
}

namespace edgelm::training {

struct ParamTensor {
  const TensorSpec* spec;
  int64_t n;       // elements
  int64_t offset;  // into the flat gradient / moment buffers
  float* value;  // null for a packed matrix of a frozen base (below)
  float* grad;
  float* m;  // AdamW first moment
  float* v;  // AdamW second moment
  // A frozen base's matrix kept in its file's type (Q8_0, BF16, ...): rows of
  // tensor_row_bytes(packed_type, ne[0]) bytes, dequantised a block of rows at
  // a time by the matmuls that read it (QLoRA's memory saving). Null otherwise.
  const uint8_t* packed = nullptr;
  TensorType packed_type = TensorType::F32;
};

class ParamSet {
 public:
  // trainable = false: a frozen model (a LoRA run's base, DPO's reference), values
  // only: no gradient or moment buffers (grad, m and v are null), a quarter of the memory.
  explicit ParamSet(WeightsF32 weights, bool trainable = true);
  // A frozen model read in place from the mapped `file`: f32 tensors through
  // `value`, matrices of other types (Q8_0, BF16, ...) kept packed (value null);
  // other 1-D tensors converted to f32. What a LoRA run's base costs: about
  // 1.06 bytes a parameter in Q8_0 and 2 in BF16, against 4 in f32, and no
  // second copy of an f32 file.
  static std::unique_ptr<ParamSet> frozen_packed(GgufFile file);
  // Bytes of parameter values held (f32 values and packed matrices).
  int64_t value_bytes() const;
  ParamSet(const ParamSet&) = delete;
  ParamSet& operator=(const ParamSet&) = delete;

  const ModelConfig& config() const { return weights_.config; }
  WeightsF32& weights() { return weights_; }
  const WeightsF32& weights() const { return weights_; }
  std::vector<ParamTensor>& tensors() { return tensors_; }
  const std::vector<ParamTensor>& tensors() const { return tensors_; }
  const ParamTensor& get(const std::string& name) const;  // throws Error if absent
  ParamTensor& get(const std::string& name);

  int64_t n_params() const { return n_params_; }
  std::vector<float>& grads() { return grads_; }
  std::vector<float>& moment1() { return m_; }
  std::vector<float>& moment2() { return v_; }
  void zero_grads();
  double grad_norm() const;  // L2 norm over every gradient, summed in a fixed order

 private:
  void bind();
  WeightsF32 weights_;
  bool trainable_;
  std::shared_ptr<const GgufFile> file_;  // frozen_packed: the mapped file its packed matrices are read from
  int64_t n_params_ = 0;
  std::vector<float> grads_, m_, v_;
  std::vector<ParamTensor> tensors_;
};

}  // namespace edgelm::training
