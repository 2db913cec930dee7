// edgelm convert: Hugging Face folder <-> GGUF model.
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "convert/hf.h"
#include "platform/error.h"

namespace edgelm::cli {
namespace cmd_convert {

struct ConvertOptions {
  std::string input, out, type, name;
  uint64_t max_shard_bytes = 0;
};

void run_convert(const ConvertOptions& o) {
  if (std::filesystem::is_directory(o.input)) {
    HfImportOptions options;
    if (!o.type.empty()) {
      options.type = tensor_type_from_name(o.type);
      if (!options.type) fail("convert: unknown --type '", o.type, "' (f32, f16 or bf16)");
    }
    options.model_name = o.name;
    HfImportSummary s = convert_hf_to_gguf(o.input, o.out, options);
    std::printf("wrote %s: %s; %lld tensors from %d safetensors file%s%s\n", o.out.c_str(), s.config.summary().c_str(),
                (long long)s.n_tensors, s.n_shards, s.n_shards == 1 ? "" : "s",
                s.has_tokenizer ? ", tokenizer from tokenizer.json" : ", no tokenizer.json (model without a vocabulary)");
    return;
  }
  if (!std::filesystem::exists(o.input)) fail("convert: ", o.input, " does not exist");
  if (!o.type.empty()) fail("convert: --type applies to Hugging Face -> GGUF; the export keeps the model's tensor types");
  convert_gguf_to_hf(o.input, o.out, {.max_shard_bytes = o.max_shard_bytes});
  std::printf("wrote %s/ (config.json, safetensors weights%s)\n", o.out.c_str(),
              std::filesystem::exists(o.out + "/tokenizer.json") ? ", tokenizer.json" : "");
}

void setup(CLI::App& app) {
  auto o = std::make_shared<ConvertOptions>();
  CLI::App* cmd = app.add_subcommand(
      "convert", "Hugging Face Llama folder -> GGUF model, or GGUF model -> Hugging Face folder (by what INPUT is)");
  cmd->add_option("input", o->input, "a Hugging Face folder (config.json, *.safetensors, tokenizer.json) or a .gguf model")
      ->required();
  cmd->add_option("-o,--out", o->out, "the GGUF file to write, or the new folder to write")->required();
  cmd->add_option("--type", o->type, "tensor type of the GGUF: f32, f16 or bf16 (default: as stored)");
  cmd->add_option("--name", o->name, "general.name of the GGUF (default: the folder's name)");
  cmd->add_option("--max-shard-bytes", o->max_shard_bytes, "export: split the weights into shards of at most this size");
  cmd->callback([o] { run_convert(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_convert
}  // namespace edgelm::cli
