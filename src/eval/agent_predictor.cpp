#include "eval/agent_predictor.h"

#include <filesystem>

#include "model/lora.h"
#include "model/model.h"

namespace edgelm {

Predictor agent_predictor(Agent& agent) {
  return [&agent](const EvalCase& c) {
    // A conversation's earlier calls run on the device first, so the answer
    // sees the state they left (and {ARGNAME} fills from them).
    Device device(agent.device_spec());
    for (const Turn& t : c.history)
      for (const Call& call : t.calls) device.execute(call);
    AgentAnswer a = agent.respond(c.text, &device, c.history);
    Prediction p;
    p.calls = std::move(a.calls);
    p.reply = std::move(a.reply);
    p.tokens_generated = a.tokens_generated;
    p.calls_taken_back = a.calls_taken_back;
    p.action_probability = a.action_probability;
    p.action_withheld = a.action_withheld;
    p.latency_ms = a.latency_ms;
    p.error = std::move(a.error);
    return p;
  };
}

EvalRun evaluate_model(const std::string& model_path, const std::shared_ptr<const DeviceSpec>& device,
                       const std::vector<EvalCase>& cases, const ModelEvalOptions& options) {
  std::shared_ptr<const Model> model = Model::load(model_path);
  AgentOptions agent_options;
  agent_options.constrained = options.constrained;
  agent_options.distinct_calls = options.distinct_calls;
  agent_options.max_reply_tokens = options.max_reply_tokens;
  agent_options.min_action_probability = options.min_action_probability;
  if (!options.lora.empty()) {
    agent_options.adapter = std::make_shared<const LoraAdapter>(load_lora_adapter(options.lora, model->config()));
    agent_options.adapter_scale = options.lora_scale;
  }
  Agent agent(model, device, agent_options);
  EvalRun run = evaluate_cases(device->schema, cases, agent_predictor(agent), options.label);
  run.model = model_path;
  run.name = options.name.empty()
                 ? std::filesystem::path(model_path).filename().string() + (options.constrained ? "" : " (unconstrained)")
                 : options.name;
  return run;
}

}  // namespace edgelm
