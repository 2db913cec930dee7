#pragma once
// An inference session: one KV cache over one model, fed token by token or a
// batch at a time.
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "model/model.h"
#include "platform/thread_pool.h"

namespace edgelm {

struct ForwardScratch;  // per-session activation buffers (model/forward.h)
struct LoraAdapter;

class InferenceSession {
 public:
  // max_context 0: the model's context length. pool null: the default thread pool.
  InferenceSession(std::shared_ptr<const Model> model, int64_t max_context = 0, ThreadPool* pool = nullptr);
  ~InferenceSession();
  InferenceSession(const InferenceSession&) = delete;
  InferenceSession& operator=(const InferenceSession&) = delete;

  // Appends tokens at positions n_past().. in one batched forward pass (long
  // inputs are split into chunks internally) and returns the logits of the LAST
  // token (n_vocab floats), or of every new token (n_tokens x n_vocab, row-major)
  // when all_logits. The span stays valid until the next eval. Throws Error on an
  // id outside the vocabulary or when the context would overflow.
  std::span<const float> eval(std::span<const int32_t> tokens, bool all_logits = false);
  int64_t n_past() const { return n_past_; }
  // Forgets positions >= n (n <= n_past()).
  void truncate(int64_t n);
  int64_t n_forward_passes() const { return n_forward_passes_; }
  int64_t max_context() const { return max_context_; }
  const Model& model() const { return *model_; }
  const std::shared_ptr<const Model>& model_ptr() const { return model_; }

  // Applies a LoRA adapter made for this model's config on top of the
  // unchanged base weights (null: none), its own scale times `scale`. One base
  // in memory serves any number of adapters, switched here without reloading.
  // The cached positions were computed under the previous adapter, so the
  // session is emptied (n_past() becomes 0). Error if the adapter's blocks or
  // shapes do not match the model.
  void set_adapter(std::shared_ptr<const LoraAdapter> adapter, float scale = 1.0f);
  const LoraAdapter* adapter() const { return adapter_.get(); }

 private:
  std::shared_ptr<const Model> model_;
  ThreadPool* pool_;
  int64_t max_context_ = 0;
  int64_t key_stride_ = 0;  // row length of the transposed key cache (see the constructor)
  int64_t n_past_ = 0;
  int64_t n_forward_passes_ = 0;
  // KV cache, per layer: keys after RoPE transposed, (K, key_stride_), so that
  // attention builds vectors of scores without horizontal sums; values (max_context, K).
  std::vector<std::unique_ptr<float[]>> k_cache_, v_cache_;
  std::unique_ptr<ForwardScratch> scratch_;
  std::vector<float> logits_;
  std::shared_ptr<const LoraAdapter> adapter_;
  float adapter_scale_ = 1.0f;
  std::vector<float> lora_tmp_;  // (chunk tokens, adapter rank)
};

}  // namespace edgelm
