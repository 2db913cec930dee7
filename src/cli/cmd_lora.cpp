// edgelm lora merge | info | import: LoRA adapters in llama.cpp's GGUF form.
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "convert/peft.h"
#include "model/lora.h"
#include "model/weights.h"
#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm::cli {
namespace cmd_lora {

struct MergeOptions {
  std::string model, adapter, out, type;
  float scale = 1.0f;
};

void run_merge(const MergeOptions& o) {
  GgufFile base = GgufFile::open(o.model);
  WeightsF32 w = load_weights_f32(base);
  const LoraAdapter adapter = load_lora_adapter(o.adapter, w.config);
  TensorType type = TensorType::F32;
  if (!o.type.empty()) {
    auto t = tensor_type_from_name(o.type);
    if (!t || (*t != TensorType::F32 && *t != TensorType::F16 && *t != TensorType::BF16))
      fail("lora merge: --type must be f32, f16 or bf16 (quantise the merged model afterwards)");
    type = *t;
  } else {
    // The base's own float type; a quantised base merges into f32 (quantise the result again).
    TensorType base_type = base.tensor("blk.0.attn_q.weight").type;
    if (base_type == TensorType::F16 || base_type == TensorType::BF16) type = base_type;
  }
  lora_merge(w, adapter, o.scale);
  // The base's other metadata (tokenizer, domain) goes with it; what describes the tensors is rewritten.
  GgufMetadata extra;
  for (const auto& [key, value] : base.metadata().entries())
    if (key != "general.file_type" && key != "general.name" && key != "general.quantization_version" &&
        key != "general.alignment")
      extra.set(key, value);
  const GgufValue* name = base.metadata().find("general.name");
  std::string merged_name = (name && name->type() == GgufType::STRING ? name->as_string() : std::string("edgelm")) + "+" +
                            (adapter.name.empty() ? "lora" : adapter.name);
  save_weights_gguf(o.out, w, type, &extra, merged_name);
  std::printf("wrote %s: %s merged with %s (%lld matrices, rank up to %lld, alpha %g, scale %g), %s\n", o.out.c_str(),
              o.model.c_str(), o.adapter.c_str(), (long long)adapter.n_matrices(), (long long)adapter.max_rank(),
              double(adapter.alpha), double(o.scale), std::string(tensor_type_name(type)).c_str());
}

void run_info(const std::string& path, const std::string& model) {
  GgufFile f = GgufFile::open(path);
  const ModelConfig c = read_model_config(GgufFile::open(model));
  const LoraAdapter a = lora_adapter_from_gguf(f, c);
  std::printf("adapter: %s (%s)\nalpha: %g\nmatrices: %lld, rank up to %lld, %lld parameters (%.1f KiB as f32)\n", path.c_str(),
              a.name.c_str(), double(a.alpha), (long long)a.n_matrices(), (long long)a.max_rank(), (long long)a.n_params(),
              double(a.n_params()) * 4 / 1024);
  for (size_t l = 0; l < a.layers.size(); ++l) {
    std::string line;
    for (int t = 0; t < kLoraTargets; ++t)
      if (a.layers[l][size_t(t)].present())
        line += cat(" ", lora_target_tensor(LoraTarget(t)), "(r", a.layers[l][size_t(t)].rank, ", s ",
                    a.scale_of(a.layers[l][size_t(t)]), ")");
    if (!line.empty()) std::printf("  blk.%zu:%s\n", l, line.c_str());
  }
}

struct ImportOptions {
  std::string peft, model, out;
};

void run_import(const ImportOptions& o) {
  const ModelConfig c = read_model_config(GgufFile::open(o.model));
  const LoraAdapter a = read_peft_adapter(o.peft, c);
  save_lora_adapter(o.out, a);
  std::printf("wrote %s: %s (%lld matrices, rank up to %lld, alpha %g) for %s\n", o.out.c_str(), o.peft.c_str(),
              (long long)a.n_matrices(), (long long)a.max_rank(), double(a.alpha), o.model.c_str());
}

void setup(CLI::App& app) {
  CLI::App* lora = command_group(app, "lora", "LoRA adapters (llama.cpp's GGUF form)");

  auto m = std::make_shared<MergeOptions>();
  CLI::App* merge = lora->add_subcommand("merge", "Write base + adapter as one model: W + scale * alpha/r * B A");
  merge->add_option("--model,-m", m->model, "the base model (GGUF)")->required();
  merge->add_option("--adapter,--lora", m->adapter, "the adapter (GGUF)")->required();
  merge->add_option("--out,-o", m->out, "the merged model to write")->required();
  merge->add_option("--scale", m->scale, "multiplies the adapter's alpha/rank scale")->capture_default_str();
  merge->add_option("--type", m->type, "f32, f16 or bf16 (default: the base's float type; f32 for a quantised base)");
  merge->callback([m] { run_merge(*m); });

  auto path = std::make_shared<std::string>();
  auto model = std::make_shared<std::string>();
  CLI::App* info = lora->add_subcommand("info", "Show an adapter's matrices, ranks and scales");
  info->add_option("adapter", *path, "the adapter (GGUF)")->required();
  info->add_option("--model,-m", *model, "the base model it is for")->required();
  info->callback([path, model] { run_info(*path, *model); });

  auto im = std::make_shared<ImportOptions>();
  CLI::App* import = lora->add_subcommand("import", "A PEFT LoRA folder (adapter_config.json + adapter_model.safetensors) -> GGUF adapter");
  import->add_option("--peft", im->peft, "the PEFT adapter folder")->required();
  import->add_option("--model,-m", im->model, "the base model it was trained on, as GGUF (edgelm convert of the HF folder)")->required();
  import->add_option("--out,-o", im->out, "the adapter to write (GGUF, llama.cpp's form)")->required();
  import->callback([im] { run_import(*im); });
}

CommandRegistration reg(setup);

}  // namespace cmd_lora
}  // namespace edgelm::cli
