// edgelm bench decode: prompt-processing and decoding speed of a model file or
// of a reference shape with random weights built in memory. The last line of
// output is one JSON object for scripts.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <sys/resource.h>

#include "cli/command.h"
#include "kernels/bandwidth.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "model/sampler.h"
#include "model/session.h"
#include "platform/error.h"
#include "platform/process_stats.h"
#include "platform/random.h"
#include "platform/thread_pool.h"

namespace edgelm::cli {
namespace cmd_bench_decode {

struct BenchOptions {
  std::string model, shape, type = "f32";
  int threads = 0;
  int prompt_tokens = 512;
  int decode_tokens = 64;
  int runs = 3;
  uint64_t seed = 1;
  double bandwidth_gbs = 0;  // 0: measured on this machine
};

// CPU time of the whole process (all threads, user + system).
double process_cpu_seconds() {
  struct rusage u {};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void run_bench(const BenchOptions& o) {
  if (o.model.empty() == o.shape.empty()) fail("give exactly one of --model and --shape");
  if (o.prompt_tokens < 1 || o.decode_tokens < 1 || o.runs < 1) fail("--prompt, --decode and --runs must be positive");
  if (!(o.bandwidth_gbs >= 0)) fail("--bandwidth must be a positive figure in GB/s, or 0 to measure it (got ", o.bandwidth_gbs, ")");
  auto type = tensor_type_from_name(o.type);
  if (!type) fail("unknown type '", o.type, "' (f32, f16, bf16, q8_0, q5_0, q4_0)");

  auto build_start = std::chrono::steady_clock::now();
  std::shared_ptr<const Model> model;
  std::string source;
  if (!o.model.empty()) {
    model = Model::load(o.model);
    source = o.model;
  } else {
    WeightsF32 w = init_random_weights(model_shape(o.shape), o.seed);
    model = Model::from_weights(w, *type);
    source = cat("shape ", o.shape, " (random ", o.type, ")");
  }
  double build_s = seconds_since(build_start);
  bool peak_reset = reset_peak_rss();

  const ModelConfig& c = model->config();
  ThreadPool pool(o.threads);
  const int64_t context = std::min<int64_t>(c.context_length, o.prompt_tokens + o.decode_tokens + 8);
  if (o.prompt_tokens + o.decode_tokens > context)
    fail("--prompt + --decode (", o.prompt_tokens + o.decode_tokens, ") exceed the model's context (", c.context_length, ")");
  InferenceSession session(model, context, &pool);
  Rng rng(o.seed);
  std::vector<int32_t> prompt(size_t(o.prompt_tokens));
  for (auto& id : prompt) id = int32_t(rng.below(uint64_t(c.n_vocab)));
  Sampler sampler(SamplerConfig{});

  // Warm-up: touches the weights (page faults of the map, caches) and the pool.
  session.eval(std::span(prompt).first(std::min<size_t>(prompt.size(), 16)));
  for (int i = 0; i < 4; ++i) session.eval(std::span(prompt).subspan(size_t(i) % prompt.size(), 1));
  session.truncate(0);

  // Each figure is the best of `runs`, as the machine is shared and noisy.
  double best_prompt = 0, best_decode = 0, best_decode_after = 0, decode_cpu_per_token = 0;
  std::vector<double> prompt_runs, decode_runs;
  for (int run = 0; run < o.runs; ++run) {
    // Decoding from an empty context, as llama-bench's "tg".
    session.truncate(0);
    int32_t id = prompt[0];
    auto t0 = std::chrono::steady_clock::now();
    double cpu0 = process_cpu_seconds();
    for (int i = 0; i < o.decode_tokens; ++i) id = sampler.sample(session.eval({&id, 1}));
    double decode_tps = o.decode_tokens / seconds_since(t0);
    decode_runs.push_back(decode_tps);
    if (decode_tps > best_decode) decode_cpu_per_token = (process_cpu_seconds() - cpu0) / o.decode_tokens;
    best_decode = std::max(best_decode, decode_tps);

    // The prompt in one batched pass, then decoding after it.
    session.truncate(0);
    t0 = std::chrono::steady_clock::now();
    id = sampler.sample(session.eval(prompt));
    double prompt_tps = o.prompt_tokens / seconds_since(t0);
    prompt_runs.push_back(prompt_tps);
    best_prompt = std::max(best_prompt, prompt_tps);
    t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < o.decode_tokens; ++i) id = sampler.sample(session.eval({&id, 1}));
    best_decode_after = std::max(best_decode_after, o.decode_tokens / seconds_since(t0));
  }

  const int64_t model_bytes = model->weight_bytes();
  const int64_t peak_rss = peak_rss_bytes();  // before the bandwidth probe's buffer
  // The bound: the model's bytes streamed once per token at this machine's read
  // bandwidth for a buffer of that size (its cache level or DRAM), unless given.
  const bool measured = o.bandwidth_gbs <= 0;
  const double bandwidth = measured ? measure_read_bandwidth(model_bytes, pool).gb_per_s : o.bandwidth_gbs;
  const double bound = bandwidth * 1e9 / double(model_bytes);
  std::printf("model: %s — %s\n", source.c_str(), c.summary().c_str());
  std::printf("kernels: %s, threads: %d, weights: %.1f MiB (built in %.1f s)\n", isa_name(kernels().isa), pool.size(),
              double(model_bytes) / (1 << 20), build_s);
  std::printf("prompt (%d tokens): %.1f tokens/s\n", o.prompt_tokens, best_prompt);
  std::printf("decode (%d tokens, empty context): %.1f tokens/s = %.0f%% of the bandwidth bound (%.1f tokens/s at %.1f GB/s, %s)\n",
              o.decode_tokens, best_decode, 100 * best_decode / bound, bound, bandwidth,
              measured ? "measured on a buffer of the model's size" : "given");
  std::printf("decode (%d tokens after the prompt): %.1f tokens/s\n", o.decode_tokens, best_decode_after);
  nlohmann::json j = {
      {"benchmark", "decode"},
      {"model", source},
      {"type", o.model.empty() ? o.type : "file"},
      {"isa", isa_name(kernels().isa)},
      {"threads", pool.size()},
      {"n_params", c.n_params()},
      {"model_bytes", model_bytes},
      {"prompt_tokens", o.prompt_tokens},
      {"prompt_tokens_per_s", best_prompt},
      {"prompt_runs_tokens_per_s", prompt_runs},
      {"decode_tokens", o.decode_tokens},
      {"decode_tokens_per_s", best_decode},
      {"decode_runs_tokens_per_s", decode_runs},
      {"decode_after_prompt_tokens_per_s", best_decode_after},
      // CPU seconds per decoded token over all threads (spin-waiting included): on a
      // busy machine, threads / this estimates the rate the process would get alone.
      {"decode_cpu_s_per_token", decode_cpu_per_token},
      {"bandwidth_gb_per_s", bandwidth},
      {"bandwidth_measured", measured},
      {"decode_bandwidth_bound_tokens_per_s", bound},
      {"decode_fraction_of_bound", best_decode / bound},
      {"peak_rss_bytes", peak_rss},
      {"peak_rss_covers", peak_reset ? "inference only" : "whole process"},
      {"load_average_1m", load_average()},
  };
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("decode", "Prompt and decode speed (last line: JSON)");
  cmd->add_option("--model", o->model, "GGUF model file");
  cmd->add_option("--shape", o->shape, "reference shape with random weights: S1, S2, S3 (or tiny)");
  cmd->add_option("--type", o->type, "weight type for --shape: f32, f16, bf16, q8_0, q5_0, q4_0")->capture_default_str();
  cmd->add_option("--threads,-t", o->threads, "threads (0: all cores)")->capture_default_str();
  cmd->add_option("--prompt", o->prompt_tokens, "prompt tokens")->capture_default_str();
  cmd->add_option("--decode", o->decode_tokens, "tokens to decode per run")->capture_default_str();
  cmd->add_option("--runs", o->runs, "repetitions (the best is reported)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "seed of the random weights and prompt")->capture_default_str();
  cmd->add_option("--bandwidth", o->bandwidth_gbs, "read bandwidth in GB/s for the decode bound (0: measure it on a buffer of the model's size)")->capture_default_str();
  cmd->callback([o] { run_bench(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_decode
}  // namespace edgelm::cli
