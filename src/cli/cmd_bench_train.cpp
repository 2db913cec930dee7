// edgelm bench train --shape S1|S2|S3 --batch B --seq T [--bf16] [--recompute] [--lora-rank R] [--threads N] [--steps N]
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "training/bench.h"

namespace edgelm::cli {
namespace cmd_bench_train {

void setup(CLI::App& app) {
  auto o = std::make_shared<training::TrainBenchOptions>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("train", "Forward + backward + AdamW steps on random tokens (last line: JSON)");
  cmd->add_option("--shape", o->shape, "model shape: tiny, S1, S2, S3")->capture_default_str();
  cmd->add_option("--batch", o->batch, "sequences per step")->capture_default_str();
  cmd->add_option("--seq", o->seq, "sequence length")->capture_default_str();
  cmd->add_option("--steps", o->steps, "timed steps (after one warm-up step)")->capture_default_str();
  cmd->add_option("--threads", o->threads, "threads (0: EDGELM_THREADS or all cores)");
  cmd->add_flag("--bf16", o->bf16, "bf16 compute (fp32 master weights)");
  cmd->add_flag("--recompute", o->recompute, "recompute layer activations in the backward pass (less memory)");
  cmd->add_option("--lora-rank", o->lora_rank, "train a LoRA adapter of this rank on q, k, v, o over the frozen base (0: full)")
      ->capture_default_str();
  cmd->callback([o] {
    nlohmann::json r = training::bench_train(*o);
    std::printf("train %s, batch %lld x %lld, %d threads (%s): %.3f s/step, %.0f tokens/s, %.1f GFLOP/s, peak RSS %.1f MiB\n",
                o->shape.c_str(), (long long)o->batch, (long long)o->seq, r["threads"].get<int>(),
                r["isa"].get<std::string>().c_str(), r["step_seconds"].get<double>(), r["tokens_per_s"].get<double>(),
                r["gflops"].get<double>(), double(r["peak_rss_bytes"].get<int64_t>()) / (1 << 20));
    std::printf("%s\n", r.dump().c_str());
  });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_train
}  // namespace edgelm::cli
