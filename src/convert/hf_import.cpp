// A Hugging Face Llama folder -> a GGUF model.
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "convert/hf.h"
#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/json.h"
#include "platform/numeric.h"
#include "platform/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

namespace {

namespace fs = std::filesystem;

// Tensors a checkpoint may hold that the model recomputes or does not use.
bool ignorable_tensor(const std::string& name, bool tied) {
  return name.ends_with(".rotary_emb.inv_freq") || (tied && name == "lm_head.weight");
}

// The weight files of a folder: model.safetensors, or the shards its index lists.
struct Checkpoint {
  std::vector<SafetensorsFile> shards;
  std::map<std::string, std::pair<const SafetensorsTensor*, std::string>> tensors;  // name -> (tensor, its file)
};

void open_checkpoint(const std::string& folder, Checkpoint& ck) {
  const std::string single = folder + "/model.safetensors", index = folder + "/model.safetensors.index.json";
  std::vector<std::string> files;
  std::map<std::string, std::string> index_map;  // tensor -> file, from the index
  if (fs::exists(index)) {
    nlohmann::json j = parse_json(read_file(index), index);
    if (!j.is_object() || !j.contains("weight_map") || !j["weight_map"].is_object())
      fail(index, ": no \"weight_map\" object");
    for (const auto& [tensor, file] : j["weight_map"].items()) {
      if (!file.is_string()) fail(index, ": weight_map entry '", tensor, "' is not a file name");
      std::string f = file.get<std::string>();
      // Shards sit beside the index; a path elsewhere is refused rather than followed.
      if (f.empty() || f.find('/') != std::string::npos || f == "." || f == "..")
        fail(index, ": weight_map entry '", tensor, "' names '", f, "', not a file in the folder");
      if (std::find(files.begin(), files.end(), f) == files.end()) files.push_back(f);
      index_map[tensor] = f;
    }
    if (files.empty()) fail(index, ": weight_map is empty");
  } else if (fs::exists(single)) {
    files.push_back("model.safetensors");
  } else {
    fail(folder, ": no model.safetensors or model.safetensors.index.json (edgelm reads safetensors weights only; "
                 "pytorch_model.bin must be converted to safetensors first)");
  }
  ck.shards.reserve(files.size());
  for (const std::string& f : files) {
    const std::string path = folder + "/" + f;
    if (!fs::exists(path)) fail(folder, ": weight file ", f, " is missing", index_map.empty() ? "" : " (listed in model.safetensors.index.json)");
    ck.shards.push_back(SafetensorsFile::open(path));
    for (const SafetensorsTensor& t : ck.shards.back().tensors()) {
      auto [it, inserted] = ck.tensors.try_emplace(t.name, &t, f);
      if (!inserted) fail(folder, ": tensor '", t.name, "' is in both ", it->second.second, " and ", f);
    }
  }
  for (const auto& [tensor, f] : index_map) {
    auto it = ck.tensors.find(tensor);
    if (it == ck.tensors.end() || it->second.second != f)
      fail(index, ": lists tensor '", tensor, "' in ", f, ", which does not hold it", it == ck.tensors.end() ? "" : cat(" (", it->second.second, " does)"));
  }
}

std::vector<uint8_t> convert_tensor(TensorType from, const uint8_t* src, int64_t n, TensorType to) {
  std::vector<uint8_t> out(size_t(n * tensor_type_info(to).block_bytes));
  if (from == to) {
    std::copy(src, src + out.size(), out.begin());
    return out;
  }
  std::vector<float> f(static_cast<size_t>(n));
  tensor_to_f32(from, src, f.data(), n);
  auto* h = reinterpret_cast<uint16_t*>(out.data());
  switch (to) {
    case TensorType::F32: std::memcpy(out.data(), f.data(), out.size()); break;
    case TensorType::F16: for (int64_t i = 0; i < n; ++i) h[i] = f32_to_f16(f[size_t(i)]); break;
    case TensorType::BF16: for (int64_t i = 0; i < n; ++i) h[i] = f32_to_bf16(f[size_t(i)]); break;
    default: fail("convert: ", tensor_type_name(to), " is not a float type");
  }
  return out;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += cat(i ? ", " : "", shape[i]);
  return s + "]";
}

}  // namespace

HfImportSummary convert_hf_to_gguf(const std::string& folder, const std::string& gguf_path, const HfImportOptions& options) {
  if (!fs::is_directory(folder)) fail(folder, ": not a folder (a Hugging Face model folder holds config.json and model.safetensors)");
  if (options.type && *options.type != TensorType::F32 && *options.type != TensorType::F16 && *options.type != TensorType::BF16)
    fail("convert: --type must be f32, f16 or bf16 (quantise the result with `edgelm quantize`)");
  const std::string config_path = folder + "/config.json";
  if (!fs::exists(config_path)) fail(folder, ": config.json is missing");
  Checkpoint ck;
  open_checkpoint(folder, ck);

  HfImportSummary summary;
  summary.n_shards = int(ck.shards.size());
  ModelConfig& c = summary.config;
  c = hf_config_from_json(read_file(config_path), config_path, ck.tensors.count("lm_head.weight") > 0);
  const std::vector<TensorSpec> specs = model_tensor_specs(c);

  std::vector<std::vector<uint8_t>> buffers;
  std::vector<TensorType> types;
  std::set<std::string> used;
  TensorType main_type = TensorType::F32;
  for (const TensorSpec& spec : specs) {
    const std::string hf = hf_tensor_name(spec);
    auto it = ck.tensors.find(hf);
    if (it == ck.tensors.end()) fail(folder, ": tensor '", hf, "' is missing (edgelm's ", spec.name, ")");
    const SafetensorsTensor& t = *it->second.first;
    const std::string where = folder + "/" + it->second.second;
    std::vector<int64_t> expected(spec.ne.rbegin(), spec.ne.rend());  // PyTorch lists the contiguous dimension last
    if (t.shape != expected)
      fail(where, ": tensor '", hf, "' has shape ", shape_text(t.shape), ", config.json needs ", shape_text(expected));
    const TensorType from = t.float_type(where);
    const TensorType to = spec.role == TensorRole::Norm ? TensorType::F32 : options.type.value_or(from);
    if (spec.name == "token_embd.weight") main_type = to;
    std::vector<uint8_t> bytes = convert_tensor(from, t.data, t.n_elements(), to);
    const bool is_q = spec.name.ends_with(".attn_q.weight"), is_k = spec.name.ends_with(".attn_k.weight");
    if (is_q || is_k) {
      std::vector<uint8_t> permuted(bytes.size());
      permute_rope_rows(bytes.data(), permuted.data(), is_q ? c.n_heads : c.n_kv_heads, c.head_dim,
                        tensor_row_bytes(to, spec.ne[0]), true);
      bytes = std::move(permuted);
    }
    buffers.push_back(std::move(bytes));
    types.push_back(to);
    used.insert(hf);
  }
  for (const auto& [name, entry] : ck.tensors)
    if (!used.count(name) && !ignorable_tensor(name, c.tied_embeddings))
      fail(folder, "/", entry.second, ": tensor '", name, "' is not part of edgelm's Llama model (biases, extra norms or "
           "another architecture's weights would be lost)");

  GgufWriter writer;
  fs::path folder_path = fs::path(folder).lexically_normal();
  if (folder_path.filename().empty()) folder_path = folder_path.parent_path();  // "dir/"
  writer.metadata().set("general.name",
                        GgufValue::string(options.model_name.empty() ? folder_path.filename().string() : options.model_name));
  // general.file_type as llama.cpp numbers it: 0 all f32, 1 mostly f16, 32 mostly bf16.
  writer.metadata().set("general.file_type",
                        GgufValue::u32(main_type == TensorType::F32 ? 0 : main_type == TensorType::F16 ? 1 : 32));
  c.write_to(writer.metadata());
  const std::string tokenizer_path = folder + "/tokenizer.json";
  if (fs::exists(tokenizer_path)) {
    Tokenizer tok = Tokenizer::from_hf_json(tokenizer_path);
    if (tok.n_vocab() > c.n_vocab)
      fail(tokenizer_path, ": ", tok.n_vocab(), " tokens, but config.json's vocab_size is ", c.n_vocab);
    tok.write_to(writer.metadata());
    summary.has_tokenizer = true;
  }
  gguf_mark_no_vocabulary(writer.metadata());
  for (size_t i = 0; i < specs.size(); ++i)
    writer.add_tensor_view(specs[i].name, types[i], specs[i].ne, buffers[i].data(), buffers[i].size());
  writer.write(gguf_path);
  summary.n_tensors = int64_t(specs.size());
  return summary;
}

}  // namespace edgelm
