#pragma once
// The Llama-family decoder's training forward and backward, written out by
// hand (llm.c's approach): each layer is a straight list of ops, and the
// backward runs the same list in reverse. Matmuls go to gemm_f32; everything
// else is in training/ops.h.
//
// Legend: B = sequences per batch, T = sequence length, N = B*T tokens,
// C = dim, Q = n_heads*head_dim, K = n_kv_heads*head_dim, F = ffn_dim,
// V = vocab, H = heads, L = layers.
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "platform/thread_pool.h"
#include "training/params.h"

namespace edgelm::training {

class LoraTrainer;

// One batch of B rows of T positions. Row r, position t predicts targets[r*T+t]
// from tokens[r*T .. r*T+t] of its own example: `first[r*T+t]` is the position
// (0..T-1, within the row) where that example starts, so packed examples never
// attend to each other and each restarts at RoPE position 0.
struct Batch {
  int64_t B = 0, T = 0;
  std::vector<int32_t> tokens;   // (B*T)
  std::vector<int32_t> targets;  // (B*T) next token
  std::vector<float> weights;    // (B*T) loss weight: 1 on trained targets, 0 elsewhere (padding, prompts)
  std::vector<int32_t> first;    // (B*T) example start within the row
  // Preference pairs (DPO) only, else empty: 2*q + 0 where the position belongs to the
  // chosen example of the batch's pair q, 2*q + 1 for its rejected one, -1 on padding.
  std::vector<int32_t> pair_slot;  // (B*T)
  int64_t n_pairs = 0;
  void resize(int64_t b, int64_t t);
  double n_weighted() const;     // sum of weights
};

// Activations kept for backward live in one arena. Layout, in order
// (per layer l = 0..L-1, then the head):
//   layer l: x (N,C) residual input | xn1 (N,C) | rstd1 (N) | q (N,Q) after RoPE |
//            k (N,K) after RoPE | v (N,K) | P (B,H,T,T) attention probabilities |
//            att (N,Q) | x_mid (N,C) | xn2 (N,C) | rstd2 (N) | gate (N,F) | up (N,F) | h (N,F)
//   head:    x_out (N,C) | xnf (N,C) | rstdf (N) | logits (N,V) (overwritten by dlogits) | nll (N)
// The backward pass has its own scratch arena of activation gradients, reused by every layer.
//
// With recomputation only each layer's x is kept per layer; xn1 .. h live once,
// shared by all layers, and the backward pass recomputes layer l's (from its
// kept x, with the same code and thread split, so bit for bit the same values)
// just before it needs them: one more forward pass of the layers, except the
// last layer (still in the shared set) and each layer's down projection (its
// output is not needed by the backward pass).
struct TransformerOptions {
  // Matmuls (every projection, the head, forward and both backward products) take
  // bf16-rounded inputs and accumulate in f32 (gemm_bf16); weights, gradients,
  // norms, softmax and loss stay f32.
  bool bf16 = false;
  // Recompute layer activations in the backward pass instead of keeping them
  // (memory: about 1 layer's activations instead of L; time: about +30%).
  bool recompute = false;
  // LoRA training (training/lora.h): the adapter's terms join the products it
  // targets and only it learns; the base's own gradients are not computed.
  // Null: every parameter trains.
  LoraTrainer* lora = nullptr;
  // A packed matrix (a frozen base kept in its file's type, ParamSet::frozen_packed)
  // is dequantised at most this many values at a time (16 MiB of f32 by default:
  // every block matrix of the shapes edgelm trains, and the head in slices).
  int64_t packed_block_values = int64_t(1) << 22;
  // Residual dropout (GPT-2's resid_pdrop): each attention and feed-forward
  // block's output is dropped with this probability before it joins the
  // residual stream, in forward passes after set_dropout_key (training steps);
  // loss() and forward passes without a key run without it.
  double dropout = 0.0;
};

class Transformer {
 public:
  Transformer(ParamSet& params, int64_t B, int64_t T, ThreadPool& pool, TransformerOptions options = {});

  // Fills the arena; logits() is valid afterwards.
  void forward(const Batch& batch);
  // After forward(): cross-entropy with the batch's weights, then the gradients of
  // (grad_scale * weighted nll sum) ACCUMULATED into the ParamSet's grads.
  // Returns the weighted sum of nll (divide by n_weighted() for the mean).
  double backward(const Batch& batch, float grad_scale);
  // With options.dropout: the next forward()/backward() pairs drop with masks drawn from
  // `key` (each step's own, so a resumed run draws the same ones); clear_dropout() stops it.
  // The batch's rows are rows first_row.. of a larger batch split over processes: each
  // process draws its rows' part of the whole batch's masks.
  void set_dropout_key(uint64_t key, int64_t first_row = 0) {
    dropout_key_ = key;
    dropout_offset_ = first_row * T_ * c_.dim;
    dropout_on_ = options_.dropout > 0;
  }
  void clear_dropout() { dropout_on_ = false; }
  // forward + the loss only (validation, without dropout); returns the weighted nll sum.
  double loss(const Batch& batch);
  // After forward(): each position's log-probability of its target, 0 where its weight
  // is 0, into out (B*T); the logits stay for backward() (DPO reads them first).
  void target_logprobs(const Batch& batch, float* out);

  // Called by backward() as soon as layer l's parameter gradients are complete (from the
  // last layer to the first), while the layers below are still to run: data-parallel
  // training starts that layer's gradient all-reduce here. Empty: not called.
  std::function<void(int layer)> on_layer_grads;

  std::span<const float> logits() const;  // (N,V), valid between forward() and backward()
  int64_t arena_bytes() const { return int64_t(arena_.size() + scratch_.size()) * 4; }
  // Multiply-adds of one forward+backward (x2 = flops), for reports.
  double flops_per_step() const;

 private:
  struct LayerActs {
    float *x, *xn1, *rstd1, *q, *k, *v, *P, *att, *x_mid, *xn2, *rstd2, *gate, *up, *h;
  };
  struct LayerParams {
    const ParamTensor *attn_norm, *wq, *wk, *wv, *wo, *ffn_norm, *wg, *wu, *wd;
  };
  void check_batch(const Batch& batch) const;
  // Layer l's forward from acts_[l].x; with write_output, also its residual
  // output into the next layer's x (or x_out_), which recomputation skips.
  void layer_forward(int l, const Batch& batch, bool write_output);
  // gemm_f32 or gemm_bf16, as options_.bf16 says.
  void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
            const float* B, int64_t ldb, float beta, float* C, int64_t ldc);
  void matmul_forward(const float* x, const ParamTensor& w, float* y, int64_t n_in, int64_t n_out, float beta = 0.0f);
  void matmul_backward(const float* dy, const float* x, const ParamTensor& w, float* dx, int64_t n_in, int64_t n_out,
                       float dx_beta);
  // A packed matrix (n_out rows of n_in) in blocks of rows dequantised to f32:
  // f(first row, rows, the block) for each, in order.
  void for_each_row_block(const ParamTensor& w, int64_t n_in, int64_t n_out,
                          const std::function<void(int64_t r0, int64_t rows, const float* block)>& f);

  ModelConfig c_;
  int64_t B_, T_, N_;
  ThreadPool& pool_;
  TransformerOptions options_;
  std::vector<LayerParams> layer_params_;
  const ParamTensor *embd_, *out_norm_, *head_;

  std::vector<float> arena_;
  std::vector<LayerActs> acts_;
  float *x_out_, *xnf_, *rstdf_, *logits_, *nll_;

  std::vector<float> scratch_;
  float *dx_, *dxn_, *dq_, *dk_, *dv_, *datt_, *dgate_, *dup_, *dh_, *attn_scratch_;

  std::vector<float> unpacked_;  // a block of a packed matrix's rows, in f32
  std::vector<float> rope_;      // (T, D/2, 2) cos/sin
  std::vector<int32_t> pos_;     // (N) RoPE position = t - first
  // Which layer's activations the shared set holds (recomputation only; -1: none).
  int shared_layer_ = -1;
  uint64_t dropout_key_ = 0;
  int64_t dropout_offset_ = 0;  // the first row's first value, within the whole batch's masks
  bool dropout_on_ = false;
  // The mask key of layer l's attention (branch 0) or feed-forward (branch 1) output.
  uint64_t branch_key(int l, int branch) const;
};

}  // namespace edgelm::training
