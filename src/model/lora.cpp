#include "model/lora.h"

#include <algorithm>
#include <map>

#include "kernels/kernels.h"
#include "model/linear.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"

namespace edgelm {

namespace {

struct TargetInfo {
  LoraTarget target;
  const char* tensor;  // GGUF name inside a block
  const char* shorter;
  const char* peft;    // Hugging Face module name
};
constexpr TargetInfo kTargets[kLoraTargets] = {
    {LoraTarget::Q, "attn_q", "q", "q_proj"},           {LoraTarget::K, "attn_k", "k", "k_proj"},
    {LoraTarget::V, "attn_v", "v", "v_proj"},           {LoraTarget::O, "attn_output", "o", "o_proj"},
    {LoraTarget::Gate, "ffn_gate", "gate", "gate_proj"}, {LoraTarget::Up, "ffn_up", "up", "up_proj"},
    {LoraTarget::Down, "ffn_down", "down", "down_proj"},
};

// "blk.N.<tensor>.weight" -> (N, target); nullopt for anything else.
std::optional<std::pair<int64_t, LoraTarget>> parse_base_name(const std::string& name) {
  if (!name.starts_with("blk.") || !name.ends_with(".weight")) return std::nullopt;
  size_t dot = name.find('.', 4);
  if (dot == std::string::npos || dot == 4 || dot - 4 > 6) return std::nullopt;
  int64_t layer = 0;
  for (size_t i = 4; i < dot; ++i) {
    if (name[i] < '0' || name[i] > '9') return std::nullopt;
    layer = layer * 10 + (name[i] - '0');
  }
  std::string_view tensor = std::string_view(name).substr(dot + 1, name.size() - dot - 1 - 7);
  for (const TargetInfo& t : kTargets)
    if (tensor == t.tensor) return std::pair{layer, t.target};
  return std::nullopt;
}

}  // namespace

const char* lora_target_tensor(LoraTarget t) { return kTargets[int(t)].tensor; }

std::optional<LoraTarget> lora_target_from_name(std::string_view name) {
  for (const TargetInfo& t : kTargets)
    if (name == t.tensor || name == t.shorter || name == t.peft) return t.target;
  return std::nullopt;
}

std::pair<int64_t, int64_t> lora_target_shape(const ModelConfig& c, LoraTarget t) {
  switch (t) {
    case LoraTarget::Q: return {c.q_dim(), c.dim};
    case LoraTarget::K: case LoraTarget::V: return {c.kv_dim(), c.dim};
    case LoraTarget::O: return {c.dim, c.q_dim()};
    case LoraTarget::Gate: case LoraTarget::Up: return {c.ffn_dim, c.dim};
    case LoraTarget::Down: return {c.dim, c.ffn_dim};
  }
  return {0, 0};
}

int64_t LoraAdapter::n_params() const {
  int64_t n = 0;
  for (const auto& layer : layers)
    for (const LoraMatrix& m : layer) n += m.rank * (m.in + m.out);
  return n;
}

int64_t LoraAdapter::max_rank() const {
  int64_t r = 0;
  for (const auto& layer : layers)
    for (const LoraMatrix& m : layer) r = std::max(r, m.rank);
  return r;
}

int64_t LoraAdapter::n_matrices() const {
  int64_t n = 0;
  for (const auto& layer : layers)
    for (const LoraMatrix& m : layer) n += m.present();
  return n;
}

LoraAdapter load_lora_adapter(const std::string& path, const ModelConfig& base) {
  return lora_adapter_from_gguf(GgufFile::open(path), base);
}

LoraAdapter lora_adapter_from_gguf(const GgufFile& file, const ModelConfig& base) {
  const std::string& path = file.path();
  const GgufMetadata& meta = file.metadata();
  auto string_key = [&](const char* key) {
    const GgufValue* v = meta.find(key);
    if (!v) fail(path, ": metadata key ", key, " is missing (not a LoRA adapter file?)");
    return v->as_string(key);
  };
  if (string_key("general.type") != "adapter")
    fail(path, ": general.type is '", string_key("general.type"), "', not 'adapter' (is this a model rather than an adapter?)");
  if (string_key("adapter.type") != "lora") fail(path, ": adapter.type is '", string_key("adapter.type"), "', not 'lora'");
  if (string_key("general.architecture") != "llama")
    fail(path, ": the adapter is for architecture '", string_key("general.architecture"), "', the base is 'llama'");
  LoraAdapter adapter;
  if (const GgufValue* alpha = meta.find("adapter.lora.alpha")) {
    double a = alpha->as_float("adapter.lora.alpha");
    if (!(a >= 0 && a < 1e9)) fail(path, ": adapter.lora.alpha ", a, " is not a usable scale");
    adapter.alpha = float(a);
  }
  if (const GgufValue* name = meta.find("general.name"); name && name->type() == GgufType::STRING) adapter.name = name->as_string();
  adapter.layers.resize(size_t(base.n_layers));

  // Pair the tensors up by the base tensor they change.
  std::map<std::string, std::pair<const GgufTensor*, const GgufTensor*>> pairs;
  for (const GgufTensor& t : file.tensors()) {
    const bool is_a = t.name.ends_with(".lora_a"), is_b = t.name.ends_with(".lora_b");
    if (!is_a && !is_b) fail(path, ": tensor '", t.name, "' is neither a .lora_a nor a .lora_b tensor");
    auto& p = pairs[t.name.substr(0, t.name.size() - 7)];
    (is_a ? p.first : p.second) = &t;
  }
  if (pairs.empty()) fail(path, ": the adapter has no tensors");
  for (const auto& [base_name, p] : pairs) {
    if (!p.first || !p.second) fail(path, ": '", base_name, "' has a .lora_", p.first ? "a" : "b", " tensor but no .lora_", p.first ? "b" : "a");
    auto target = parse_base_name(base_name);
    if (!target) fail(path, ": '", base_name, "' is not a block matrix edgelm adapts (attn_q/k/v/output, ffn_gate/up/down)");
    auto [layer, which] = *target;
    if (layer >= base.n_layers) fail(path, ": '", base_name, "' is past the base model's ", base.n_layers, " blocks");
    auto [out, in] = lora_target_shape(base, which);
    const GgufTensor& a = *p.first;
    const GgufTensor& b = *p.second;
    if (a.ne.size() != 2 || b.ne.size() != 2 || a.ne[0] != in || b.ne[1] != out)
      fail(path, ": '", base_name, "' lora_a/lora_b have the wrong shape for the base (", out, " x ", in, ")");
    if (a.ne[1] != b.ne[0]) fail(path, ": '", base_name, "': lora_a has rank ", a.ne[1], " but lora_b ", b.ne[0]);
    const int64_t rank = a.ne[1];
    if (rank <= 0 || rank > std::min(in, out)) fail(path, ": '", base_name, "' has rank ", rank, " (1..", std::min(in, out), ")");
    LoraMatrix& m = adapter.at(layer, which);
    m.rank = rank;
    m.in = in;
    m.out = out;
    m.a.resize(size_t(rank * in));
    m.b.resize(size_t(out * rank));
    for (auto [t, dst] : {std::pair{&a, &m.a}, std::pair{&b, &m.b}}) {
      if (t->type != TensorType::F32 && t->type != TensorType::F16 && t->type != TensorType::BF16)
        fail(path, ": tensor '", t->name, "' is ", tensor_type_name(t->type), " (adapters are F32, F16 or BF16)");
      tensor_to_f32(t->type, t->data, dst->data(), int64_t(dst->size()));
    }
  }
  return adapter;
}

void save_lora_adapter(const std::string& path, const LoraAdapter& adapter) {
  GgufWriter w;
  w.metadata().set("general.architecture", GgufValue::string("llama"));
  w.metadata().set("general.type", GgufValue::string("adapter"));
  w.metadata().set("general.name", GgufValue::string(adapter.name.empty() ? "edgelm-lora" : adapter.name));
  w.metadata().set("adapter.type", GgufValue::string("lora"));
  // llama.cpp reads the key as f32 only.
  w.metadata().set("adapter.lora.alpha", GgufValue::f32(adapter.alpha));
  for (size_t l = 0; l < adapter.layers.size(); ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      const LoraMatrix& m = adapter.layers[l][size_t(t)];
      if (!m.present()) continue;
      const std::string base = layer_tensor_name(int(l), lora_target_tensor(LoraTarget(t)));
      w.add_tensor_view(base + ".lora_a", TensorType::F32, {m.in, m.rank}, m.a.data(), m.a.size() * 4);
      w.add_tensor_view(base + ".lora_b", TensorType::F32, {m.rank, m.out}, m.b.data(), m.b.size() * 4);
    }
  if (w.n_tensors() == 0) fail("save_lora_adapter: the adapter changes no matrix");
  w.write(path);
}

void lora_merge(WeightsF32& weights, const LoraAdapter& adapter, float user_scale) {
  if (int64_t(adapter.layers.size()) != weights.config.n_layers)
    fail("lora merge: the adapter has ", adapter.layers.size(), " blocks, the model ", weights.config.n_layers);
  for (size_t l = 0; l < adapter.layers.size(); ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      const LoraMatrix& m = adapter.layers[l][size_t(t)];
      if (!m.present()) continue;
      float* w = weights.find(layer_tensor_name(int(l), lora_target_tensor(LoraTarget(t))));
      if (!w) fail("lora merge: the model has no ", layer_tensor_name(int(l), lora_target_tensor(LoraTarget(t))));
      const float s = user_scale * adapter.scale_of(m);
      // The sum over r in double, so that merging does not round more than the product does.
      for (int64_t o = 0; o < m.out; ++o)
        for (int64_t i = 0; i < m.in; ++i) {
          double d = 0;
          for (int64_t r = 0; r < m.rank; ++r) d += double(m.b[size_t(o * m.rank + r)]) * m.a[size_t(r * m.in + i)];
          w[o * m.in + i] += float(s * d);
        }
    }
}

void lora_forward(const LoraMatrix& m, float scale, const float* x, int64_t n_tokens, float* y, int64_t ldy, float* tmp,
                  ThreadPool& pool, const Kernels& k) {
  if (!m.present() || scale == 0.0f) return;
  const WeightMatrix a = m.a_view(), b = m.b_view();
  LinearOutput down[] = {{&a, tmp, m.rank}};
  linear_forward(down, x, n_tokens, false, pool, k, nullptr);
  for (int64_t i = 0; i < n_tokens * m.rank; ++i) tmp[i] *= scale;
  LinearOutput up[] = {{&b, y, ldy}};
  linear_forward(up, tmp, n_tokens, true, pool, k, nullptr);
}

}  // namespace edgelm
