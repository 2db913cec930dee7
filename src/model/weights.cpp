#include "model/weights.h"

#include <cmath>
#include <cstring>

#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/numeric.h"
#include "platform/random.h"
#include "quant/quant.h"

namespace edgelm {

float* WeightsF32::find(const std::string& name) {
  for (size_t i = 0; i < specs.size(); ++i)
    if (specs[i].name == name) return data[i].data();
  return nullptr;
}

const float* WeightsF32::find(const std::string& name) const { return const_cast<WeightsF32*>(this)->find(name); }

WeightsF32 init_random_weights(const ModelConfig& config, uint64_t seed) {
  config.validate();
  WeightsF32 w;
  w.config = config;
  w.specs = model_tensor_specs(config);
  Rng rng(seed);
  const float residual_scale = 1.0f / std::sqrt(2.0f * float(config.n_layers));
  for (const auto& spec : w.specs) {
    std::vector<float> buf(size_t(spec.n_elements()));
    if (spec.role == TensorRole::Norm) {
      std::fill(buf.begin(), buf.end(), 1.0f);
    } else {
      bool residual = spec.name.find("attn_output") != std::string::npos || spec.name.find("ffn_down") != std::string::npos;
      float std = 0.02f * (residual ? residual_scale : 1.0f);
      for (auto& x : buf) x = float(rng.normal()) * std;
    }
    w.data.push_back(std::move(buf));
  }
  return w;
}

void tensor_to_f32(TensorType type, const void* src, float* dst, int64_t n) {
  switch (type) {
    case TensorType::F32: std::memcpy(dst, src, size_t(n) * 4); break;
    case TensorType::F16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(h[i]);
      break;
    }
    case TensorType::BF16: {
      const auto* h = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(h[i]);
      break;
    }
    default: dequantize_row(type, src, dst, n); break;
  }
}

ModelConfig read_model_config(const GgufFile& file) {
  ModelConfig c = ModelConfig::read_from(file.metadata());
  c.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  if (c.n_vocab == 0) {
    if (const GgufTensor* t = file.find_tensor("token_embd.weight"); t && t->ne.size() == 2) c.n_vocab = t->ne[1];
  }
  try {
    c.validate();
  } catch (const Error& e) {
    fail(file.path(), ": ", e.what());
  }
  return c;
}

WeightsF32 load_weights_f32(const GgufFile& file) {
  WeightsF32 w;
  w.config = read_model_config(file);
  w.specs = model_tensor_specs(w.config);
  for (const auto& spec : w.specs) {
    const GgufTensor& t = file.tensor(spec.name);
    if (t.ne != spec.ne) {
      fail(file.path(), ": tensor '", spec.name, "' has shape [", cat(t.ne[0], t.ne.size() > 1 ? cat(", ", t.ne[1]) : ""),
           "], the config needs [", cat(spec.ne[0], spec.ne.size() > 1 ? cat(", ", spec.ne[1]) : ""), "]");
    }
    std::vector<float> buf(size_t(spec.n_elements()));
    tensor_to_f32(t.type, t.data, buf.data(), spec.n_elements());
    w.data.push_back(std::move(buf));
  }
  return w;
}

void save_weights_gguf(const std::string& path, const WeightsF32& w, TensorType type, const GgufMetadata* extra,
                       const std::string& model_name) {
  if (type != TensorType::F32 && type != TensorType::F16 && type != TensorType::BF16)
    fail("save_weights_gguf: type ", tensor_type_name(type), " is not a float type (use `edgelm quantize`)");
  GgufWriter writer;
  writer.metadata().set("general.name", GgufValue::string(model_name));
  // general.file_type as llama.cpp numbers it: 0 all f32, 1 mostly f16, 32 mostly bf16.
  uint32_t file_type = type == TensorType::F32 ? 0 : type == TensorType::F16 ? 1 : 32;
  writer.metadata().set("general.file_type", GgufValue::u32(file_type));
  w.config.write_to(writer.metadata());
  if (extra)
    for (const auto& [k, v] : extra->entries()) writer.metadata().set(k, v);
  gguf_mark_no_vocabulary(writer.metadata());
  for (size_t i = 0; i < w.specs.size(); ++i) {
    const auto& spec = w.specs[i];
    const std::vector<float>& src = w.data[i];
    TensorType t = spec.role == TensorRole::Norm ? TensorType::F32 : type;
    if (t == TensorType::F32) {
      writer.add_tensor_view(spec.name, t, spec.ne, src.data(), src.size() * 4);
    } else {
      std::vector<uint16_t> half(src.size());
      for (size_t j = 0; j < src.size(); ++j) half[j] = t == TensorType::F16 ? f32_to_f16(src[j]) : f32_to_bf16(src[j]);
      writer.add_tensor(spec.name, t, spec.ne, half.data(), half.size() * 2);
    }
  }
  writer.write(path);
}

}  // namespace edgelm
