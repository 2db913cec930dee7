#include "model/model.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/numeric.h"
#include "quant/quant.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

Model::~Model() = default;

namespace {

bool is_float_type(TensorType t) { return t == TensorType::F32 || t == TensorType::F16 || t == TensorType::BF16; }

}  // namespace

void Model::bind(const std::vector<TensorSpec>& specs, const std::vector<WeightMatrix>& tensors, const std::string& where) {
  layers_.assign(size_t(config_.n_layers), LayerWeights{});
  weight_bytes_ = 0;
  auto norm_of = [&](const WeightMatrix& m, const std::string& name) {
    if (m.type != TensorType::F32) fail(where, ": norm tensor '", name, "' must be f32 here");
    return static_cast<const float*>(m.data);
  };
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const WeightMatrix& m = tensors[i];
    weight_bytes_ += m.n_bytes();
    if (spec.role != TensorRole::Norm && !is_float_type(m.type) && !is_quantized(m.type))
      fail(where, ": tensor '", spec.name, "' has type ", tensor_type_name(m.type), ", which inference cannot use");
    if (spec.role != TensorRole::Norm && is_quantized(m.type) && m.cols % tensor_type_info(m.type).block_size != 0)
      fail(where, ": tensor '", spec.name, "' is ", tensor_type_name(m.type), " but its rows (", m.cols,
           " values) are not whole blocks");
    if (spec.name == "token_embd.weight") { token_embd_ = m; continue; }
    if (spec.name == "output_norm.weight") { output_norm_ = norm_of(m, spec.name); continue; }
    if (spec.name == "output.weight") { output_ = m; continue; }
    LayerWeights& l = layers_[size_t(spec.layer)];
    std::string_view suffix = std::string_view(spec.name).substr(spec.name.find('.', 4) + 1);
    if (suffix == "attn_norm.weight") l.attn_norm = norm_of(m, spec.name);
    else if (suffix == "attn_q.weight") l.wq = m;
    else if (suffix == "attn_k.weight") l.wk = m;
    else if (suffix == "attn_v.weight") l.wv = m;
    else if (suffix == "attn_output.weight") l.wo = m;
    else if (suffix == "ffn_norm.weight") l.ffn_norm = norm_of(m, spec.name);
    else if (suffix == "ffn_gate.weight") l.w_gate = m;
    else if (suffix == "ffn_up.weight") l.w_up = m;
    else if (suffix == "ffn_down.weight") l.w_down = m;
    else fail(where, ": unexpected tensor '", spec.name, "'");
  }
  if (config_.tied_embeddings) output_ = token_embd_;
}

void Model::pack_weights() {
  if (const char* env = std::getenv("EDGELM_NO_REPACK"); env && std::string_view(env) == "1") return;
  const int64_t page = sysconf(_SC_PAGESIZE) > 0 ? sysconf(_SC_PAGESIZE) : 4096;
  auto pack = [&](WeightMatrix& m) {
    if (!m.data || !quant_packing_helps(m.type, m.rows)) return;
    std::vector<uint8_t> buf(size_t(m.n_bytes()));
    quant_pack(m.type, m.data, m.rows, m.cols, buf.data());
    m.packed = buf.data();
    owned_.push_back(std::move(buf));
    if (file_ && m.data != token_embd_.data) {  // the embedding rows are still looked up
      // The mapped original is not read again by the forward pass: give its
      // pages back, so that a repacked model is not resident twice. The map is
      // read-only, private and file-backed (MappedFile), never written, so a
      // later read simply faults them in again from the file.
      auto begin = reinterpret_cast<uintptr_t>(m.data), end = begin + uintptr_t(m.n_bytes());
      uintptr_t first = (begin + uintptr_t(page) - 1) / uintptr_t(page) * uintptr_t(page);
      uintptr_t last = end / uintptr_t(page) * uintptr_t(page);
      if (first < last) madvise(reinterpret_cast<void*>(first), last - first, MADV_DONTNEED);
    }
  };
  for (LayerWeights& l : layers_)
    for (WeightMatrix* m : {&l.wq, &l.wk, &l.wv, &l.wo, &l.w_gate, &l.w_up, &l.w_down}) pack(*m);
  // The head only: token_embd stays as stored for the row lookups.
  pack(output_);
}

std::shared_ptr<const Model> Model::load(const std::string& path) { return load(GgufFile::open(path)); }

std::shared_ptr<const Model> Model::load(GgufFile gguf) {
  std::shared_ptr<Model> model(new Model());
  model->file_ = std::make_unique<GgufFile>(std::move(gguf));
  const GgufFile& file = *model->file_;
  const std::string& path = file.path();
  model->config_ = read_model_config(file);
  std::vector<TensorSpec> specs = model_tensor_specs(model->config_);
  std::vector<WeightMatrix> tensors;
  for (const TensorSpec& spec : specs) {
    const GgufTensor* t = file.find_tensor(spec.name);
    if (!t) fail(path, ": tensor '", spec.name, "' is missing");
    if (t->ne != spec.ne) {
      fail(path, ": tensor '", spec.name, "' has shape [", t->ne[0], t->ne.size() > 1 ? cat(", ", t->ne[1]) : "",
           "], the config needs [", spec.ne[0], spec.ne.size() > 1 ? cat(", ", spec.ne[1]) : "", "]");
    }
    WeightMatrix m{t->type, t->data, spec.ne.size() > 1 ? spec.ne[1] : 1, spec.ne[0]};
    if (spec.role == TensorRole::Norm && t->type != TensorType::F32) {
      // Norm gains are tiny; files that store them in 16 bits get an f32 copy.
      std::vector<uint8_t> buf(size_t(spec.ne[0]) * 4);
      tensor_to_f32(t->type, t->data, reinterpret_cast<float*>(buf.data()), spec.ne[0]);
      m = {TensorType::F32, buf.data(), 1, spec.ne[0]};
      model->owned_.push_back(std::move(buf));
    }
    tensors.push_back(m);
  }
  model->bind(specs, tensors, path);
  model->pack_weights();
  if (gguf_has_tokenizer(file.metadata())) {
    model->tokenizer_ = std::make_unique<Tokenizer>(Tokenizer::from_gguf(file));
    if (model->tokenizer_->n_vocab() > model->config_.n_vocab)
      fail(path, ": the tokenizer has ", model->tokenizer_->n_vocab(), " tokens but the model only ", model->config_.n_vocab);
  }
  return model;
}

std::shared_ptr<const Model> Model::from_weights(const WeightsF32& weights, TensorType type) {
  weights.config.validate();
  if (!is_float_type(type) && !is_quantized(type)) fail("Model::from_weights: unsupported type ", tensor_type_name(type));
  std::shared_ptr<Model> model(new Model());
  model->config_ = weights.config;
  std::vector<TensorSpec> specs = model_tensor_specs(weights.config);
  if (specs.size() != weights.specs.size()) fail("Model::from_weights: the weights do not match their config");
  std::vector<WeightMatrix> tensors;
  model->owned_.reserve(specs.size());
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const std::vector<float>& src = weights.data[i];
    if (weights.specs[i].name != spec.name || int64_t(src.size()) != spec.n_elements())
      fail("Model::from_weights: tensor '", spec.name, "' does not match the config");
    int64_t cols = spec.ne[0], rows = spec.n_elements() / cols;
    TensorType t = spec.role == TensorRole::Norm ? TensorType::F32 : type;
    if (is_quantized(t) && cols % tensor_type_info(t).block_size != 0)
      fail("cannot store '", spec.name, "' as ", tensor_type_name(t), ": its rows of ", cols, " values are not whole blocks of ",
           tensor_type_info(t).block_size);
    int64_t row_bytes = tensor_row_bytes(t, cols);
    std::vector<uint8_t> buf(size_t(rows * row_bytes));
    for (int64_t r = 0; r < rows; ++r) {
      const float* in = src.data() + r * cols;
      uint8_t* out = buf.data() + r * row_bytes;
      switch (t) {
        case TensorType::F32: std::memcpy(out, in, size_t(cols) * 4); break;
        case TensorType::F16:
          for (int64_t c = 0; c < cols; ++c) reinterpret_cast<uint16_t*>(out)[c] = f32_to_f16(in[c]);
          break;
        case TensorType::BF16:
          for (int64_t c = 0; c < cols; ++c) reinterpret_cast<uint16_t*>(out)[c] = f32_to_bf16(in[c]);
          break;
        default: quantize_row(t, in, out, cols); break;
      }
    }
    tensors.push_back({t, buf.data(), rows, cols});
    model->owned_.push_back(std::move(buf));
  }
  model->bind(specs, tensors, "in-memory model");
  model->pack_weights();
  return model;
}

}  // namespace edgelm
