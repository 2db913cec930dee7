// edgelm base --corpus runs/corpus/corpus.jsonl [--out runs/base] [--steps N] ...
//
// The shared base model that `edgelm demo --base OUT/base.gguf` fine-tunes
// (src/pipeline/base_model.h, docs/PRETRAINING.md).
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "pipeline/base_model.h"

namespace edgelm::cli {
namespace cmd_base {

void setup(CLI::App& app) {
  auto o = std::make_shared<BaseOptions>();
  CLI::App* cmd = app.add_subcommand("base", "Pretrain the shared base model (general tokenizer + pretraining on the corpus) that demo --base fine-tunes");
  cmd->add_option("--corpus", o->corpus, "corpus.jsonl (scripts/build-corpus)")->required();
  cmd->add_option("--out", o->out_dir, "run folder (base.gguf, base.json, manifest.json)")->capture_default_str();
  cmd->add_option("--domain", o->domains, "domains whose examples the tokenizer also learns (repeatable; default: the built-in ones)");
  cmd->add_option("--steps", o->steps, "pretraining steps")->capture_default_str();
  cmd->add_option("--batch", o->batch, "sequences per step")->capture_default_str();
  cmd->add_option("--seq", o->seq_len, "tokens per sequence")->capture_default_str();
  cmd->add_option("--lr", o->learning_rate, "peak learning rate")->capture_default_str();
  cmd->add_option("--vocab-size", o->vocab_size, "tokenizer vocabulary")->capture_default_str();
  cmd->add_option("--reserved", o->n_reserved, "reserved special tokens for the devices' functions and placeholders")->capture_default_str();
  cmd->add_option("--dim", o->dim, "model dimension (the demo's shape)")->capture_default_str();
  cmd->add_option("--layers", o->layers, "layers")->capture_default_str();
  cmd->add_option("--domain-examples", o->domain_examples, "examples generated per domain for the tokenizer")->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads (0: all cores)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed")->capture_default_str();
  cmd->add_flag("--force", o->force, "redo every stage");
  cmd->add_flag("--quiet", o->quiet, "no stage lines or progress bars");
  cmd->callback([o] {
    nlohmann::json s = run_base(*o);
    std::printf("base model: %s/base.gguf (%lld parameters, %lld pretraining steps, %.0f s; all stages %.0f s)\n",
                o->out_dir.c_str(), (long long)s["pretrain"].value("n_params", int64_t(0)),
                (long long)s["pretrain"].value("steps", int64_t(0)), s["pretrain"].value("seconds", 0.0),
                s.value("seconds_all_stages", 0.0));
  });
}

CommandRegistration reg(setup);

}  // namespace cmd_base
}  // namespace edgelm::cli
