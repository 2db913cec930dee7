#pragma once
// A trained agent as an evaluation predictor, and the one call that loads a
// model file and evaluates it on a case file.
#include <memory>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "eval/evaluate.h"

namespace edgelm {

// The agent must outlive the predictor. Each command is answered on a fresh
// device (initial state), so cases do not depend on each other's order.
Predictor agent_predictor(Agent& agent);

struct ModelEvalOptions {
  bool constrained = true;      // grammar-constrained decoding (off: free decoding, then parse)
  bool distinct_calls = true;   // a repeated call is taken back (AgentOptions::distinct_calls)
  int max_reply_tokens = 48;
  std::string name;             // report title; default: the file name and the decoding mode
  std::string label;            // progress bar label; empty: none
  std::string lora;             // a LoRA adapter applied on top of the model; empty: none
  float lora_scale = 1.0f;
  float min_action_probability = kDefaultMinActionProbability;  // AgentOptions::min_action_probability
};

// Loads the model (GGUF with its tokenizer), answers every case and returns the run.
EvalRun evaluate_model(const std::string& model_path, const std::shared_ptr<const DeviceSpec>& device,
                       const std::vector<EvalCase>& cases, const ModelEvalOptions& options);

}  // namespace edgelm
