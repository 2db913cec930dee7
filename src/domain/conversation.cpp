#include "domain/conversation.h"

#include "platform/error.h"
#include "platform/json.h"
#include "platform/utf8.h"

namespace edgelm {

Call call_from_tool_call(const nlohmann::json& tool_call, const DomainSchema& schema) {
  if (!tool_call.is_object()) fail("a tool call must be an object");
  const nlohmann::json& fn = tool_call.contains("function") ? tool_call["function"] : tool_call;
  if (!fn.is_object()) fail("a tool call's 'function' must be an object");
  nlohmann::json normalised = fn;
  if (fn.contains("arguments") && fn["arguments"].is_string()) {
    // OpenAI's API sends the arguments as a JSON string.
    const std::string& text = fn["arguments"].get_ref<const std::string&>();
    nlohmann::json parsed = parse_json(text, "the 'arguments' string");
    if (parsed.is_null()) parsed = nlohmann::json::object();
    normalised["arguments"] = parsed;
  }
  Call c = call_from_json(normalised, schema);
  if (std::string why = validate_call(schema, c); !why.empty()) fail(why);
  return c;
}

nlohmann::json conversation_to_messages(const std::vector<Turn>& history, const std::string& last_user) {
  nlohmann::json messages = nlohmann::json::array();
  for (const Turn& t : history) {
    messages.push_back({{"role", "user"}, {"content", t.user}});
    nlohmann::json calls = nlohmann::json::array();
    for (const Call& c : t.calls) calls.push_back({{"type", "function"}, {"function", call_to_json(c)}});
    messages.push_back({{"role", "assistant"}, {"content", ""}, {"tool_calls", calls}});
  }
  messages.push_back({{"role", "user"}, {"content", last_user}});
  return messages;
}

Conversation parse_conversation(const nlohmann::json& messages, const DomainSchema& schema,
                                const ConversationLimits& limits) {
  if (!messages.is_array()) fail("'messages' must be a list");
  if (messages.empty()) fail("'messages' is empty");
  if (messages.size() > limits.max_messages)
    fail("'messages' has ", messages.size(), " messages (at most ", limits.max_messages, ")");
  Conversation conv;
  std::optional<std::string> pending_user;  // a user turn not yet answered
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    auto where = [&] { return cat("message ", i); };
    if (!m.is_object()) fail(where(), ": not an object");
    if (!m.contains("role") || !m["role"].is_string()) fail(where(), ": no 'role'");
    const std::string role = m["role"].get<std::string>();
    std::string content;
    if (m.contains("content") && !m["content"].is_null()) {
      if (!m["content"].is_string()) fail(where(), ": 'content' must be a string");
      content = m["content"].get<std::string>();
      if (content.size() > limits.max_content_bytes)
        fail(where(), ": content of ", content.size(), " bytes (at most ", limits.max_content_bytes, ")");
      if (std::string bad = utf8_problem(content); !bad.empty()) fail(where(), ": ", bad);
    }
    if (role == "system" || role == "tool") continue;
    if (role == "user") {
      if (pending_user) fail(where(), ": two user turns in a row (the assistant's answer to message ", i - 1, " is missing)");
      if (content.empty()) fail(where(), ": a user message needs text 'content'");
      if (conv.answer) {  // the previous user turn was answered: it becomes history
        conv.history.push_back({conv.last_user, *conv.answer});
        conv.answer.reset();
        conv.answer_reply.clear();
      }
      pending_user = content;
      conv.last_user = content;
    } else if (role == "assistant") {
      if (!pending_user) fail(where(), ": an assistant turn with no user turn before it");
      std::vector<Call> calls;
      if (m.contains("tool_calls") && !m["tool_calls"].is_null()) {
        const nlohmann::json& tc = m["tool_calls"];
        if (!tc.is_array()) fail(where(), ": 'tool_calls' must be a list");
        for (size_t k = 0; k < tc.size(); ++k) {
          try {
            calls.push_back(call_from_tool_call(tc[k], schema));
          } catch (const Error& e) {
            fail(where(), ", tool call ", k, ": ", e.what());
          }
        }
      }
      conv.answer = std::move(calls);
      conv.answer_reply = content;
      pending_user.reset();
    } else {
      fail(where(), ": unknown role '", role, "' (user, assistant, system, tool)");
    }
  }
  if (conv.last_user.empty()) fail("'messages' has no user turn");
  return conv;
}

}  // namespace edgelm
