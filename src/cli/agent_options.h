#pragma once
// The options every command that runs the agent on a model shares (chat,
// predict): the model, the domain, how to decode, and the thread count.
#include <cstdint>
#include <memory>
#include <string>

#include <CLI/CLI.hpp>

#include "agent/agent.h"
#include "device/device.h"
#include "domain/schema.h"
#include "model/model.h"

namespace edgelm::cli {

// --min-action-probability (AgentOptions::min_action_probability), between 0 and 1.
void add_min_action_probability(CLI::App* cmd, float& value);

struct AgentCommandOptions {
  std::string model, domain;  // domain empty: the one the model names (kModelDomainKey), else kDefaultDomain
  bool free = false, no_fast_forward = false, repeated_calls = false;
  int max_reply_tokens = 48;
  int history_tokens = 256;
  int threads = 0;
  float temperature = 0;
  uint64_t seed = 0;
  std::string lora;  // a LoRA adapter file applied on top of the model
  float lora_scale = 1.0f;
  float min_action_probability = kDefaultMinActionProbability;

  // Adds --model (required), --domain, --free, --no-fast-forward, --repeated-calls,
  // --max-reply-tokens, --threads, --temperature, --seed, --lora, --lora-scale and
  // --min-action-probability to cmd.
  void add_to(CLI::App* cmd);
  // Sets the thread count, then loads the model (and the --lora adapter, which
  // agent_options() then carries) and the domain's device.
  std::shared_ptr<const Model> load_model() const;
  std::shared_ptr<const DeviceSpec> load_domain() const;
  AgentOptions agent_options() const;

 private:
  mutable std::shared_ptr<const LoraAdapter> adapter_;
};

}  // namespace edgelm::cli
