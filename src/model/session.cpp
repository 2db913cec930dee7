// The inference forward pass. A layer reads like the paper:
//   h = x + Wo · attention(rope(Wq · norm(x)), rope(Wk · norm(x)), Wv · norm(x))
//   x = h + Wdown · (silu(Wgate · norm(h)) * (Wup · norm(h)))
// run over a chunk of T tokens at once (prompt) or one token (decode), with
// keys and values appended to the per-layer cache. Each layer forks the
// thread pool five times (q+k+v, attention, wo, gate+up+swiglu, down), and no
// buffer is allocated per token.
#include "model/session.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <utility>

#include "kernels/kernels.h"
#include "model/linear.h"
#include "model/lora.h"
#include "platform/error.h"
#include "quant/blocks.h"
#include "quant/quant.h"

namespace edgelm {

// Activation buffers for a chunk of up to `batch` tokens.
// T = tokens in the chunk, C = dim, Q = q_dim, F = ffn_dim, hd = head_dim.
struct ForwardScratch {
  int64_t batch = 0;
  std::vector<float> x;       // (T, C) the residual stream
  std::vector<float> xn;      // (T, C) normalised input of a sub-layer
  std::vector<float> q;       // (T, Q)
  std::vector<float> k_new;   // (T, K) this chunk's keys, before they go into the transposed cache
  std::vector<float> att;     // (T, Q) attention output, before Wo
  std::vector<float> gate;    // (T, F) gate projection, then silu(gate) * up
  std::vector<float> up;      // (T, F)
  std::vector<float> tmp;     // (T, max(C, F)) for quantised products that accumulate
  std::vector<float> cos2;    // (T, hd) RoPE tables of each token's position
  std::vector<float> sin2;    // (T, hd)
  std::vector<float> scores;   // (threads, attention rows, key stride) attention scores
  std::vector<float> attn_rows;  // (threads, 2, attention rows, hd) an item's scaled queries and outputs
};

namespace {
constexpr int64_t kMaxChunkTokens = 512;
// Attention works on items of this many tokens (x the heads of a kv head).
constexpr int64_t kAttnTokens = 8;
// Rows per unit when quantised products are split between threads: the x8
// layout's row group (and a multiple of the other kernels' row tile).
constexpr int64_t kQuantRowGrain = 8;
}

InferenceSession::InferenceSession(std::shared_ptr<const Model> model, int64_t max_context, ThreadPool* pool)
    : model_(std::move(model)), pool_(pool ? pool : &default_thread_pool()) {
  if (!model_) fail("InferenceSession: no model");
  const ModelConfig& c = model_->config();
  max_context_ = max_context > 0 ? max_context : c.context_length;
  // Attention reads the transposed keys down a column of rows; rows a multiple
  // of 4 KiB apart would all fall into the same L1 set, so the stride is the
  // context rounded up to a cache line, plus one line.
  key_stride_ = (max_context_ + 15) / 16 * 16 + 16;
  // The cache is allocated without initialising it, so its pages only become
  // resident as positions are filled.
  for (int64_t l = 0; l < c.n_layers; ++l) {
    k_cache_.emplace_back(new float[size_t(key_stride_ * c.kv_dim())]);
    v_cache_.emplace_back(new float[size_t(max_context_ * c.kv_dim())]);
  }
  auto s = std::make_unique<ForwardScratch>();
  const int64_t B = std::min(kMaxChunkTokens, max_context_);
  s->batch = B;
  s->x.resize(size_t(B * c.dim));
  s->xn.resize(size_t(B * c.dim));
  s->q.resize(size_t(B * c.q_dim()));
  s->k_new.resize(size_t(B * c.kv_dim()));
  s->att.resize(size_t(B * c.q_dim()));
  s->gate.resize(size_t(B * c.ffn_dim));
  s->up.resize(size_t(B * c.ffn_dim));
  s->tmp.resize(size_t(B * std::max({c.dim, c.ffn_dim, c.q_dim(), c.kv_dim()})));
  s->cos2.resize(size_t(B * c.head_dim));
  s->sin2.resize(size_t(B * c.head_dim));
  s->scores.resize(size_t(pool_->size() * kAttnTokens * (c.n_heads / c.n_kv_heads) * key_stride_));
  s->attn_rows.resize(size_t(pool_->size() * 2 * kAttnTokens * (c.n_heads / c.n_kv_heads) * c.head_dim));
  scratch_ = std::move(s);
}

InferenceSession::~InferenceSession() = default;

void InferenceSession::set_adapter(std::shared_ptr<const LoraAdapter> adapter, float scale) {
  const ModelConfig& c = model_->config();
  if (adapter) {
    if (int64_t(adapter->layers.size()) != c.n_layers)
      fail("adapter '", adapter->name, "' has ", adapter->layers.size(), " blocks, the model ", c.n_layers);
    for (int64_t l = 0; l < c.n_layers; ++l)
      for (int t = 0; t < kLoraTargets; ++t) {
        const LoraMatrix& m = adapter->at(l, LoraTarget(t));
        auto [out, in] = lora_target_shape(c, LoraTarget(t));
        if (m.present() && (m.in != in || m.out != out))
          fail("adapter '", adapter->name, "': block ", l, " ", lora_target_tensor(LoraTarget(t)), " is ", m.out, " x ", m.in,
               ", the model's is ", out, " x ", in);
      }
    lora_tmp_.resize(size_t(scratch_->batch * adapter->max_rank()));
  }
  adapter_ = std::move(adapter);
  adapter_scale_ = scale;
  n_past_ = 0;
}

void InferenceSession::truncate(int64_t n) {
  if (n < 0 || n > n_past_) fail("truncate(", n, "): the session holds ", n_past_, " positions");
  n_past_ = n;
}

namespace {

struct ChunkContext {
  const ModelConfig& c;
  const Model& model;
  const Kernels& k;
  ThreadPool& pool;
  ForwardScratch& s;
  int64_t p0;  // position of the chunk's first token
  int64_t T;   // tokens in the chunk
  const LoraAdapter* lora = nullptr;  // applied on top of the weights, when set
  float lora_scale = 1.0f;
  float* lora_tmp = nullptr;          // (T, adapter rank)
};

// Causal grouped-query attention of the chunk's queries over the cache
// (positions 0 .. p0+T-1, already holding this chunk's keys and values).
// att[t, h] = sum_j softmax_j(q[t,h] . K[j,g] / sqrt(hd)) V[j,g], g = h / (heads per kv head),
// j from max(0, pos - window + 1) (or 0) to pos = p0 + t.
//
// A work item is one kv head and up to kAttnTokens consecutive tokens: its
// queries (every head of the group, for each token) share the keys and values
// they read, so the kernels take them together and every key or value vector
// loaded serves up to four queries. The item's rows all span the keys of its
// last token; a row's scores outside its own causal (and window) range get a
// zero weight, which costs at most kAttnTokens - 1 extra keys per row.
// The transposed keys' rows and the scores' rows are `stride` floats apart.
void attention(const ChunkContext& ctx, const float* k_cache, const float* v_cache, int64_t stride) {
  const ModelConfig& c = ctx.c;
  const int64_t hd = c.head_dim, Q = c.q_dim(), K = c.kv_dim(), group = c.n_heads / c.n_kv_heads;
  const float scale = 1.0f / std::sqrt(float(hd));
  const int64_t n_blocks = (ctx.T + kAttnTokens - 1) / kAttnTokens, n_items = n_blocks * c.n_kv_heads;
  const int nt = int(std::min<int64_t>(ctx.pool.size(), n_items));
  const int64_t rows_per_thread = kAttnTokens * group;
  const Kernels& k = ctx.k;
  auto first_key = [&](int64_t pos) { return c.sliding_window > 0 ? std::max<int64_t>(0, pos - c.sliding_window + 1) : 0; };
  // Items are dealt round-robin: under the causal mask a later token costs
  // more (its context is longer), so contiguous shares would give the last
  // thread of a prompt chunk about 3x the first one's work.
  ctx.pool.run([&](int ith) {
    if (ith >= nt) return;
    float* scores = ctx.s.scores.data() + ith * rows_per_thread * stride;
    float* qs = ctx.s.attn_rows.data() + ith * 2 * rows_per_thread * hd;
    float* outs = qs + rows_per_thread * hd;
    for (int64_t item = ith; item < n_items; item += nt) {
      const int64_t g = item % c.n_kv_heads, t0 = item / c.n_kv_heads * kAttnTokens;
      const int64_t n_tok = std::min(kAttnTokens, ctx.T - t0), n_rows = n_tok * group;
      // Row r: token t0 + r / group, head g * group + r % group; keys [lo_r, hi_r).
      auto offset = [&](int64_t r) { return (t0 + r / group) * Q + (g * group + r % group) * hd; };
      auto hi = [&](int64_t r) { return ctx.p0 + t0 + r / group + 1; };
      auto lo = [&](int64_t r) { return first_key(hi(r) - 1); };
      const int64_t lo_all = lo(0), n_keys = hi(n_rows - 1) - lo_all;
      for (int64_t r = 0; r < n_rows; ++r) {
        const float* q = ctx.s.q.data() + offset(r);
        for (int64_t d = 0; d < hd; ++d) qs[r * hd + d] = q[d] * scale;
      }
      // The transposed keys: component d of key j at kc[d * stride + j].
      const float* kc = k_cache + g * hd * stride + lo_all;
      k.attn_scores(qs, n_rows, hd, kc, stride, n_keys, scores, stride);
      for (int64_t r = 0; r < n_rows; ++r) {
        float* row = scores + r * stride;
        const int64_t a = lo(r) - lo_all, b = hi(r) - lo_all;
        std::fill(row, row + a, 0.0f);
        k.softmax(row + a, b - a);
        std::fill(row + b, row + n_keys, 0.0f);
      }
      std::fill(outs, outs + n_rows * hd, 0.0f);
      k.attn_values(scores, stride, n_rows, v_cache + lo_all * K + g * hd, K, n_keys, hd, outs);
      for (int64_t r = 0; r < n_rows; ++r) std::copy(outs + r * hd, outs + (r + 1) * hd, ctx.s.att.data() + offset(r));
    }
  });
}

// gate = silu(Wgate xn) * (Wup xn): with float weights each thread computes its
// rows of both products and applies SwiGLU to them in the same region.
// An adapter on gate or up takes the unfused path, as its terms must be added
// before SwiGLU.
void feed_forward_hidden(const ChunkContext& ctx, const LayerWeights& l, const LoraMatrix* lora_gate,
                         const LoraMatrix* lora_up) {
  const int64_t F = ctx.c.ffn_dim, T = ctx.T;
  float* gate = ctx.s.gate.data();
  float* up = ctx.s.up.data();
  const float* xn = ctx.s.xn.data();
  const Kernels& k = ctx.k;
  const bool adapted = (lora_gate && lora_gate->present()) || (lora_up && lora_up->present());
  if (!adapted && !is_quantized(l.w_gate.type) && !is_quantized(l.w_up.type)) {
    ctx.pool.parallel_for(
        F,
        [&](int64_t begin, int64_t end) {
          k.matmul(l.w_gate.type, l.w_gate.data, l.w_gate.cols, xn, l.w_gate.cols, gate, F, T, begin, end, false);
          k.matmul(l.w_up.type, l.w_up.data, l.w_up.cols, xn, l.w_up.cols, up, F, T, begin, end, false);
          for (int64_t t = 0; t < T; ++t) k.swiglu(gate + t * F + begin, up + t * F + begin, gate + t * F + begin, end - begin);
        },
        linear_row_grain(T));
    return;
  }
  if (!adapted && is_quantized(l.w_gate.type) && is_quantized(l.w_up.type)) {
    // The same fusion with quantised weights: xn is quantised once, and each
    // thread's gate and up rows go through SwiGLU while they are in cache.
    // The threads split the rows evenly (see parallel_for_even).
    const quant::ActivationsQ8& act = quantize_input(xn, l.w_gate.cols, T, ctx.pool);
    ctx.pool.parallel_for_even(
        F,
        [&](int64_t begin, int64_t end) {
          for (auto [w, y] : {std::pair{&l.w_gate, gate}, std::pair{&l.w_up, up}})
            quant_gemm_rows(w->type, w->packed ? w->packed : w->data, begin, end, act, y, F, false, w->packed != nullptr);
          for (int64_t t = 0; t < T; ++t) k.swiglu(gate + t * F + begin, up + t * F + begin, gate + t * F + begin, end - begin);
        },
        kQuantRowGrain);
    return;
  }
  LinearOutput outs[] = {{&l.w_gate, gate, F}, {&l.w_up, up, F}};
  linear_forward(outs, xn, T, false, ctx.pool, k, ctx.s.tmp.data());
  if (ctx.lora) {
    lora_forward(*lora_gate, ctx.lora_scale * ctx.lora->scale_of(*lora_gate), xn, T, gate, F, ctx.lora_tmp, ctx.pool, k);
    lora_forward(*lora_up, ctx.lora_scale * ctx.lora->scale_of(*lora_up), xn, T, up, F, ctx.lora_tmp, ctx.pool, k);
  }
  ctx.pool.parallel_for(T, [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) k.swiglu(gate + t * F, up + t * F, gate + t * F, F);
  });
}

}  // namespace

std::span<const float> InferenceSession::eval(std::span<const int32_t> tokens, bool all_logits) {
  const ModelConfig& c = model_->config();
  const Model& model = *model_;
  const int64_t n = int64_t(tokens.size());
  if (n == 0) fail("eval: no tokens to evaluate");
  for (int32_t id : tokens)
    if (id < 0 || id >= c.n_vocab) fail("eval: token id ", id, " is outside the vocabulary (0..", c.n_vocab - 1, ")");
  if (n_past_ + n > max_context_)
    fail("eval: ", n_past_, " cached + ", n, " new tokens exceed the context of ", max_context_);

  const Kernels& k = kernels();
  ForwardScratch& s = *scratch_;
  const int64_t C = c.dim, Q = c.q_dim(), K = c.kv_dim(), V = c.n_vocab, hd = c.head_dim;
  logits_.resize(size_t(all_logits ? n * V : V));

  for (int64_t start = 0; start < n; start += s.batch) {
    const int64_t T = std::min(s.batch, n - start);
    ChunkContext ctx{c, model, k, *pool_, s, n_past_, T, adapter_.get(), adapter_scale_, lora_tmp_.data()};
    // y += the adapter's term for one matrix of block li (nothing without an adapter).
    auto lora = [&](int64_t li, LoraTarget t, const float* x, float* y, int64_t ldy) {
      if (!adapter_) return;
      const LoraMatrix& m = adapter_->at(li, t);
      lora_forward(m, adapter_scale_ * adapter_->scale_of(m), x, T, y, ldy, lora_tmp_.data(), *pool_, k);
    };

    // Token embeddings (dequantised rows when the table is quantised).
    const WeightMatrix& embd = model.token_embd();
    for (int64_t t = 0; t < T; ++t) {
      const auto* row = static_cast<const uint8_t*>(embd.data) + tokens[size_t(start + t)] * embd.row_bytes();
      tensor_to_f32(embd.type, row, s.x.data() + t * C, C);
    }
    for (int64_t t = 0; t < T; ++t)
      rope_tables(n_past_ + t, hd, c.rope_theta, s.cos2.data() + t * hd, s.sin2.data() + t * hd);

    for (int64_t li = 0; li < c.n_layers; ++li) {
      const LayerWeights& l = model.layers()[size_t(li)];
      float* k_cache = k_cache_[size_t(li)].get();
      float* v_cache = v_cache_[size_t(li)].get();

      // Attention block. Values are written straight into the cache rows of this
      // chunk's positions; keys go through k_new, get RoPE, and are stored
      // transposed (the cache's column n_past + t).
      for (int64_t t = 0; t < T; ++t) k.rmsnorm(s.x.data() + t * C, l.attn_norm, s.xn.data() + t * C, C, c.norm_eps);
      float* k_new = s.k_new.data();
      float* v_new = v_cache + n_past_ * K;
      LinearOutput qkv[] = {{&l.wq, s.q.data(), Q}, {&l.wk, k_new, K}, {&l.wv, v_new, K}};
      linear_forward(qkv, s.xn.data(), T, false, *pool_, k, s.tmp.data());
      lora(li, LoraTarget::Q, s.xn.data(), s.q.data(), Q);
      lora(li, LoraTarget::K, s.xn.data(), k_new, K);
      lora(li, LoraTarget::V, s.xn.data(), v_new, K);
      for (int64_t t = 0; t < T; ++t) {
        k.rope(s.q.data() + t * Q, c.n_heads, hd, s.cos2.data() + t * hd, s.sin2.data() + t * hd);
        k.rope(k_new + t * K, c.n_kv_heads, hd, s.cos2.data() + t * hd, s.sin2.data() + t * hd);
      }
      for (int64_t i = 0; i < K; ++i)
        for (int64_t t = 0; t < T; ++t) k_cache[i * key_stride_ + n_past_ + t] = k_new[t * K + i];
      attention(ctx, k_cache, v_cache, key_stride_);
      LinearOutput wo[] = {{&l.wo, s.x.data(), C}};
      linear_forward(wo, s.att.data(), T, true, *pool_, k, s.tmp.data());
      lora(li, LoraTarget::O, s.att.data(), s.x.data(), C);

      // Feed-forward block.
      for (int64_t t = 0; t < T; ++t) k.rmsnorm(s.x.data() + t * C, l.ffn_norm, s.xn.data() + t * C, C, c.norm_eps);
      feed_forward_hidden(ctx, l, adapter_ ? &adapter_->at(li, LoraTarget::Gate) : nullptr,
                          adapter_ ? &adapter_->at(li, LoraTarget::Up) : nullptr);
      LinearOutput down[] = {{&l.w_down, s.x.data(), C}};
      linear_forward(down, s.gate.data(), T, true, *pool_, k, s.tmp.data());
      lora(li, LoraTarget::Down, s.gate.data(), s.x.data(), C);
    }

    // Output head: every token of the chunk, or only the input's last token.
    const bool last_chunk = start + T == n;
    if (all_logits || last_chunk) {
      const int64_t first = all_logits ? 0 : T - 1, rows = T - first;
      for (int64_t t = first; t < T; ++t)
        k.rmsnorm(s.x.data() + t * C, model.output_norm(), s.xn.data() + t * C, C, c.norm_eps);
      float* out = all_logits ? logits_.data() + start * V : logits_.data();
      LinearOutput head[] = {{&model.output(), out, V}};
      linear_forward(head, s.xn.data() + first * C, rows, false, *pool_, k, s.tmp.data());
    }
    n_past_ += T;
  }
  ++n_forward_passes_;
  return logits_;
}

}  // namespace edgelm
