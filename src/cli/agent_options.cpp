#include "cli/agent_options.h"

#include <exception>
#include <string>

#include "model/lora.h"
#include "platform/thread_pool.h"

namespace edgelm::cli {

void add_min_action_probability(CLI::App* cmd, float& value) {
  cmd->add_option("--min-action-probability", value,
                  "answer with a call that changes the device's state only when the model gives such calls at least "
                  "this probability, all of them together (0: as decoded)")
      ->check([](const std::string& text) -> std::string {
        try {
          return min_action_probability_problem(std::stof(text));  // the Agent's own rule
        } catch (const std::exception&) {
          return "not a number: " + text;
        }
      })
      ->capture_default_str();
}

void AgentCommandOptions::add_to(CLI::App* cmd) {
  cmd->add_option("--model", model, "model file (GGUF with a tokenizer)")->required();
  cmd->add_option("--domain", domain,
                  std::string("domain folder or built-in name (default: the one the model was trained for, else ") + kDefaultDomain + ")");
  cmd->add_flag("--free", free, "decode without the grammar, then parse (invalid output: no calls + error)");
  cmd->add_flag("--no-fast-forward", no_fast_forward, "sample forced tokens too instead of appending them");
  cmd->add_flag("--repeated-calls", repeated_calls,
                "let an answer call the same function with the same values twice (default: such a call is taken back)");
  cmd->add_option("--max-reply-tokens", max_reply_tokens, "tokens of reply text at most")->capture_default_str();
  cmd->add_option("--history-tokens", history_tokens,
                  "a conversation's history is kept within this many tokens; past it the oldest turns go first")
      ->capture_default_str();
  cmd->add_option("--threads", threads, "threads for the model (0: EDGELM_THREADS or all cores)");
  cmd->add_option("--temperature", temperature, "0: greedy")->capture_default_str();
  cmd->add_option("--seed", seed, "sampling seed")->capture_default_str();
  cmd->add_option("--lora", lora, "a LoRA adapter (llama.cpp's GGUF form) applied on top of the model");
  cmd->add_option("--lora-scale", lora_scale, "multiplies the adapter's alpha/rank scale")->capture_default_str();
  add_min_action_probability(cmd, min_action_probability);
}

std::shared_ptr<const Model> AgentCommandOptions::load_model() const {
  if (threads > 0) set_default_threads(threads);
  auto m = Model::load(model);
  if (!lora.empty()) adapter_ = std::make_shared<const LoraAdapter>(load_lora_adapter(lora, m->config()));
  return m;
}

std::shared_ptr<const DeviceSpec> AgentCommandOptions::load_domain() const {
  return std::make_shared<const DeviceSpec>(load_device(domain_dir_for_model(domain, model)));
}


AgentOptions AgentCommandOptions::agent_options() const {
  AgentOptions options;
  options.constrained = !free;
  options.fast_forward = !no_fast_forward;
  options.distinct_calls = !repeated_calls;
  options.max_reply_tokens = max_reply_tokens;
  options.max_history_tokens = history_tokens;
  options.sampler.temperature = temperature;
  options.sampler.seed = seed;
  options.adapter = adapter_;
  options.adapter_scale = lora_scale;
  options.min_action_probability = min_action_probability;
  return options;
}

}  // namespace edgelm::cli
