#pragma once
// LoRA training: the trainable low-rank terms that the Transformer's forward
// and backward call into when a run has a [lora] section. The base weights
// stay frozen (their gradients are not computed); only each targeted
// matrix's A (r, in) and B (out, r) learn, with their own AdamW moments:
//   y = W x + s * B (A drop(x)),   s = alpha / r,
//   dB += s dy^T u,  du = s dy B,  dA += du^T drop(x),  dx += drop'(du A)
// with u = A drop(x) (N, r) kept from the forward pass. Initialised as PEFT
// does: A uniform in +-1/sqrt(in) (kaiming_uniform with a = sqrt(5)), B zero,
// so training starts from the base model exactly.
// Legend: N = tokens of a batch, r = rank, in/out = the base matrix's columns/rows.
#include <cstdint>
#include <string>
#include <vector>

#include "model/lora.h"
#include "platform/thread_pool.h"

namespace edgelm::training {

struct LoraConfig {
  int64_t rank = 0;  // 0: no LoRA (full training)
  float alpha = 16.0f;
  float dropout = 0.0f;  // on the adapter's input, as PEFT's lora_dropout
  std::vector<LoraTarget> targets = {LoraTarget::Q, LoraTarget::V};
  // The frozen base is read in place from its mapped file: matrices stay in
  // the file's type (Q8_0, BF16, ...) and are dequantised a block of rows at a
  // time, as QLoRA holds its base (about 1.06 bytes a parameter in Q8_0
  // against 4 in f32). false: converted to f32 in memory when loading.
  bool keep_base_type = true;
  bool enabled() const { return rank > 0; }
  float scale() const { return alpha / float(rank); }
};

class LoraTrainer {
 public:
  // n_tokens: B*T of the batches the Transformer runs.
  LoraTrainer(const ModelConfig& model, const LoraConfig& config, int64_t n_tokens, uint64_t seed);

  bool has(int layer, LoraTarget t) const { return slot(layer, t) >= 0; }
  // y (N, out) += s * B (A drop(x)); a new dropout mask unless `recompute`
  // (the backward pass's recomputation must see the forward's mask).
  void forward(int layer, LoraTarget t, const float* x, float* y, bool recompute, ThreadPool& pool);
  // Accumulates dA, dB; dx (N, in) += the adapter's part of the input gradient.
  void backward(int layer, LoraTarget t, const float* dy, const float* x, float* dx, ThreadPool& pool);
  void set_training(bool training) { training_ = training; }  // dropout only while training

  // The adapter as the runtime and llama.cpp read it.
  LoraAdapter to_adapter(const std::string& name) const;
  // Values from an adapter of the same targets and ranks (tests, resume).
  void load_values(const LoraAdapter& adapter);

  const LoraConfig& config() const { return config_; }
  // The adapted matrices, in the flat buffers' order: A (rank, in) at `offset`, B (out, rank) after it.
  struct Matrix {
    int layer;
    LoraTarget target;
    int64_t rank, in, out, offset;
  };
  std::vector<Matrix> matrices() const;
  // The dropout masks' random stream (checkpoints carry it, so a resumed run draws the same masks).
  uint64_t dropout_state() const { return rng_state_; }
  void set_dropout_state(uint64_t s) { rng_state_ = s; }
  const std::vector<float>& values() const { return values_; }
  const std::vector<float>& moment1() const { return m_; }
  const std::vector<float>& moment2() const { return v_; }
  // Flat parameter, gradient and moment buffers: per matrix A then B, in block then target order.
  std::vector<float>& values() { return values_; }
  std::vector<float>& grads() { return grads_; }
  std::vector<float>& moment1() { return m_; }
  std::vector<float>& moment2() { return v_; }
  int64_t n_params() const { return int64_t(values_.size()); }
  float* grad_a(int layer, LoraTarget t) { return grads_.data() + mats_[size_t(slot(layer, t))].offset; }
  float* grad_b(int layer, LoraTarget t) {
    const Mat& m = mats_[size_t(slot(layer, t))];
    return grads_.data() + m.offset + m.rank * m.in;
  }
  float* value_a(int layer, LoraTarget t) { return values_.data() + mats_[size_t(slot(layer, t))].offset; }

 private:
  struct Mat {
    int layer;
    LoraTarget target;
    int64_t rank, in, out, offset;  // offset of A in the flat buffers; B follows it
    std::vector<float> u;           // (N, r) A drop(x) of the last forward
    std::vector<float> mask;        // (N, in) dropout scale per input value (empty without dropout)
  };
  int slot(int layer, LoraTarget t) const { return slots_[size_t(layer * kLoraTargets + int(t))]; }
  const float* dropped(Mat& m, const float* x);  // drop(x), in scratch_

  LoraConfig config_;
  ModelConfig model_;
  int64_t n_tokens_;
  std::vector<int> slots_;  // (layer, target) -> index into mats_, -1 when not adapted
  std::vector<Mat> mats_;
  std::vector<float> values_, grads_, m_, v_;
  std::vector<float> scratch_, du_;
  uint64_t rng_state_;
  bool training_ = true;
};

// One AdamW step on the adapter (clipping to grad_clip by global norm when
// positive), then zeroes its gradients. Returns the norm before clipping.
struct OptimConfig;
double lora_optimizer_step(LoraTrainer& lora, const OptimConfig& o, float lr, int64_t step, ThreadPool& pool);

}  // namespace edgelm::training
