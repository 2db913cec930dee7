// edgelm quantize --model IN --type q8_0|q5_0|q4_0 --out OUT
#include <cstdio>
#include <memory>

#include "cli/command.h"
#include "platform/error.h"
#include "platform/thread_pool.h"
#include "quant/quant.h"
#include "quant/quantize_file.h"

namespace edgelm::cli {
namespace cmd_quantize {

struct QuantizeArgs {
  std::string model, out, type, output_type, embedding_type;
  bool allow_requantize = false, quiet = false, verbose = false;
};

TensorType parse_type(const std::string& name, const char* flag, bool quantised_only) {
  auto type = tensor_type_from_name(name);
  if (!type || (quantised_only && !is_quantized(*type)))
    fail(flag, " '", name, "': expected ", quantised_only ? "q8_0, q5_0 or q4_0" : "f32, f16, bf16, q8_0, q5_0 or q4_0");
  return *type;
}

double mib(uint64_t bytes) { return double(bytes) / (1 << 20); }

void run(const QuantizeArgs& a) {
  QuantizeFileOptions o;
  o.type = parse_type(a.type, "--type", true);
  if (!a.output_type.empty()) o.output_type = parse_type(a.output_type, "--output-type", false);
  if (!a.embedding_type.empty()) o.embedding_type = parse_type(a.embedding_type, "--embedding-type", false);
  o.allow_requantize = a.allow_requantize;
  o.progress = !a.quiet;
  QuantizeFileReport r = quantize_file(a.model, a.out, o, default_thread_pool());
  if (a.verbose) {
    for (const auto& t : r.tensors)
      std::printf("  %-32s %-5s -> %-5s %10.3f -> %10.3f MiB\n", t.name.c_str(), std::string(tensor_type_name(t.from)).c_str(),
                  std::string(tensor_type_name(t.to)).c_str(), mib(t.bytes_before), mib(t.bytes_after));
  }
  std::printf("quantized %d tensors to %s (%d kept at float precision) in %.2f s\n", r.n_quantized, a.type.c_str(),
              r.n_kept, r.seconds);
  std::printf("tensor data: %.2f MiB -> %.2f MiB (%.2fx smaller)\n", mib(r.tensor_bytes_before),
              mib(r.tensor_bytes_after), double(r.tensor_bytes_before) / double(std::max<uint64_t>(r.tensor_bytes_after, 1)));
  std::printf("file: %s %.2f MiB -> %s %.2f MiB\n", a.model.c_str(), mib(r.file_bytes_before), a.out.c_str(),
              mib(r.file_bytes_after));
}

void setup(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* cmd = app.add_subcommand("quantize", "Quantise a GGUF model (F32/F16/BF16) to Q8_0, Q5_0 or Q4_0");
  cmd->add_option("--model", a->model, "input GGUF model")->required();
  cmd->add_option("--type", a->type, "q8_0, q5_0 or q4_0")->required();
  cmd->add_option("--out", a->out, "output GGUF file (written atomically)")->required();
  cmd->add_option("--output-type", a->output_type,
                  "type of the output head (token_embd.weight when tied): f32, f16, bf16, q8_0, q5_0, q4_0 (default q8_0)");
  cmd->add_option("--embedding-type", a->embedding_type, "type of token_embd.weight when not tied (default: --type)");
  cmd->add_flag("--allow-requantize", a->allow_requantize, "accept an already quantised input");
  cmd->add_flag("--quiet", a->quiet, "no progress bar");
  cmd->add_flag("--verbose", a->verbose, "print every tensor's type and size");
  cmd->callback([a] { run(*a); });
}

CommandRegistration reg(setup);

}  // namespace cmd_quantize
}  // namespace edgelm::cli
