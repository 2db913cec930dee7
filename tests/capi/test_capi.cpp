// The C API (include/edgelm.h): errors as statuses with messages, models from
// files and buffers, sessions from folders and text, turns that match the
// agent's own answers, streaming, state, reset.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../agent/agent_test_util.h"
#include "agent/agent.h"
#include "domain/conversation.h"
#include "edgelm.h"
#include "platform/aligned_buffer.h"

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
  AgentOptions options;
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
