// Conversations in the OpenAI chat form: history and the turn to answer,
// arguments as objects or JSON strings, and every malformed conversation with
// an error that names the message and the problem.
#include <gtest/gtest.h>

#include "domain/conversation.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const DomainSchema& schema() {
  static DomainSchema s = parse_schema(R"(
domain = "lights"
[[function]]
name = "toggle_lights"
  [[function.argument]]
  name = "room"
  type = "enum"
  values = ["bathroom", "office"]
  optional = true
  [[function.argument]]
  name = "state"
  type = "enum"
  values = ["on", "off"]
  optional = true
[[function]]
name = "set_temperature"
  [[function.argument]]
  name = "degrees"
  type = "integer"
  min = 60
  max = 80
)", "functions.toml");
  return s;
}

nlohmann::json parse(const char* text) { return nlohmann::json::parse(text); }

TEST(Conversation, HistoryAndTheTurnToAnswer) {
  Conversation c = parse_conversation(parse(R"([
    {"role": "system", "content": "ignored"},
    {"role": "user", "content": "bathroom lights on please"},
    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function":
       {"name": "toggle_lights", "arguments": {"room": "bathroom", "state": "on"}}}]},
    {"role": "tool", "content": "ok"},
    {"role": "user", "content": "the office as well"}])"), schema());
  ASSERT_EQ(c.history.size(), 1u);
  EXPECT_EQ(c.history[0].user, "bathroom lights on please");
  ASSERT_EQ(c.history[0].calls.size(), 1u);
  EXPECT_EQ(c.history[0].calls[0].arguments.at("room"), ArgValue(std::string("bathroom")));
  EXPECT_EQ(c.last_user, "the office as well");
  EXPECT_FALSE(c.answer.has_value());
}

TEST(Conversation, ArgumentsAsJsonStringsAndATrailingAnswer) {
  Conversation c = parse_conversation(parse(R"([
    {"role": "user", "content": "72 please"},
    {"role": "assistant", "content": "Set to 72.", "tool_calls": [{"type": "function", "function":
       {"name": "set_temperature", "arguments": "{\"degrees\": 72}"}}]}])"), schema());
  EXPECT_TRUE(c.history.empty());
  EXPECT_EQ(c.last_user, "72 please");
  ASSERT_TRUE(c.answer.has_value());
  EXPECT_EQ((*c.answer)[0].arguments.at("degrees"), ArgValue(int64_t(72)));
  EXPECT_EQ(c.answer_reply, "Set to 72.");
}

TEST(Conversation, RoundTripsThroughTheOpenAiForm) {
  std::vector<Turn> history = {{"lights on", {{"toggle_lights", {{"state", std::string("on")}}}}},
                               {"the bathroom", {{"toggle_lights", {{"room", std::string("bathroom")}, {"state", std::string("on")}}}}}};
  Conversation c = parse_conversation(conversation_to_messages(history, "and the office"), schema());
  EXPECT_EQ(c.history, history);
  EXPECT_EQ(c.last_user, "and the office");
}

TEST(Conversation, BadConversationsNameTheMessageAndTheProblem) {
  struct Bad {
    std::string json;
    const char* expect;
  };
  for (const Bad& b : std::vector<Bad>{
           {R"({"role": "user"})", "must be a list"},
           {R"([])", "empty"},
           {R"([{"role": "robot", "content": "hi"}])", "message 0: unknown role 'robot'"},
           {R"([{"content": "hi"}])", "message 0: no 'role'"},
           {R"([{"role": "user", "content": 5}])", "'content' must be a string"},
           {R"([{"role": "user", "content": ""}])", "needs text 'content'"},
           {R"([{"role": "assistant", "content": "hi"}])", "no user turn before it"},
           {R"([{"role": "user", "content": "a"}, {"role": "user", "content": "b"}])", "two user turns in a row"},
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function": {"name": "fly"}}]},
               {"role": "user", "content": "b"}])", "message 1, tool call 0: unknown function 'fly'"},
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function":
               {"name": "set_temperature", "arguments": {"degrees": 99}}}]}, {"role": "user", "content": "b"}])",
            "outside 60..80"},
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function":
               {"name": "set_temperature", "arguments": "{degrees: 7"}}]}, {"role": "user", "content": "b"}])",
            "not valid JSON"},
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": {"x": 1}}])", "'tool_calls' must be a list"},
           // An 'arguments' string with a number past double's range or nesting past the JSON depth
           // limit: edgelm's Error, not nlohmann's out_of_range or a deep recursion.
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function":
               {"name": "set_temperature", "arguments": "{\"degrees\": 1e999999}"}}]}, {"role": "user", "content": "b"}])",
            "the 'arguments' string: a value cannot be read (number overflow"},
           {R"([{"role": "user", "content": "a"}, {"role": "assistant", "tool_calls": [{"function":
               {"name": "set_temperature", "arguments": ")" + std::string(100, '[') + R"("}}]}, {"role": "user", "content": "b"}])",
            "nested deeper than 64 levels"},
           {R"([{"role": "system", "content": "only"}])", "no user turn"},
           {R"([{"role": "user", "content": "\u00ff"}, {"role": "user", "content": "x"}])", "two user turns"},
       }) {
    try {
      parse_conversation(nlohmann::json::parse(b.json), schema());
      ADD_FAILURE() << "accepted: " << b.json;
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(b.expect), std::string::npos) << e.what() << " for " << b.json;
    }
  }
  // An over-long conversation.
  nlohmann::json many = nlohmann::json::array();
  for (int i = 0; i < 40; ++i) {
    many.push_back({{"role", "user"}, {"content", "on"}});
    many.push_back({{"role", "assistant"}, {"content", ""}});
  }
  many.push_back({{"role", "user"}, {"content", "off"}});
  EXPECT_THROW(parse_conversation(many, schema()), Error);
  ConversationLimits roomy;
  roomy.max_messages = 100;
  EXPECT_EQ(parse_conversation(many, schema(), roomy).history.size(), 40u);
}

}  // namespace
}  // namespace edgelm
