#include "training/transformer.h"

#include <algorithm>
#include <cstring>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "model/tensors.h"
#include "platform/error.h"
#include "training/attention.h"
#include "training/lora.h"
#include "training/ops.h"

namespace edgelm::training {

void Batch::resize(int64_t b, int64_t t) {
  B = b;
  T = t;
  tokens.assign(size_t(b * t), 0);
  targets.assign(size_t(b * t), 0);
  weights.assign(size_t(b * t), 0.0f);
  first.assign(size_t(b * t), 0);
  pair_slot.clear();
  n_pairs = 0;
}

double Batch::n_weighted() const {
  double s = 0;
  for (float w : weights) s += w;
  return s;
}

Transformer::Transformer(ParamSet& params, int64_t B, int64_t T, ThreadPool& pool, TransformerOptions options)
    : c_(params.config()), B_(B), T_(T), N_(B * T), pool_(pool), options_(options) {
  if (B <= 0 || T <= 0) fail("batch size and sequence length must be positive (got ", B, " x ", T, ")");
  if (c_.head_dim % 2) fail("head_dim ", c_.head_dim, " must be even for RoPE");
  for (int l = 0; l < int(c_.n_layers); ++l) {
    auto g = [&](const char* s) { return &params.get(layer_tensor_name(l, s)); };
    layer_params_.push_back({g("attn_norm"), g("attn_q"), g("attn_k"), g("attn_v"), g("attn_output"), g("ffn_norm"),
                             g("ffn_gate"), g("ffn_up"), g("ffn_down")});
  }
  embd_ = &params.get("token_embd.weight");
  out_norm_ = &params.get("output_norm.weight");
  head_ = c_.tied_embeddings ? embd_ : &params.get("output.weight");

  const int64_t N = N_, C = c_.dim, Q = c_.q_dim(), K = c_.kv_dim(), F = c_.ffn_dim, V = c_.n_vocab, H = c_.n_heads;
  // Everything of a layer but its input x; kept per layer, or once when recomputed.
  const int64_t per_layer_rest = N * C + N + N * Q + N * K + N * K + B * H * T * T + N * Q + N * C + N * C + N + 3 * N * F;
  const int64_t n_rest = options_.recompute ? std::min<int64_t>(1, c_.n_layers) : c_.n_layers;
  arena_.assign(size_t(N * C * c_.n_layers + per_layer_rest * n_rest + 2 * N * C + N + N * V + N), 0.0f);
  float* p = arena_.data();
  auto take = [&p](int64_t n) {
    float* r = p;
    p += n;
    return r;
  };
  for (int l = 0; l < int(c_.n_layers); ++l) {
    LayerActs a;
    a.x = take(N * C);
    if (l < n_rest) {
      a.xn1 = take(N * C);
      a.rstd1 = take(N);
      a.q = take(N * Q);
      a.k = take(N * K);
      a.v = take(N * K);
      a.P = take(B * H * T * T);
      a.att = take(N * Q);
      a.x_mid = take(N * C);
      a.xn2 = take(N * C);
      a.rstd2 = take(N);
      a.gate = take(N * F);
      a.up = take(N * F);
      a.h = take(N * F);
    } else {  // the shared set of layer 0
      float* x = a.x;
      a = acts_[0];
      a.x = x;
    }
    acts_.push_back(a);
  }
  x_out_ = take(N * C);
  xnf_ = take(N * C);
  rstdf_ = take(N);
  logits_ = take(N * V);
  nll_ = take(N);

  const int64_t wide = std::max({C, Q, F});
  scratch_.assign(size_t(N * C + N * wide + N * Q + 2 * N * K + N * Q + 3 * N * F + int64_t(pool.size()) * T * T), 0.0f);
  p = scratch_.data();
  dx_ = take(N * C);
  dxn_ = take(N * wide);
  dq_ = take(N * Q);
  dk_ = take(N * K);
  dv_ = take(N * K);
  datt_ = take(N * Q);
  dgate_ = take(N * F);
  dup_ = take(N * F);
  dh_ = take(N * F);
  attn_scratch_ = take(int64_t(pool.size()) * T * T);

  rope_.resize(size_t(T * c_.head_dim));
  rope_table(rope_.data(), T, c_.head_dim, double(c_.rope_theta));
  pos_.resize(size_t(N));
}

std::span<const float> Transformer::logits() const { return {logits_, size_t(N_ * c_.n_vocab)}; }

void Transformer::check_batch(const Batch& b) const {
  if (b.B != B_ || b.T != T_) fail("batch is ", b.B, " x ", b.T, " but the model was set up for ", B_, " x ", T_);
  for (int64_t i = 0; i < N_; ++i) {
    if (b.tokens[i] < 0 || b.tokens[i] >= c_.n_vocab)
      fail("token id ", b.tokens[i], " at batch position ", i, " is outside the vocabulary (", c_.n_vocab, ")");
    if (b.weights[i] != 0 && (b.targets[i] < 0 || b.targets[i] >= c_.n_vocab))
      fail("target id ", b.targets[i], " at batch position ", i, " is outside the vocabulary (", c_.n_vocab, ")");
    const int64_t t = i % T_;
    if (b.first[i] < 0 || b.first[i] > t) fail("batch position ", i, ": example start ", b.first[i], " is after it");
    // Packed examples follow each other; the attention's row blocks rely on it.
    if (t > 0 && b.first[i] < b.first[i - 1])
      fail("batch position ", i, ": example start ", b.first[i], " is before the previous position's (", b.first[i - 1],
           "): packed examples must follow each other");
  }
}

void Transformer::gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                       int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  if (options_.bf16)
    gemm_bf16(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool_);
  else
    gemm_f32(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc, pool_);
}

void Transformer::for_each_row_block(const ParamTensor& w, int64_t n_in, int64_t n_out,
                                     const std::function<void(int64_t r0, int64_t rows, const float* block)>& f) {
  const int64_t rows = std::clamp<int64_t>(options_.packed_block_values / n_in, 1, n_out);
  if (int64_t(unpacked_.size()) < rows * n_in) unpacked_.resize(size_t(rows * n_in));
  const int64_t row_bytes = tensor_row_bytes(w.packed_type, n_in);
  for (int64_t r0 = 0; r0 < n_out; r0 += rows) {
    const int64_t n = std::min(rows, n_out - r0);
    pool_.parallel_for(n, [&](int64_t a, int64_t b) {
      for (int64_t r = a; r < b; ++r)
        tensor_to_f32(w.packed_type, w.packed + (r0 + r) * row_bytes, unpacked_.data() + r * n_in, n_in);
    }, 16);
    f(r0, n, unpacked_.data());
  }
}

// y (N, n_out) = x (N, n_in) W^T + beta*y, W stored (n_out, n_in). A packed W
// is dequantised a block of rows (output columns of y) at a time: a block that
// holds the whole matrix gives the f32 path's values bit for bit.
void Transformer::matmul_forward(const float* x, const ParamTensor& w, float* y, int64_t n_in, int64_t n_out,
                                 float beta) {
  if (!w.packed) {
    gemm(false, true, N_, n_out, n_in, 1.0f, x, n_in, w.value, n_in, beta, y, n_out);
    return;
  }
  for_each_row_block(w, n_in, n_out, [&](int64_t r0, int64_t rows, const float* block) {
    gemm(false, true, N_, rows, n_in, 1.0f, x, n_in, block, n_in, beta, y + r0, n_out);
  });
}

// dW (n_out, n_in) += dy^T x;  dx (N, n_in) = dy W + dx_beta * dx.
void Transformer::matmul_backward(const float* dy, const float* x, const ParamTensor& w, float* dx, int64_t n_in,
                                  int64_t n_out, float dx_beta) {
  if (w.packed && !options_.lora) fail("a packed (quantised) matrix is frozen: only a LoRA run trains over it");
  if (!options_.lora) gemm(true, false, n_out, n_in, N_, 1.0f, dy, n_out, x, n_in, 1.0f, w.grad, n_in);
  if (!w.packed) {
    gemm(false, false, N_, n_in, n_out, 1.0f, dy, n_out, w.value, n_in, dx_beta, dx, n_in);
    return;
  }
  // dx = dy W, summed over blocks of W's rows (the columns of dy).
  for_each_row_block(w, n_in, n_out, [&](int64_t r0, int64_t rows, const float* block) {
    gemm(false, false, N_, n_in, rows, 1.0f, dy + r0, n_out, block, n_in, r0 == 0 ? dx_beta : 1.0f, dx, n_in);
  });
}

void Transformer::layer_forward(int l, const Batch& b, bool write_output) {
  const int64_t N = N_, C = c_.dim, Q = c_.q_dim(), K = c_.kv_dim(), F = c_.ffn_dim;
  const float eps = c_.norm_eps;
  const AttentionShape shape{B_, T_, c_.n_heads, c_.n_kv_heads, c_.head_dim, c_.sliding_window};
  const LayerActs& a = acts_[l];
  const LayerParams& w = layer_params_[l];
  // Attention block: x_mid = x + Wo attn(rope(Wq xn1), rope(Wk xn1), Wv xn1).
  // The LoRA terms, when training an adapter; recomputation keeps the forward's dropout mask.
  LoraTrainer* lora = options_.lora;
  auto adapt = [&](LoraTarget t, const float* x, float* y) {
    if (lora) lora->forward(l, t, x, y, !write_output, pool_);
  };
  rmsnorm_forward(a.x, w.attn_norm->value, a.xn1, a.rstd1, N, C, eps, &pool_);
  matmul_forward(a.xn1, *w.wq, a.q, C, Q);
  adapt(LoraTarget::Q, a.xn1, a.q);
  matmul_forward(a.xn1, *w.wk, a.k, C, K);
  adapt(LoraTarget::K, a.xn1, a.k);
  matmul_forward(a.xn1, *w.wv, a.v, C, K);
  adapt(LoraTarget::V, a.xn1, a.v);
  rope_apply(a.q, pos_.data(), N, c_.n_heads, c_.head_dim, rope_.data(), 1.0f, &pool_);
  rope_apply(a.k, pos_.data(), N, c_.n_kv_heads, c_.head_dim, rope_.data(), 1.0f, &pool_);
  attention_forward_fast(shape, a.q, a.k, a.v, b.first.data(), a.P, a.att, pool_, options_.bf16);
  // With dropout the block's output is made in dxn_ (free in the forward pass, and
  // between layers in the backward pass, where recomputation calls this), then dropped.
  const double p = dropout_on_ ? options_.dropout : 0.0;
  std::memcpy(a.x_mid, a.x, size_t(N * C) * 4);
  if (p > 0) {
    matmul_forward(a.att, *w.wo, dxn_, Q, C);
    adapt(LoraTarget::O, a.att, dxn_);
    dropout_residual_forward(dxn_, a.x_mid, N * C, p, branch_key(l, 0), dropout_offset_, &pool_);
  } else {
    matmul_forward(a.att, *w.wo, a.x_mid, Q, C, 1.0f);
    adapt(LoraTarget::O, a.att, a.x_mid);
  }
  // Feed-forward block: x_next = x_mid + Wd (silu(Wg xn2) * Wu xn2).
  rmsnorm_forward(a.x_mid, w.ffn_norm->value, a.xn2, a.rstd2, N, C, eps, &pool_);
  matmul_forward(a.xn2, *w.wg, a.gate, C, F);
  adapt(LoraTarget::Gate, a.xn2, a.gate);
  matmul_forward(a.xn2, *w.wu, a.up, C, F);
  adapt(LoraTarget::Up, a.xn2, a.up);
  swiglu_forward(a.gate, a.up, a.h, N * F, &pool_);
  shared_layer_ = l;
  if (!write_output) return;
  float* x_next = l + 1 < int(c_.n_layers) ? acts_[l + 1].x : x_out_;
  std::memcpy(x_next, a.x_mid, size_t(N * C) * 4);
  if (p > 0) {
    matmul_forward(a.h, *w.wd, dxn_, F, C);
    adapt(LoraTarget::Down, a.h, dxn_);
    dropout_residual_forward(dxn_, x_next, N * C, p, branch_key(l, 1), dropout_offset_, &pool_);
  } else {
    matmul_forward(a.h, *w.wd, x_next, F, C, 1.0f);
    adapt(LoraTarget::Down, a.h, x_next);
  }
}

uint64_t Transformer::branch_key(int l, int branch) const {
  uint64_t z = dropout_key_ ^ (uint64_t(2 * l + branch + 1) * 0xd6e8feb86659fd93ull);
  z = (z ^ (z >> 32)) * 0xd6e8feb86659fd93ull;
  return z ^ (z >> 32);
}

void Transformer::forward(const Batch& b) {
  check_batch(b);
  const int64_t N = N_, C = c_.dim, V = c_.n_vocab;
  const float eps = c_.norm_eps;
  for (int64_t i = 0; i < N; ++i) pos_[i] = int32_t(i % T_ - b.first[i]);

  // Embedding lookup into the first layer's residual input.
  float* x0 = c_.n_layers > 0 ? acts_[0].x : x_out_;
  if (embd_->packed) {
    const int64_t row_bytes = tensor_row_bytes(embd_->packed_type, C);
    for (int64_t i = 0; i < N; ++i) tensor_to_f32(embd_->packed_type, embd_->packed + b.tokens[i] * row_bytes, x0 + i * C, C);
  } else {
    for (int64_t i = 0; i < N; ++i) std::memcpy(x0 + i * C, embd_->value + int64_t(b.tokens[i]) * C, size_t(C) * 4);
  }

  for (int l = 0; l < int(c_.n_layers); ++l) layer_forward(l, b, true);
  rmsnorm_forward(x_out_, out_norm_->value, xnf_, rstdf_, N, C, eps, &pool_);
  matmul_forward(xnf_, *head_, logits_, C, V);
}

double Transformer::backward(const Batch& b, float grad_scale) {
  const int64_t N = N_, C = c_.dim, Q = c_.q_dim(), K = c_.kv_dim(), F = c_.ffn_dim, V = c_.n_vocab;
  const AttentionShape shape{B_, T_, c_.n_heads, c_.n_kv_heads, c_.head_dim, c_.sliding_window};
  const double loss_sum =
      cross_entropy_forward_backward(logits_, b.targets.data(), b.weights.data(), nll_, N, V, grad_scale, &pool_);
  float* dlogits = logits_;

  // Head: logits = xnf Wh^T; then the final norm. dx_ is the residual stream's gradient from here on.
  matmul_backward(dlogits, xnf_, *head_, dxn_, C, V, 0.0f);
  std::fill(dx_, dx_ + N * C, 0.0f);
  rmsnorm_backward(dxn_, x_out_, out_norm_->value, rstdf_, dx_, out_norm_->grad, N, C, &pool_);

  for (int l = int(c_.n_layers) - 1; l >= 0; --l) {
    if (options_.recompute && shared_layer_ != l) layer_forward(l, b, false);
    const LayerActs& a = acts_[l];
    const LayerParams& w = layer_params_[l];
    auto adapt = [&](LoraTarget t, const float* dy, const float* x, float* dx) {
      if (options_.lora) options_.lora->backward(l, t, dy, x, dx, pool_);
    };
    // Feed-forward block, reversed. The residual passes dx_ through unchanged; the
    // block's output sees it through the dropout mask (in dxn_, free until the norm's backward).
    const double p = dropout_on_ ? options_.dropout : 0.0;
    const float* dy = dx_;
    if (p > 0) {
      dropout_backward(dx_, dxn_, N * C, p, branch_key(l, 1), dropout_offset_, &pool_);
      dy = dxn_;
    }
    matmul_backward(dy, a.h, *w.wd, dh_, F, C, 0.0f);
    adapt(LoraTarget::Down, dy, a.h, dh_);
    swiglu_backward(dh_, a.gate, a.up, dgate_, dup_, N * F, &pool_);
    matmul_backward(dgate_, a.xn2, *w.wg, dxn_, C, F, 0.0f);
    adapt(LoraTarget::Gate, dgate_, a.xn2, dxn_);
    matmul_backward(dup_, a.xn2, *w.wu, dxn_, C, F, 1.0f);
    adapt(LoraTarget::Up, dup_, a.xn2, dxn_);
    rmsnorm_backward(dxn_, a.x_mid, w.ffn_norm->value, a.rstd2, dx_, w.ffn_norm->grad, N, C, &pool_);
    // Attention block, reversed.
    if (p > 0) dropout_backward(dx_, dxn_, N * C, p, branch_key(l, 0), dropout_offset_, &pool_);
    matmul_backward(dy, a.att, *w.wo, datt_, Q, C, 0.0f);
    adapt(LoraTarget::O, dy, a.att, datt_);
    attention_backward_fast(shape, a.q, a.k, a.v, b.first.data(), a.P, datt_, dq_, dk_, dv_, attn_scratch_, pool_,
                            options_.bf16);
    rope_apply(dq_, pos_.data(), N, c_.n_heads, c_.head_dim, rope_.data(), -1.0f, &pool_);
    rope_apply(dk_, pos_.data(), N, c_.n_kv_heads, c_.head_dim, rope_.data(), -1.0f, &pool_);
    matmul_backward(dq_, a.xn1, *w.wq, dxn_, C, Q, 0.0f);
    adapt(LoraTarget::Q, dq_, a.xn1, dxn_);
    matmul_backward(dk_, a.xn1, *w.wk, dxn_, C, K, 1.0f);
    adapt(LoraTarget::K, dk_, a.xn1, dxn_);
    matmul_backward(dv_, a.xn1, *w.wv, dxn_, C, K, 1.0f);
    adapt(LoraTarget::V, dv_, a.xn1, dxn_);
    rmsnorm_backward(dxn_, a.x, w.attn_norm->value, a.rstd1, dx_, w.attn_norm->grad, N, C, &pool_);
    if (on_layer_grads) on_layer_grads(l);
  }

  // Embedding: scatter-add each token's gradient into its row (serial: rows repeat).
  for (int64_t i = 0; i < N && !options_.lora; ++i) {
    float* row = embd_->grad + int64_t(b.tokens[i]) * C;
    const float* d = dx_ + i * C;
    for (int64_t c = 0; c < C; ++c) row[c] += d[c];
  }
  return loss_sum;
}

double Transformer::loss(const Batch& b) {
  const bool dropout_was_on = dropout_on_;
  dropout_on_ = false;
  forward(b);
  dropout_on_ = dropout_was_on;
  const int64_t N = N_, V = c_.n_vocab;
  return cross_entropy_forward_backward(logits_, b.targets.data(), b.weights.data(), nll_, N, V, 0.0f, &pool_);
}

void Transformer::target_logprobs(const Batch& b, float* out) {
  target_logprob(logits_, b.targets.data(), b.weights.data(), out, N_, c_.n_vocab, &pool_);
}

double Transformer::flops_per_step() const {
  const double N = double(N_), C = double(c_.dim), Q = double(c_.q_dim()), K = double(c_.kv_dim()),
               F = double(c_.ffn_dim), V = double(c_.n_vocab), L = double(c_.n_layers);
  const double matmul = N * (C * Q + 2 * C * K + Q * C + 3 * C * F) * L + N * C * V;  // multiply-adds, forward
  double attention_pairs = 0;  // causal (q,k) pairs per head, ignoring packing
  const double W = c_.sliding_window > 0 ? double(c_.sliding_window) : double(T_);
  for (int64_t t = 0; t < T_; ++t) attention_pairs += std::min(double(t + 1), W);
  const double attention = double(B_) * attention_pairs * double(c_.n_heads) * double(c_.head_dim) * 2 * L;
  return 2.0 * 3.0 * (matmul + attention);  // backward = 2x forward; 2 flops per multiply-add
}

}  // namespace edgelm::training
