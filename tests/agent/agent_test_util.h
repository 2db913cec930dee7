#pragma once
// A tiny model with a tokenizer that has the agent's special tokens, written
// once per test program to a temporary GGUF file: random weights, a BPE
// vocabulary trained in-test on rendered answers.
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include "agent/agent.h"
#include "agent/format.h"
#include "device/device.h"
#include "model/model.h"
#include "model/weights.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer.h"

namespace edgelm::test {

inline std::shared_ptr<const DeviceSpec> air_purifier_device() {
  static auto spec = std::make_shared<const DeviceSpec>(load_device(resolve_domain_dir("air-purifier")));
  return spec;
}
inline DomainSchema air_purifier_schema() { return air_purifier_device()->schema; }

inline std::vector<std::string> agent_training_texts(const DomainSchema& schema) {
  std::vector<std::string> texts;
  for (const auto& f : schema.functions) {
    Call c{f.name, {}};
    for (const auto& a : f.arguments) {
      if (a.type == ArgType::Enum)
        for (const auto& v : a.values) {
          Call cv = c;
          cv.arguments[a.name] = v;
          texts.push_back(render_answer_text(schema, {cv}, "Done, " + v + " it is."));
        }
      else
        c.arguments[a.name] = a.min;
    }
    texts.push_back(render_answer_text(schema, {c}, "Okay."));
  }
  for (int i = 0; i < 4; ++i) {
    texts.push_back("turn it on in sleep mode and set a timer for 90 minutes please");
    texts.push_back("수면 모드로 바꾸고 6시간 뒤에 꺼줘. 공기 질 어때? 필터 상태 알려줘");
    texts.push_back("Timer set to 90 minutes. The air is good. 타이머를 설정했어요. 공기가 좋아요.");
  }
  return texts;
}

// Options for the random tiny model's tests of decoding mechanics (streaming,
// the server, the C API): a random model is never sure of a call, so its
// answers act at any probability (AgentOptions::min_action_probability 0), as
// they did before the bar existed; the bar has tests of its own.
inline AgentOptions acting_freely() {
  AgentOptions o;
  o.min_action_probability = 0;
  return o;
}

struct TinyAgentModel {
  std::shared_ptr<const DeviceSpec> device = air_purifier_device();
  DomainSchema schema = device->schema;
  std::string path;
  std::shared_ptr<const Model> model;
};

inline const TinyAgentModel& tiny_agent_model() {
  static TinyAgentModel* m = [] {
    // One thread: the tiny model gains nothing from more, and tests share the machine.
    set_default_threads(1);
    auto* t = new TinyAgentModel;
    Tokenizer tok = train_bpe(agent_training_texts(t->schema), 420, agent_special_tokens(t->schema));
    ModelConfig c = model_shape("tiny");
    c.n_vocab = tok.n_vocab();
    c.dim = 32;
    c.n_layers = 2;
    c.n_heads = 2;
    c.n_kv_heads = 1;
    c.head_dim = 16;
    c.ffn_dim = 64;
    c.context_length = 256;
    WeightsF32 w = init_random_weights(c, 1234);
    // Larger weights than the 0.02 default so that greedy decoding is not a tie-break among equal logits.
    for (auto& buf : w.data)
      if (buf.size() > size_t(c.dim))
        for (float& x : buf) x *= 25.0f;
    GgufMetadata extra;
    tok.write_to(extra);
    t->path = (std::filesystem::temp_directory_path() / ("edgelm_agent_test_" + std::to_string(getpid()) + ".gguf")).string();
    save_weights_gguf(t->path, w, TensorType::F32, &extra, "agent-test");
    t->model = Model::load(t->path);
    static std::string cleanup_path = t->path;
    std::atexit([] { std::filesystem::remove(cleanup_path); });
    return t;
  }();
  return *m;
}

}  // namespace edgelm::test
