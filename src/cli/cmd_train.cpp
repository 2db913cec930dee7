// edgelm train --config FILE.toml [--set section.key=value ...] [--resume]
#include <atomic>
#include <csignal>
#include <algorithm>
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "platform/atomic_file.h"
#include "platform/dist.h"
#include "platform/error.h"
#include "training/trainer.h"

namespace edgelm::cli {
namespace cmd_train {

std::atomic<bool> g_stop{false};

extern "C" void on_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C kills at once
}

struct TrainCliOptions {
  std::string config, out, train, valid, tokenizer, init, mode;
  std::vector<std::string> sets;
  int64_t steps = 0, batch = 0, seq = 0;
  double lr = 0;
  int threads = 0;
  bool resume = false, quiet = false;
};

void run_train_here(const TrainCliOptions& o) {
  // Explicit flags are shorthands for --set and win over it.
  std::vector<std::string> overrides = o.sets;
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty()) overrides.push_back(cat(key, "=", value));
  };
  auto quoted = [](const std::string& s) { return s.empty() ? s : cat("\"", s, "\""); };
  add("mode", quoted(o.mode));
  add("out", quoted(o.out));
  add("data.train", quoted(o.train));
  add("data.valid", quoted(o.valid));
  add("data.tokenizer", quoted(o.tokenizer));
  add("model.init", quoted(o.init));
  if (o.steps) add("train.steps", cat(o.steps));
  if (o.batch) add("train.batch", cat(o.batch));
  if (o.seq) add("train.seq", cat(o.seq));
  if (o.threads) add("train.threads", cat(o.threads));
  if (o.lr > 0) add("optim.lr", cat(o.lr));
  training::TrainConfig config = o.config.empty() ? training::parse_train_config("", overrides, "command line")
                                                  : training::load_train_config(o.config, overrides);
  training::TrainOptions options;
  options.resume = o.resume;
  options.progress_bar = !o.quiet;
  options.stop = &g_stop;
  g_stop.store(false);
  auto previous = std::signal(SIGINT, on_sigint);
  training::TrainResult r;
  try {
    r = training::train_model(config, options);
  } catch (...) {
    std::signal(SIGINT, previous);
    throw;
  }
  std::signal(SIGINT, previous);
  if (!dist::is_root()) return;
  if (r.interrupted) {
    std::printf("interrupted at step %lld: checkpoint %s (continue with --resume)\n", (long long)r.steps_done,
                r.checkpoint_path.c_str());
    return;
  }
  std::printf("trained %lld steps (%lld tokens, %.1f s, %.0f tokens/s): loss %.4f", (long long)r.steps_done,
              (long long)r.tokens_seen, r.seconds, r.tokens_per_s, r.final_loss);
  if (r.valid_loss >= 0) std::printf(", validation loss %.4f", r.valid_loss);
  std::printf("\nmodel: %s\n", r.model_path.c_str());
  if (r.n_ranks > 1)
    std::printf("data parallel over %d processes: %.1f s of %.1f s (%.1f%%) blocked on the gradient all-reduce\n",
                r.n_ranks, r.comm_wait_seconds, r.loop_seconds, 100.0 * r.comm_wait_seconds / std::max(1e-9, r.loop_seconds));
}

// Under mpirun every rank runs this; an error on one rank ends them all (the others
// would wait for it forever in the next collective).
// Under `mpirun -np 1` MPI is started too, and must be finalised on every way out.
void run_train(const TrainCliOptions& o) {
  dist::init();
  try {
    run_train_here(o);
  } catch (const std::exception& e) {
    if (dist::size() == 1) {
      dist::finalize();
      throw;
    }
    std::fprintf(stderr, "edgelm: error (rank %d of %d): %s\n", dist::rank(), dist::size(), e.what());
    dist::abort_all(1);
  }
  dist::finalize();
}

void setup(CLI::App& app) {
  auto o = std::make_shared<TrainCliOptions>();
  CLI::App* cmd = app.add_subcommand("train", "Pretrain, fine-tune (SFT) or preference-train (DPO) a model from a TOML config (docs/TRAINING.md)");
  cmd->add_option("--config", o->config, "TOML config (keys: see src/training/train_config.h)");
  cmd->add_option("--set", o->sets, "override a config key: section.key=value (repeatable), e.g. optim.lr=3e-4");
  cmd->add_flag("--resume", o->resume, "continue bit-identically from <out>/checkpoint.gguf (a [lora] run: <out>/adapter-checkpoint.gguf)");
  cmd->add_option("--mode", o->mode, "pretrain, sft or dpo (= mode)");
  cmd->add_option("--out", o->out, "run folder (= out)");
  cmd->add_option("--train", o->train, "training token shard (= data.train)");
  cmd->add_option("--valid", o->valid, "validation token shard (= data.valid)");
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer GGUF (= data.tokenizer)");
  cmd->add_option("--init", o->init, "model GGUF to start from (= model.init; for dpo also the frozen reference unless model.reference is set)");
  cmd->add_option("--steps", o->steps, "optimiser steps (= train.steps)");
  cmd->add_option("--batch", o->batch, "sequences per micro-batch (= train.batch)");
  cmd->add_option("--seq", o->seq, "sequence length (= train.seq)");
  cmd->add_option("--lr", o->lr, "peak learning rate (= optim.lr)");
  cmd->add_option("--threads", o->threads, "threads (= train.threads; 0: all cores)");
  cmd->add_flag("--quiet", o->quiet, "no progress bar");
  cmd->callback([o] { run_train(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_train
}  // namespace edgelm::cli
