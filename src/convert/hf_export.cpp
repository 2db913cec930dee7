// A GGUF model -> a Hugging Face Llama folder.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>

#include <nlohmann/json.hpp>

#include "convert/hf.h"
#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/safetensors.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

namespace {
namespace fs = std::filesystem;
}

void convert_gguf_to_hf(const std::string& gguf_path, const std::string& folder, const HfExportOptions& options) {
  GgufFile file = GgufFile::open(gguf_path);
  const ModelConfig c = read_model_config(file);
  std::optional<Tokenizer> tokenizer;
  if (gguf_has_tokenizer(file.metadata())) tokenizer = Tokenizer::from_gguf(file);
  // Everything that can fail is checked before the folder is touched.
  std::string tokenizer_json;
  if (tokenizer) {
    try {
      tokenizer_json = tokenizer->to_hf_json();
    } catch (const Error& e) {
      fail(gguf_path, ": ", e.what());
    }
  }
  if (fs::exists(folder) && (!fs::is_directory(folder) || !fs::is_empty(folder)))
    fail(folder, ": exists and is not an empty folder (the export writes a new Hugging Face folder)");

  const std::vector<TensorSpec> specs = model_tensor_specs(c);
  std::vector<std::vector<uint8_t>> permuted(specs.size());
  struct Out {
    std::string hf_name;
    TensorType type;
    std::vector<int64_t> shape;
    const uint8_t* data;
    uint64_t n_bytes;
  };
  std::vector<Out> outs;
  for (size_t i = 0; i < specs.size(); ++i) {
    const TensorSpec& spec = specs[i];
    const GgufTensor& t = file.tensor(spec.name);
    if (t.ne != spec.ne) fail(gguf_path, ": tensor '", spec.name, "' does not have the shape its config needs");
    if (t.type != TensorType::F32 && t.type != TensorType::F16 && t.type != TensorType::BF16)
      fail(gguf_path, ": tensor '", spec.name, "' is ", tensor_type_name(t.type),
           "; a Hugging Face export needs F32, F16 or BF16 weights (export the model from before `edgelm quantize`)");
    const uint8_t* data = t.data;
    const bool is_q = spec.name.ends_with(".attn_q.weight"), is_k = spec.name.ends_with(".attn_k.weight");
    if (is_q || is_k) {
      permuted[i].resize(t.n_bytes);
      permute_rope_rows(t.data, permuted[i].data(), is_q ? c.n_heads : c.n_kv_heads, c.head_dim,
                        tensor_row_bytes(t.type, spec.ne[0]), false);
      data = permuted[i].data();
    }
    outs.push_back({hf_tensor_name(spec), t.type, std::vector<int64_t>(spec.ne.rbegin(), spec.ne.rend()), data, t.n_bytes});
  }

  // Shards in tensor order, each closed before it would pass the limit.
  std::vector<std::vector<size_t>> shards(1);
  uint64_t shard_bytes = 0, total_bytes = 0;
  for (size_t i = 0; i < outs.size(); ++i) {
    if (options.max_shard_bytes > 0 && !shards.back().empty() && shard_bytes + outs[i].n_bytes > options.max_shard_bytes) {
      shards.emplace_back();
      shard_bytes = 0;
    }
    shards.back().push_back(i);
    shard_bytes += outs[i].n_bytes;
    total_bytes += outs[i].n_bytes;
  }

  fs::create_directories(folder);
  nlohmann::ordered_json weight_map = nlohmann::ordered_json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    char shard_name[64];
    std::snprintf(shard_name, sizeof shard_name, "model-%05zu-of-%05zu.safetensors", s + 1, shards.size());
    const std::string name = shards.size() == 1 ? "model.safetensors" : shard_name;
    SafetensorsWriter writer;
    writer.set_metadata("format", "pt");  // transformers refuses safetensors without it
    for (size_t i : shards[s]) {
      writer.add_tensor_view(outs[i].hf_name, outs[i].type, outs[i].shape, outs[i].data, outs[i].n_bytes);
      weight_map[outs[i].hf_name] = name;
    }
    writer.write(folder + "/" + name);
  }
  if (shards.size() > 1) {
    nlohmann::ordered_json index;
    index["metadata"] = {{"total_size", total_bytes}};
    index["weight_map"] = std::move(weight_map);
    write_file_atomic(folder + "/model.safetensors.index.json", index.dump(2) + "\n");
  }
  write_file_atomic(folder + "/config.json", hf_config_to_json(c, file.tensor("token_embd.weight").type, tokenizer ? &*tokenizer : nullptr));
  if (tokenizer) {
    write_file_atomic(folder + "/tokenizer.json", tokenizer_json);
    nlohmann::ordered_json tc;
    tc["tokenizer_class"] = "PreTrainedTokenizerFast";
    if (tokenizer->bos_id() >= 0) tc["bos_token"] = tokenizer->token_text(tokenizer->bos_id());
    if (tokenizer->eos_id() >= 0) tc["eos_token"] = tokenizer->token_text(tokenizer->eos_id());
    if (tokenizer->pad_id() >= 0) tc["pad_token"] = tokenizer->token_text(tokenizer->pad_id());
    tc["model_max_length"] = c.context_length;
    tc["clean_up_tokenization_spaces"] = false;
    write_file_atomic(folder + "/tokenizer_config.json", tc.dump(2) + "\n");
  }
}

}  // namespace edgelm
