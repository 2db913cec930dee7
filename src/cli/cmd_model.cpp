// edgelm model init | info
#include <cinttypes>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "model/weights.h"
#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm::cli {
namespace cmd_model {

struct InitOptions {
  std::string shape = "S1", out, type = "f32";
  uint64_t seed = 0;
  int64_t dim = 0, layers = 0, heads = 0, kv_heads = 0, head_dim = 0, ffn = 0, vocab = 0, context = 0, window = 0;
  float rope_theta = 0;
  bool untied = false;
};

void run_init(const InitOptions& o) {
  ModelConfig c = model_shape(o.shape == "custom" ? "tiny" : o.shape);
  if (o.dim) c.dim = o.dim;
  if (o.layers) c.n_layers = o.layers;
  if (o.heads) c.n_heads = o.heads;
  if (o.kv_heads) c.n_kv_heads = o.kv_heads;
  if (o.head_dim) c.head_dim = o.head_dim;
  else if (o.dim || o.heads) c.head_dim = c.dim / c.n_heads;
  if (!o.kv_heads && o.heads && c.n_heads % c.n_kv_heads) c.n_kv_heads = c.n_heads;
  if (o.ffn) c.ffn_dim = o.ffn;
  if (o.vocab) c.n_vocab = o.vocab;
  if (o.context) c.context_length = o.context;
  if (o.window) c.sliding_window = o.window;
  if (o.rope_theta > 0) c.rope_theta = o.rope_theta;
  if (o.untied) c.tied_embeddings = false;
  auto type = tensor_type_from_name(o.type);
  if (!type) fail("unknown type '", o.type, "' (f32, f16 or bf16)");
  WeightsF32 w = init_random_weights(c, o.seed);
  save_weights_gguf(o.out, w, *type, nullptr, cat("edgelm-random-", o.shape));
  std::printf("wrote %s: %s\n", o.out.c_str(), c.summary().c_str());
}

void run_info(const std::string& path) {
  GgufFile f = GgufFile::open(path);
  std::printf("file: %s (GGUF v%u, %" PRIu64 " bytes, alignment %" PRIu64 ")\n", path.c_str(), f.version(), f.file_size(),
              f.alignment());
  if (f.metadata().contains("general.architecture")) {
    ModelConfig c = read_model_config(f);
    std::printf("config: %s\n", c.summary().c_str());
  }
  std::printf("metadata (%zu keys):\n", f.metadata().size());
  for (const auto& [key, value] : f.metadata().entries()) {
    std::string shown;
    switch (value.type()) {
      case GgufType::STRING: shown = cat('"', value.as_string().substr(0, 60), value.as_string().size() > 60 ? "…" : "", '"'); break;
      case GgufType::ARRAY: shown = cat("[", value.as_array().size(), " × ", gguf_type_name(value.as_array().elem_type), "]"); break;
      case GgufType::FLOAT32: case GgufType::FLOAT64: shown = cat(value.as_float()); break;
      case GgufType::BOOL: shown = value.as_bool() ? "true" : "false"; break;
      default: shown = cat(value.as_int());
    }
    std::printf("  %-44s %s\n", key.c_str(), shown.c_str());
  }
  uint64_t total = 0;
  std::printf("tensors (%zu):\n", f.tensors().size());
  for (const auto& t : f.tensors()) {
    std::string shape;
    for (size_t i = 0; i < t.ne.size(); ++i) shape += cat(i ? " × " : "", t.ne[i]);
    std::printf("  %-32s %-6s %-18s %12" PRIu64 " bytes\n", t.name.c_str(), std::string(tensor_type_name(t.type)).c_str(),
                shape.c_str(), t.n_bytes);
    total += t.n_bytes;
  }
  std::printf("tensor data: %" PRIu64 " bytes (%.2f MiB)\n", total, double(total) / (1 << 20));
}

void setup(CLI::App& app) {
  CLI::App* model = command_group(app, "model", "Create and inspect model files");

  auto o = std::make_shared<InitOptions>();
  CLI::App* init = model->add_subcommand("init", "Write a random-initialised model (GGUF)");
  init->add_option("--shape", o->shape, "S1, S2, S3, tiny, or custom (starts from tiny; override with the flags below)")
      ->capture_default_str();
  init->add_option("--out", o->out, "output GGUF file")->required();
  init->add_option("--type", o->type, "tensor type: f32, f16 or bf16")->capture_default_str();
  init->add_option("--seed", o->seed, "random seed")->capture_default_str();
  init->add_option("--dim", o->dim, "model dimension");
  init->add_option("--layers", o->layers, "number of blocks");
  init->add_option("--heads", o->heads, "attention heads");
  init->add_option("--kv-heads", o->kv_heads, "key/value heads (grouped-query attention)");
  init->add_option("--head-dim", o->head_dim, "dimension per head (default dim / heads)");
  init->add_option("--ffn", o->ffn, "SwiGLU hidden dimension");
  init->add_option("--vocab", o->vocab, "vocabulary size");
  init->add_option("--context", o->context, "context length");
  init->add_option("--sliding-window", o->window, "attention window (0: full causal attention)");
  init->add_option("--rope-theta", o->rope_theta, "RoPE base frequency");
  init->add_flag("--untied", o->untied, "separate output head instead of tied embeddings");
  init->callback([o] { run_init(*o); });

  auto path = std::make_shared<std::string>();
  CLI::App* info = model->add_subcommand("info", "Print a GGUF file's config, metadata and tensor table");
  info->add_option("file", *path, "GGUF file")->required();
  info->callback([path] { run_info(*path); });
}

CommandRegistration reg(setup);

}  // namespace cmd_model
}  // namespace edgelm::cli
