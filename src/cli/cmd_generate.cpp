// edgelm generate: run a model on a prompt (token ids, or text when the model
// carries a tokenizer) and print what it generates.
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cli/command.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/sampler.h"
#include "model/session.h"
#include "platform/error.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer.h"

namespace edgelm::cli {
namespace cmd_generate {

struct GenerateOptions {
  std::string model, prompt_tokens, prompt, lora;
  float lora_scale = 1.0f;
  int n_predict = 32;
  int threads = 0;
  int64_t context = 0;
  bool ignore_eos = false;
  SamplerConfig sampler;
};

std::string join_ids(const std::vector<int32_t>& ids) {
  std::string s;
  for (size_t i = 0; i < ids.size(); ++i) s += cat(i ? "," : "", ids[i]);
  return s;
}

void run_generate(const GenerateOptions& o) {
  if (o.n_predict < 0) fail("-n must be >= 0");
  if (o.prompt_tokens.empty() == o.prompt.empty()) fail("give exactly one of --prompt-tokens and --prompt");
  if (o.threads > 0) set_default_threads(o.threads);
  std::shared_ptr<const Model> model = Model::load(o.model);
  const Tokenizer* tok = model->tokenizer();
  std::vector<int32_t> prompt;
  if (!o.prompt.empty()) {
    if (!tok) fail(o.model, " carries no tokenizer: give the prompt as --prompt-tokens");
    prompt = tok->encode(o.prompt, true);
    if (prompt.empty()) fail("the prompt encodes to no tokens");
  } else {
    prompt = parse_int_list(o.prompt_tokens);
  }
  int64_t context = o.context > 0 ? o.context : std::min<int64_t>(model->config().context_length, int64_t(prompt.size()) + o.n_predict);
  InferenceSession session(model, context);
  if (!o.lora.empty())
    session.set_adapter(std::make_shared<const LoraAdapter>(load_lora_adapter(o.lora, model->config())), o.lora_scale);
  Sampler sampler(o.sampler);

  using Clock = std::chrono::steady_clock;
  auto t0 = Clock::now();
  std::span<const float> logits = session.eval(prompt);
  auto t1 = Clock::now();
  std::vector<int32_t> generated;
  std::string text;
  std::unique_ptr<StreamDecoder> stream = tok ? std::make_unique<StreamDecoder>(*tok) : nullptr;
  for (int i = 0; i < o.n_predict; ++i) {
    int32_t id = sampler.sample(logits);
    generated.push_back(id);
    // A model may have more rows than its tokenizer has tokens (padded Hugging Face vocabularies).
    if (stream) text += id < tok->n_vocab() ? stream->push(id) : cat("[token ", id, "]");
    if (tok && !o.ignore_eos && id == tok->eos_id()) break;
    if (i + 1 == o.n_predict || session.n_past() >= session.max_context()) break;
    logits = session.eval({&id, 1});
  }
  if (stream) text += stream->flush();
  auto t2 = Clock::now();

  std::printf("prompt (%zu tokens): %s\n", prompt.size(), join_ids(prompt).c_str());
  std::printf("generated (%zu tokens): %s\n", generated.size(), join_ids(generated).c_str());
  if (tok) std::printf("text: %s%s\n", o.prompt.c_str(), text.c_str());
  double prompt_s = std::chrono::duration<double>(t1 - t0).count();
  double gen_s = std::chrono::duration<double>(t2 - t1).count();
  std::fprintf(stderr, "prompt: %zu tokens in %.1f ms; generation: %zu tokens in %.1f ms (%.1f tokens/s)\n", prompt.size(),
               prompt_s * 1e3, generated.size(), gen_s * 1e3, gen_s > 0 ? double(generated.size()) / gen_s : 0.0);
}

void setup(CLI::App& app) {
  auto o = std::make_shared<GenerateOptions>();
  CLI::App* cmd = app.add_subcommand("generate", "Generate tokens from a model");
  cmd->add_option("--model,-m", o->model, "GGUF model file")->required();
  cmd->add_option("--prompt-tokens", o->prompt_tokens, "prompt as token ids, e.g. 1,2,3");
  cmd->add_option("--prompt,-p", o->prompt, "prompt text (needs a model with a tokenizer; special tokens are parsed)");
  cmd->add_option("-n,--n-predict", o->n_predict, "tokens to generate")->capture_default_str();
  cmd->add_option("--temperature", o->sampler.temperature, "0: greedy")->capture_default_str();
  cmd->add_option("--top-k", o->sampler.top_k, "keep the k most likely tokens (0: all)")->capture_default_str();
  cmd->add_option("--top-p", o->sampler.top_p, "nucleus sampling threshold")->capture_default_str();
  cmd->add_option("--seed", o->sampler.seed, "sampling seed")->capture_default_str();
  cmd->add_option("--threads,-t", o->threads, "threads (0: all cores, or EDGELM_THREADS)")->capture_default_str();
  cmd->add_option("--context", o->context, "KV cache size (0: prompt + n, at most the model's context)");
  cmd->add_flag("--ignore-eos", o->ignore_eos, "keep generating after the end token");
  cmd->add_option("--lora", o->lora, "a LoRA adapter (llama.cpp's GGUF form) applied on top of the model");
  cmd->add_option("--lora-scale", o->lora_scale, "multiplies the adapter's alpha/rank scale")->capture_default_str();
  cmd->callback([o] { run_generate(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_generate
}  // namespace edgelm::cli
