#include "model/config.h"

#include <cmath>
#include <limits>

#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm {

int64_t ModelConfig::n_params() const {
  int64_t per_layer = 2 * dim                       // attn_norm, ffn_norm
                      + dim * q_dim() * 2           // wq, wo
                      + dim * kv_dim() * 2          // wk, wv
                      + 3 * dim * ffn_dim;          // gate, up, down
  int64_t n = n_vocab * dim + n_layers * per_layer + dim;
  if (!tied_embeddings) n += n_vocab * dim;
  return n;
}

void ModelConfig::validate() const {
  auto positive = [](int64_t v, const char* name) {
    if (v <= 0) fail("model config: ", name, " must be positive (got ", v, ")");
  };
  positive(n_vocab, "vocab size");
  positive(dim, "dim");
  positive(n_layers, "layers");
  positive(n_heads, "heads");
  positive(n_kv_heads, "kv heads");
  positive(head_dim, "head dim");
  positive(ffn_dim, "ffn dim");
  positive(context_length, "context length");
  if (n_heads % n_kv_heads != 0) fail("model config: heads (", n_heads, ") must be a multiple of kv heads (", n_kv_heads, ")");
  if (head_dim % 2 != 0) fail("model config: head dim (", head_dim, ") must be even for rotary embeddings");
  if (sliding_window < 0) fail("model config: sliding window must be 0 (off) or positive");
  if (!(rope_theta > 0)) fail("model config: rope theta must be positive");
  if (!(norm_eps > 0)) fail("model config: norm eps must be positive");
  // Bounds far past any real model that keep every product of sizes (n_params, tensor shapes) inside int64.
  if (n_vocab > (int64_t(1) << 31) || dim > (1 << 20) || n_layers > 4096 || ffn_dim > (1 << 22) || context_length > (1 << 24) ||
      n_heads > 4096 || head_dim > (1 << 14))
    fail("model config: absurd size (vocab ", n_vocab, ", dim ", dim, ", layers ", n_layers, ", heads ", n_heads, ", head dim ",
         head_dim, ", ffn ", ffn_dim, ", context ", context_length, ")");
}

std::string ModelConfig::summary() const {
  return cat("dim ", dim, ", layers ", n_layers, ", heads ", n_heads, "/", n_kv_heads, " kv, head dim ", head_dim, ", ffn ",
             ffn_dim, ", vocab ", n_vocab, ", context ", context_length, ", rope theta ", rope_theta, ", eps ", norm_eps,
             tied_embeddings ? ", tied" : ", untied", sliding_window ? cat(", window ", sliding_window) : "",
             " — ", n_params(), " parameters");
}

void ModelConfig::write_to(GgufMetadata& meta) const {
  meta.set("general.architecture", GgufValue::string("llama"));
  meta.set("llama.vocab_size", GgufValue::u32(uint32_t(n_vocab)));
  meta.set("llama.context_length", GgufValue::u32(uint32_t(context_length)));
  meta.set("llama.embedding_length", GgufValue::u32(uint32_t(dim)));
  meta.set("llama.block_count", GgufValue::u32(uint32_t(n_layers)));
  meta.set("llama.feed_forward_length", GgufValue::u32(uint32_t(ffn_dim)));
  meta.set("llama.attention.head_count", GgufValue::u32(uint32_t(n_heads)));
  meta.set("llama.attention.head_count_kv", GgufValue::u32(uint32_t(n_kv_heads)));
  meta.set("llama.attention.key_length", GgufValue::u32(uint32_t(head_dim)));
  meta.set("llama.attention.value_length", GgufValue::u32(uint32_t(head_dim)));
  meta.set("llama.rope.dimension_count", GgufValue::u32(uint32_t(head_dim)));
  meta.set("llama.rope.freq_base", GgufValue::f32(rope_theta));
  meta.set("llama.attention.layer_norm_rms_epsilon", GgufValue::f32(norm_eps));
  if (sliding_window > 0) meta.set("llama.attention.sliding_window", GgufValue::u32(uint32_t(sliding_window)));
}

ModelConfig ModelConfig::read_from(const GgufMetadata& meta) {
  const std::string& arch = meta.at("general.architecture").as_string("general.architecture");
  if (arch != "llama") fail("architecture '", arch, "' is not supported (edgelm runs the llama family)");
  auto get = [&](const char* key) { return meta.at(key).as_int(key); };
  auto get_or = [&](const char* key, int64_t def) {
    const GgufValue* v = meta.find(key);
    return v ? v->as_int(key) : def;
  };
  ModelConfig c;
  c.dim = get("llama.embedding_length");
  c.n_layers = get("llama.block_count");
  c.ffn_dim = get("llama.feed_forward_length");
  c.n_heads = get("llama.attention.head_count");
  c.n_kv_heads = get_or("llama.attention.head_count_kv", c.n_heads);
  c.context_length = get_or("llama.context_length", 2048);
  c.head_dim = get_or("llama.attention.key_length", c.n_heads > 0 ? c.dim / c.n_heads : 0);
  c.n_vocab = get_or("llama.vocab_size", 0);
  if (c.n_vocab == 0) {
    if (const GgufValue* tokens = meta.find("tokenizer.ggml.tokens")) c.n_vocab = int64_t(tokens->as_array().size());
  }
  // A double outside float's range does not convert (undefined behaviour): refused by name instead.
  auto get_float = [&](const char* key, float def) {
    const GgufValue* v = meta.find(key);
    if (!v) return def;
    double x = v->as_float(key);
    if (!(std::fabs(x) <= double(std::numeric_limits<float>::max()))) fail("metadata key ", key, ": ", x, " is not a float");
    return float(x);
  };
  c.rope_theta = get_float("llama.rope.freq_base", c.rope_theta);
  c.norm_eps = get_float("llama.attention.layer_norm_rms_epsilon", c.norm_eps);
  c.sliding_window = get_or("llama.attention.sliding_window", 0);
  return c;
}

ModelConfig model_shape(const std::string& name) {
  ModelConfig c;
  if (name == "tiny") {
    c = {.n_vocab = 512, .dim = 64, .n_layers = 2, .n_heads = 4, .n_kv_heads = 2, .head_dim = 16, .ffn_dim = 192,
         .context_length = 256};
  } else if (name == "S1") {
    c = {.n_vocab = 8192, .dim = 256, .n_layers = 8, .n_heads = 8, .n_kv_heads = 4, .head_dim = 32, .ffn_dim = 768,
         .context_length = 1024};
  } else if (name == "S2") {
    c = {.n_vocab = 16384, .dim = 384, .n_layers = 12, .n_heads = 6, .n_kv_heads = 2, .head_dim = 64, .ffn_dim = 1024,
         .context_length = 1024};
  } else if (name == "S3") {
    c = {.n_vocab = 49152, .dim = 576, .n_layers = 30, .n_heads = 9, .n_kv_heads = 3, .head_dim = 64, .ffn_dim = 1536,
         .context_length = 2048, .rope_theta = 100000.0f};
  } else {
    fail("unknown model shape '", name, "' (known: tiny, S1, S2, S3)");
  }
  return c;
}

std::vector<std::string> model_shape_names() { return {"tiny", "S1", "S2", "S3"}; }

}  // namespace edgelm
