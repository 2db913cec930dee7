// edgelm bench quant: the quantised matmul kernels alone, on the weight
// matrices of a reference shape (random weights). "decode" runs every matrix
// of the model once per token with one token (what a decode step multiplies),
// "prompt" the same with a batch of tokens; both report tokens/s of the
// matmuls alone and the weight bytes streamed per second. --kernels instead
// times each instruction set's kernel on one ffn_gate matrix, in the calling
// thread's CPU time, which a loaded machine inflates far less than wall time.
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "model/config.h"
#include "platform/error.h"
#include "platform/random.h"
#include "platform/thread_pool.h"
#include "quant/blocks.h"
#include "quant/kernels.h"
#include "quant/quant.h"

namespace edgelm::cli {
namespace cmd_bench_quant {

struct BenchQuantArgs {
  std::string shape = "S1", type = "q8_0";
  int64_t prompt = 512;
  double seconds = 1.0;
  int threads = 0;
  bool kernels = false;
};

struct Matrix {
  int64_t rows, cols;
  std::vector<uint8_t> data;
};

// The matrices of one decode step: per layer q, k, v, o, gate, up, down, then the head.
std::vector<Matrix> model_matrices(const ModelConfig& c, TensorType type, Rng& rng) {
  std::vector<std::pair<int64_t, int64_t>> shapes;
  int64_t q = c.n_heads * c.head_dim, kv = c.n_kv_heads * c.head_dim;
  for (int64_t l = 0; l < c.n_layers; ++l) {
    for (auto s : {std::pair{q, c.dim}, {kv, c.dim}, {kv, c.dim}, {c.dim, q}, {c.ffn_dim, c.dim}, {c.ffn_dim, c.dim},
                   {c.dim, c.ffn_dim}})
      shapes.push_back(s);
  }
  shapes.push_back({c.n_vocab, c.dim});
  std::vector<Matrix> out;
  std::vector<float> row;
  for (auto [rows, cols] : shapes) {
    Matrix m{rows, cols, std::vector<uint8_t>(size_t(rows * tensor_row_bytes(type, cols)))};
    row.resize(size_t(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = float(rng.normal()) * 0.02f;
      quantize_row(type, row.data(), m.data.data() + r * tensor_row_bytes(type, cols), cols);
    }
    out.push_back(std::move(m));
  }
  return out;
}

// Tokens per second of running every matrix on n_tokens tokens, repeated for about `seconds`.
double run_steps(const std::vector<Matrix>& ms, TensorType type, int64_t n_tokens, double seconds, ThreadPool& pool) {
  int64_t max_dim = 0;
  for (const auto& m : ms) max_dim = std::max({max_dim, m.rows, m.cols});
  std::vector<float> x(size_t(n_tokens * max_dim), 0.5f), y(size_t(n_tokens * max_dim));
  Rng rng(1);
  for (auto& v : x) v = float(rng.normal());
  auto step = [&] {
    for (const auto& m : ms) quant_matmul(type, m.data.data(), m.rows, m.cols, x.data(), y.data(), n_tokens, pool);
  };
  step();  // warm the caches and the activation scratch
  auto start = std::chrono::steady_clock::now();
  int64_t steps = 0;
  double elapsed = 0;
  do {
    step();
    ++steps;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return double(steps * n_tokens) / elapsed;
}

double thread_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Every supported ISA's GEMM on the shape's ffn_gate matrix (ffn_dim x dim), 1 token and a batch.
void run_kernels(const BenchQuantArgs& a, TensorType type, const ModelConfig& c) {
  const int64_t rows = c.ffn_dim, cols = c.dim, n_blocks = cols / 32;
  Rng rng(7);
  std::vector<float> row(static_cast<size_t>(cols));
  const int64_t row_bytes = tensor_row_bytes(type, cols);
  std::vector<uint8_t> w(size_t(rows * row_bytes));
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : row) v = float(rng.normal());
    quantize_row(type, row.data(), w.data() + r * row_bytes, cols);
  }
  std::vector<uint8_t> packed(w.size());
  if (quant::packable_x8(type, rows)) quant::pack_rows_x8(type, w.data(), rows, cols, packed.data());
  nlohmann::json results = nlohmann::json::array();
  for (int64_t n_tokens : {int64_t(1), int64_t(64)}) {
    std::vector<float> x(size_t(n_tokens * cols));
    for (auto& v : x) v = float(rng.normal());
    std::vector<int8_t> qs(size_t(n_tokens * cols));
    std::vector<float> d(size_t(n_tokens * n_blocks)), y(size_t(n_tokens * rows));
    std::vector<int32_t> sums(size_t(n_tokens * n_blocks));
    quant::ActivationsQ8 act{n_tokens, n_blocks, qs.data(), d.data(), sums.data()};
    quant::quantize_activations_ref(x.data(), cols, act, 0, n_tokens);
    // The ggml layout through every ISA, then the row-interleaved x8 layout
    // where an ISA has a kernel for it (what the model uses when it can).
    for (bool x8 : {false, true}) {
      for (Isa isa : isa_available()) {
        const quant::IsaKernels* kernels = quant::kernels_for(isa);
        if (!kernels) continue;
        quant::GemmFn gemm = x8 ? kernels->gemm_x8(type) : kernels->gemm(type);
        if (!gemm || (x8 && !quant::packable_x8(type, rows))) continue;
        const uint8_t* wp = x8 ? packed.data() : w.data();
        gemm(wp, row_bytes, 0, rows, act, 0, n_tokens, y.data(), rows, false);
        double start = thread_cpu_seconds(), elapsed = 0;
        int64_t reps = 0;
        do {
          gemm(wp, row_bytes, 0, rows, act, 0, n_tokens, y.data(), rows, false);
          ++reps;
          elapsed = thread_cpu_seconds() - start;
        } while (elapsed < a.seconds / 6);
        double per_call = elapsed / double(reps);
        double ns_per_block = per_call * 1e9 / double(rows * n_blocks * n_tokens);
        double gmacs = double(rows * cols * n_tokens) / per_call / 1e9;
        std::printf("%-5s %-11s %-4s tokens %3lld: %7.2f ns per block x token, %6.1f GMAC/s per thread\n", a.type.c_str(),
                    kernels->name, x8 ? "x8" : "ggml", (long long)n_tokens, ns_per_block, gmacs);
        results.push_back({{"isa", kernels->name}, {"layout", x8 ? "x8" : "ggml"}, {"n_tokens", n_tokens},
                           {"ns_per_block_token", ns_per_block}, {"gmac_per_s", gmacs}});
      }
    }
  }
  nlohmann::json j = {{"bench", "quant_kernels"}, {"shape", a.shape}, {"type", a.type}, {"rows", rows}, {"cols", cols},
                      {"clock", "thread_cpu_time"}, {"results", results}};
  std::printf("%s\n", j.dump().c_str());
}

void run(const BenchQuantArgs& a) {
  auto type = tensor_type_from_name(a.type);
  if (!type || !is_quantized(*type)) fail("--type '", a.type, "': expected q8_0, q5_0 or q4_0");
  ModelConfig c = model_shape(a.shape);
  if (a.kernels) {
    run_kernels(a, *type, c);
    return;
  }
  Rng rng(42);
  std::vector<Matrix> ms = model_matrices(c, *type, rng);
  int64_t bytes = 0;
  for (const auto& m : ms) bytes += int64_t(m.data.size());
  ThreadPool pool(a.threads > 0 ? a.threads : 0);
  double decode = run_steps(ms, *type, 1, a.seconds, pool);
  double prompt = run_steps(ms, *type, a.prompt, a.seconds, pool);
  std::printf("shape %s, %s, isa %s, %d threads: weights %.2f MiB\n", a.shape.c_str(), a.type.c_str(),
              quant::active_kernels().name, pool.size(), double(bytes) / (1 << 20));
  std::printf("decode matmuls: %.0f tok/s (%.1f GB/s of weights)\n", decode, decode * double(bytes) / 1e9);
  std::printf("prompt %lld matmuls: %.0f tok/s\n", (long long)a.prompt, prompt);
  nlohmann::json j = {{"bench", "quant"},
                      {"shape", a.shape},
                      {"type", a.type},
                      {"isa", quant::active_kernels().name},
                      {"threads", pool.size()},
                      {"weight_bytes", bytes},
                      {"decode_matmul_tok_s", decode},
                      {"decode_weight_gb_s", decode * double(bytes) / 1e9},
                      {"prompt_tokens", a.prompt},
                      {"prompt_matmul_tok_s", prompt}};
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<BenchQuantArgs>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("quant", "Quantised matmul kernels alone on a reference shape's matrices");
  cmd->add_option("--shape", a->shape, "S1, S2 or S3")->capture_default_str();
  cmd->add_option("--type", a->type, "q8_0, q5_0 or q4_0")->capture_default_str();
  cmd->add_option("--prompt", a->prompt, "tokens per batch in the prompt run")->capture_default_str();
  cmd->add_option("--seconds", a->seconds, "time per measurement")->capture_default_str();
  cmd->add_option("--threads", a->threads, "threads (0: EDGELM_THREADS or all cores)")->capture_default_str();
  cmd->add_flag("--kernels", a->kernels, "time each instruction set's kernel on one matrix (thread CPU time)");
  cmd->callback([a] { run(*a); });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_quant
}  // namespace edgelm::cli
