// The C API (include/edgelm.h): errors as statuses with messages, models from
// files and buffers, sessions from folders and text, turns that match the
// agent's own answers, streaming, state, reset.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <tuple>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../agent/agent_test_util.h"
#include "agent/agent.h"
#include "domain/conversation.h"
#include "edgelm.h"
#include "model/lora.h"
#include "platform/aligned_buffer.h"
#include "platform/random.h"

namespace edgelm {
namespace {

std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

struct Opened {
  edgelm_model* model = nullptr;
  edgelm_session* session = nullptr;
  Opened() {
    const test::TinyAgentModel& t = test::tiny_agent_model();
    EXPECT_EQ(edgelm_model_load_file(t.path.c_str(), &model), EDGELM_OK) << edgelm_last_error();
    edgelm_session_options o = edgelm_session_default_options();
    o.n_threads = 1;
    o.min_action_probability = 0;  // as test::acting_freely(): the random model's calls are what these tests check
    EXPECT_EQ(edgelm_session_open(model, nullptr, &o, &session), EDGELM_OK) << edgelm_last_error();
  }
  ~Opened() {
    edgelm_session_free(session);
    edgelm_model_free(model);
  }
};

const char* kDemoCommands[] = {"turn it on in sleep mode", "how is the air", "수면 모드로 바꿔줘", "set a timer for 90 minutes"};

TEST(CApi, NullArgumentsAndMissingFilesAreErrorsWithMessages) {
  edgelm_model* model = reinterpret_cast<edgelm_model*>(1);
  EXPECT_EQ(edgelm_model_load_file(nullptr, &model), EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(edgelm_last_error()).find("path is NULL"), std::string::npos);
  EXPECT_EQ(edgelm_model_load_file("/nonexistent/model.gguf", &model), EDGELM_ERR_IO);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(std::string(edgelm_last_error()).find("/nonexistent/model.gguf"), std::string::npos);
  const char garbage[] = "GGUF but not really";
  EXPECT_EQ(edgelm_model_load_buffer(garbage, sizeof garbage, EDGELM_BUFFER_COPY, &model), EDGELM_ERR_MODEL);
  EXPECT_EQ(model, nullptr);
  EXPECT_STRNE(edgelm_last_error(), "");
  EXPECT_EQ(edgelm_session_open(nullptr, nullptr, nullptr, nullptr), EDGELM_ERR_INVALID_ARGUMENT);
  edgelm_turn turn;
  EXPECT_EQ(edgelm_session_turn(nullptr, "hi", nullptr, nullptr, &turn), EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(turn.calls_json, "[]");
  EXPECT_STREQ(edgelm_status_name(EDGELM_ERR_DEVICE), "bad device description");
  edgelm_model_free(nullptr);
  edgelm_session_free(nullptr);
}

TEST(CApi, BorrowedBuffersMustBeAligned) {
  std::vector<uint8_t> bytes = read_bytes(test::tiny_agent_model().path);
  AlignedArray<uint8_t> aligned = aligned_array<uint8_t>(bytes.size() + 1);
  std::memcpy(aligned.get(), bytes.data(), bytes.size());
  edgelm_model* model = nullptr;
  ASSERT_EQ(edgelm_model_load_buffer(aligned.get(), bytes.size(), EDGELM_BUFFER_BORROW, &model), EDGELM_OK)
      << edgelm_last_error();
  EXPECT_GT(edgelm_model_weight_bytes(model), 0);
  edgelm_model_free(model);
  std::memmove(aligned.get() + 1, aligned.get(), bytes.size());
  EXPECT_EQ(edgelm_model_load_buffer(aligned.get() + 1, bytes.size(), EDGELM_BUFFER_BORROW, &model),
            EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(edgelm_last_error()).find("64-byte"), std::string::npos);
  EXPECT_EQ(edgelm_model_load_buffer(aligned.get() + 1, bytes.size(), EDGELM_BUFFER_COPY, &model), EDGELM_OK);
  edgelm_model_free(model);
}

TEST(CApi, TurnsMatchTheAgent) {
  const test::TinyAgentModel& t = test::tiny_agent_model();
  AgentOptions options = test::acting_freely();  // as Opened's session
  Agent agent(t.model, t.device, options);
  Opened o;
  for (const char* command : kDemoCommands) {
    SCOPED_TRACE(command);
    Device device(t.device);
    AgentAnswer want = agent.respond(command, &device);
    ASSERT_EQ(edgelm_session_reset(o.session), EDGELM_OK);
    edgelm_turn turn;
    ASSERT_EQ(edgelm_session_turn(o.session, command, nullptr, nullptr, &turn), EDGELM_OK) << edgelm_last_error();
    nlohmann::json calls = nlohmann::json::array();
    for (const Call& c : want.calls) calls.push_back(call_to_json(c));
    EXPECT_EQ(nlohmann::json::parse(turn.calls_json), calls);
    EXPECT_EQ(turn.reply, want.reply);
    EXPECT_EQ(turn.answer_error, want.error);
    EXPECT_EQ(turn.tokens_generated, want.tokens_generated);
    EXPECT_EQ(nlohmann::json::parse(edgelm_session_state_json(o.session)), device.state_json());
  }
}

TEST(CApi, StreamedPiecesMakeTheReply) {
  Opened o;
  for (const char* command : kDemoCommands) {
    std::string streamed;
    int pieces = 0;
    struct Sink {
      std::string* text;
      int* pieces;
    } sink{&streamed, &pieces};
    auto on_reply = [](const char* text, size_t length, void* user) {
      auto* s = static_cast<Sink*>(user);
      s->text->append(text, length);
      ++*s->pieces;
    };
    edgelm_turn turn;
    ASSERT_EQ(edgelm_session_turn(o.session, command, on_reply, &sink, &turn), EDGELM_OK) << edgelm_last_error();
    EXPECT_EQ(streamed, turn.reply) << command;
    if (turn.reply[0]) {
      EXPECT_GE(pieces, 1);
    }
  }
}

TEST(CApi, ResetRestoresTheInitialStateAndConversationsKeepContext) {
  Opened o;
  const std::string initial = edgelm_session_state_json(o.session);
  ASSERT_EQ(edgelm_session_set_mode(o.session, EDGELM_TURN_CONVERSATION), EDGELM_OK);
  edgelm_turn turn;
  for (const char* command : kDemoCommands)
    ASSERT_EQ(edgelm_session_turn(o.session, command, nullptr, nullptr, &turn), EDGELM_OK) << edgelm_last_error();
  ASSERT_EQ(edgelm_session_reset(o.session), EDGELM_OK);
  EXPECT_EQ(edgelm_session_state_json(o.session), initial);
  EXPECT_EQ(edgelm_session_set_mode(o.session, edgelm_turn_mode(7)), EDGELM_ERR_INVALID_ARGUMENT);
}

TEST(CApi, AConversationGivenWholeIsAnsweredAsIfItHadBeenLived) {
  // One session lives a conversation turn by turn; another is handed it as messages.
  Opened lived, given;
  ASSERT_EQ(edgelm_session_set_mode(lived.session, EDGELM_TURN_CONVERSATION), EDGELM_OK);
  std::vector<Turn> history;
  edgelm_turn turn;
  const std::shared_ptr<const DeviceSpec> device = test::air_purifier_device();
  for (int i = 0; i < 2; ++i) {
    ASSERT_EQ(edgelm_session_turn(lived.session, kDemoCommands[i], nullptr, nullptr, &turn), EDGELM_OK) << edgelm_last_error();
    ASSERT_STREQ(turn.answer_error, "") << "turn " << i;
    Turn t{kDemoCommands[i], {}};
    for (const auto& c : nlohmann::json::parse(turn.calls_json)) t.calls.push_back(call_from_tool_call(c, device->schema));
    history.push_back(std::move(t));
  }
  ASSERT_EQ(edgelm_session_turn(lived.session, kDemoCommands[3], nullptr, nullptr, &turn), EDGELM_OK);
  const std::string calls = turn.calls_json, reply = turn.reply;
  const std::string state = edgelm_session_state_json(lived.session);

  const std::string messages = conversation_to_messages(history, kDemoCommands[3]).dump();
  ASSERT_EQ(edgelm_session_turn_messages(given.session, messages.c_str(), nullptr, nullptr, &turn), EDGELM_OK)
      << edgelm_last_error();
  EXPECT_EQ(turn.calls_json, calls);
  EXPECT_EQ(turn.reply, reply);
  EXPECT_EQ(edgelm_session_state_json(given.session), state);
  // The session goes on with that conversation: the next turn matches the lived one's.
  ASSERT_EQ(edgelm_session_turn(lived.session, kDemoCommands[2], nullptr, nullptr, &turn), EDGELM_OK);
  const std::string next_calls = turn.calls_json;
  ASSERT_EQ(edgelm_session_turn(given.session, kDemoCommands[2], nullptr, nullptr, &turn), EDGELM_OK);
  EXPECT_EQ(turn.calls_json, next_calls);
}

// An adapter on every target of every block, large enough to move the tiny model's answers.
std::string write_test_adapter(const ModelConfig& c, uint64_t seed) {
  LoraAdapter a;
  a.alpha = 8;
  a.name = "capi-test";
  a.layers.resize(size_t(c.n_layers));
  Rng rng(seed);
  for (int64_t l = 0; l < c.n_layers; ++l)
    for (int t = 0; t < kLoraTargets; ++t) {
      LoraMatrix& m = a.at(l, LoraTarget(t));
      std::tie(m.out, m.in) = lora_target_shape(c, LoraTarget(t));
      m.rank = 4;
      m.a.resize(size_t(m.rank * m.in));
      m.b.resize(size_t(m.out * m.rank));
      for (float& x : m.a) x = float(rng.normal()) * 0.5f;
      for (float& x : m.b) x = float(rng.normal()) * 0.5f;
    }
  const std::string path =
      (std::filesystem::temp_directory_path() / ("edgelm_test_capi_adapter_" + std::to_string(::getpid()) + ".gguf")).string();
  save_lora_adapter(path, a);
  return path;
}

// One model, adapters switched per session at run time: each turn answers as
// the agent with that adapter does, NULL goes back to the model alone, and a
// conversation continues under the new adapter as if it had been lived under it.
TEST(CApi, AdaptersSwitchWithoutReloadingTheModel) {
  const test::TinyAgentModel& t = test::tiny_agent_model();
  const std::string path = write_test_adapter(t.model->config(), 7);
  const auto adapter = std::make_shared<const LoraAdapter>(load_lora_adapter(path, t.model->config()));
  AgentOptions plain_options = test::acting_freely(), adapted_options = test::acting_freely();  // as Opened's
  adapted_options.adapter = adapter;
  Agent plain(t.model, t.device, plain_options), adapted(t.model, t.device, adapted_options);

  Opened o;
  edgelm_adapter* from_file = nullptr;
  ASSERT_EQ(edgelm_adapter_load_file(o.model, path.c_str(), &from_file), EDGELM_OK) << edgelm_last_error();
  EXPECT_EQ(edgelm_adapter_bytes(from_file), adapter->n_params() * 4);
  const std::vector<uint8_t> bytes = read_bytes(path);
  edgelm_adapter* from_buffer = nullptr;
  ASSERT_EQ(edgelm_adapter_load_buffer(o.model, bytes.data(), bytes.size(), &from_buffer), EDGELM_OK) << edgelm_last_error();
  int changed = 0;
  for (const char* command : kDemoCommands) {
    SCOPED_TRACE(command);
    Device d1(t.device), d2(t.device);
    const AgentAnswer want_plain = plain.respond(command, &d1), want_adapted = adapted.respond(command, &d2);
    changed += want_plain.calls != want_adapted.calls || want_plain.reply != want_adapted.reply;
    for (const edgelm_adapter* a : {(const edgelm_adapter*)from_file, (const edgelm_adapter*)from_buffer, (const edgelm_adapter*)nullptr}) {
      ASSERT_EQ(edgelm_session_set_adapter(o.session, a, 1.0f), EDGELM_OK) << edgelm_last_error();
      ASSERT_EQ(edgelm_session_reset(o.session), EDGELM_OK);
      edgelm_turn turn;
      ASSERT_EQ(edgelm_session_turn(o.session, command, nullptr, nullptr, &turn), EDGELM_OK) << edgelm_last_error();
      const AgentAnswer& want = a ? want_adapted : want_plain;
      EXPECT_EQ(turn.reply, want.reply) << (a ? "adapted" : "plain");
      EXPECT_EQ(turn.tokens_generated, want.tokens_generated) << (a ? "adapted" : "plain");
    }
  }
  EXPECT_GT(changed, 0) << "the adapter changed no answer: the test would not see it applied";

  // A conversation: turn 1 without the adapter, turn 2 with it, against a
  // session that had the adapter from the start and was handed turn 1.
  ASSERT_EQ(edgelm_session_set_mode(o.session, EDGELM_TURN_CONVERSATION), EDGELM_OK);
  edgelm_turn turn;
  ASSERT_EQ(edgelm_session_turn(o.session, kDemoCommands[0], nullptr, nullptr, &turn), EDGELM_OK);
  Turn first{kDemoCommands[0], {}};
  for (const auto& c : nlohmann::json::parse(turn.calls_json)) first.calls.push_back(call_from_tool_call(c, t.schema));
  const std::string state = edgelm_session_state_json(o.session);
  ASSERT_EQ(edgelm_session_set_adapter(o.session, from_file, 1.0f), EDGELM_OK);
  EXPECT_EQ(edgelm_session_state_json(o.session), state);  // the device is untouched
  ASSERT_EQ(edgelm_session_turn(o.session, kDemoCommands[3], nullptr, nullptr, &turn), EDGELM_OK);
  const std::string calls = turn.calls_json, reply = turn.reply;
  Opened other;
  ASSERT_EQ(edgelm_session_set_adapter(other.session, nullptr, 1.0f), EDGELM_OK);
  edgelm_adapter* for_other = nullptr;
  ASSERT_EQ(edgelm_adapter_load_file(other.model, path.c_str(), &for_other), EDGELM_OK);
  ASSERT_EQ(edgelm_session_set_adapter(other.session, for_other, 1.0f), EDGELM_OK);
  const std::string messages = conversation_to_messages({first}, kDemoCommands[3]).dump();
  ASSERT_EQ(edgelm_session_turn_messages(other.session, messages.c_str(), nullptr, nullptr, &turn), EDGELM_OK)
      << edgelm_last_error();
  EXPECT_EQ(turn.calls_json, calls);
  EXPECT_EQ(turn.reply, reply);

  // Errors: an adapter of another model, a scale that is not a number, bad files and bytes.
  EXPECT_EQ(edgelm_session_set_adapter(o.session, for_other, 1.0f), EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(edgelm_last_error()).find("another model"), std::string::npos) << edgelm_last_error();
  EXPECT_EQ(edgelm_session_set_adapter(o.session, from_file, std::nanf("")), EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(edgelm_session_set_adapter(nullptr, from_file, 1.0f), EDGELM_ERR_INVALID_ARGUMENT);
  edgelm_adapter* bad = reinterpret_cast<edgelm_adapter*>(1);
  EXPECT_EQ(edgelm_adapter_load_file(o.model, "/nonexistent/adapter.gguf", &bad), EDGELM_ERR_IO);
  EXPECT_EQ(bad, nullptr);
  EXPECT_NE(std::string(edgelm_last_error()).find("/nonexistent/adapter.gguf"), std::string::npos);
  EXPECT_EQ(edgelm_adapter_load_file(o.model, t.path.c_str(), &bad), EDGELM_ERR_MODEL);  // a model, not an adapter
  EXPECT_NE(std::string(edgelm_last_error()).find("adapter"), std::string::npos) << edgelm_last_error();
  const char garbage[] = "GGUF but not really";
  EXPECT_EQ(edgelm_adapter_load_buffer(o.model, garbage, sizeof garbage, &bad), EDGELM_ERR_MODEL);
  EXPECT_EQ(bad, nullptr);
  EXPECT_EQ(edgelm_adapter_load_buffer(nullptr, garbage, sizeof garbage, &bad), EDGELM_ERR_INVALID_ARGUMENT);
  edgelm_adapter_free(from_file);  // the session keeps its own reference
  ASSERT_EQ(edgelm_session_turn(o.session, kDemoCommands[1], nullptr, nullptr, &turn), EDGELM_OK);
  edgelm_adapter_free(from_buffer);
  edgelm_adapter_free(for_other);
  edgelm_adapter_free(nullptr);
  std::filesystem::remove(path);
}

TEST(CApi, BadMessagesAreRefusedAndLeaveTheSessionAsItWas) {
  Opened o;
  edgelm_turn turn;
  ASSERT_EQ(edgelm_session_turn(o.session, kDemoCommands[0], nullptr, nullptr, &turn), EDGELM_OK);
  const std::string state = edgelm_session_state_json(o.session);
  const std::pair<const char*, const char*> cases[] = {
      {"[{\"role\": \"user\"", "not JSON"},
      {"{}", "messages"},
      {"[]", "messages"},
      {R"([{"role": "robot", "content": "hi"}])", "robot"},
      {R"([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "Hello."}])", "the assistant's"},
      {R"([{"role": "user", "content": "x"}, {"role": "assistant", "content": "",
           "tool_calls": [{"type": "function", "function": {"name": "launch_rocket", "arguments": {}}}]},
          {"role": "user", "content": "y"}])", "launch_rocket"},
      {"[{\"role\": \"user\", \"content\": \"bad \xff\"}]", "UTF-8"},
  };
  for (const auto& [messages, why] : cases) {
    EXPECT_EQ(edgelm_session_turn_messages(o.session, messages, nullptr, nullptr, &turn), EDGELM_ERR_INPUT) << messages;
    EXPECT_NE(std::string(edgelm_last_error()).find(why), std::string::npos) << messages << ": " << edgelm_last_error();
    EXPECT_STREQ(turn.calls_json, "[]");
    EXPECT_EQ(edgelm_session_state_json(o.session), state) << messages;
  }
  EXPECT_EQ(edgelm_session_turn_messages(o.session, nullptr, nullptr, nullptr, &turn), EDGELM_ERR_INVALID_ARGUMENT);
}

TEST(CApi, BadCommandsAndOptionsAreRefused) {
  Opened o;
  edgelm_turn turn;
  EXPECT_EQ(edgelm_session_turn(o.session, "bad \xff utf-8", nullptr, nullptr, &turn), EDGELM_ERR_INPUT);
  EXPECT_NE(std::string(edgelm_last_error()).find("UTF-8"), std::string::npos) << edgelm_last_error();
  edgelm_session_options options = edgelm_session_default_options();
  options.max_reply_tokens = 0;
  edgelm_session* session = reinterpret_cast<edgelm_session*>(1);
  EXPECT_EQ(edgelm_session_open(o.model, nullptr, &options, &session), EDGELM_ERR_INVALID_ARGUMENT);
  EXPECT_EQ(session, nullptr);
  EXPECT_NE(std::string(edgelm_last_error()).find("max_reply_tokens"), std::string::npos);
  options = edgelm_session_default_options();
  EXPECT_FLOAT_EQ(options.min_action_probability, kDefaultMinActionProbability);
  for (float bad : {-0.1f, 1.5f, std::nanf("")}) {
    options.min_action_probability = bad;
    EXPECT_EQ(edgelm_session_open(o.model, nullptr, &options, &session), EDGELM_ERR_INVALID_ARGUMENT) << bad;
    EXPECT_NE(std::string(edgelm_last_error()).find("min_action_probability"), std::string::npos) << bad;
  }
}

TEST(CApi, DeviceDescriptionsFromTextAndTheirErrors) {
  Opened o;
  const std::string dir = resolve_domain_dir("air-purifier");
  const std::string functions = text_file(dir + "/functions.toml"), device = text_file(dir + "/device.toml");
  edgelm_session* session = nullptr;
  ASSERT_EQ(edgelm_session_open_text(o.model, functions.c_str(), device.c_str(), "ap", nullptr, &session), EDGELM_OK)
      << edgelm_last_error();
  EXPECT_STREQ(edgelm_session_state_json(session), edgelm_session_state_json(o.session));
  edgelm_session_free(session);
  EXPECT_EQ(edgelm_session_open_text(o.model, "name = [", nullptr, "broken", nullptr, &session), EDGELM_ERR_DEVICE);
  EXPECT_NE(std::string(edgelm_last_error()).find("broken/functions.toml"), std::string::npos) << edgelm_last_error();
  // A device the tokenizer has no function tokens for.
  const std::string lamp = std::string(EDGELM_TEST_DIR) + "/fixtures/domains/library-lamp";
  EXPECT_EQ(edgelm_session_open(o.model, lamp.c_str(), nullptr, &session), EDGELM_ERR_DEVICE);
  EXPECT_STRNE(edgelm_last_error(), "");
}

}  // namespace
}  // namespace edgelm
