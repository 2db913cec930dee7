#pragma once
// A conversation with a device, read from the OpenAI chat form that training
// data, evaluation cases, `edgelm predict` and the server share:
//
//   [{"role": "user", "content": "bathroom lights on"},
//    {"role": "assistant", "content": "", "tool_calls": [{"type": "function", "function":
//        {"name": "toggle_lights", "arguments": {"room": "bathroom", "state": "on"}}}]},
//    {"role": "user", "content": "the office as well"}]
//
// Earlier turns become the history (each user turn with the calls the device
// executed); the last user turn is the one to answer, and an assistant turn
// after it (training data) is its answer. `arguments` may be a JSON object or
// a JSON string holding one, as OpenAI's API writes it. `system` and `tool`
// messages are accepted and skipped (the device's own description is the system
// part; tool results are not part of the compact history).
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

// One earlier exchange: what the user said and the calls the device executed.
struct Turn {
  std::string user;
  std::vector<Call> calls;
  bool operator==(const Turn&) const = default;
};

struct Conversation {
  std::vector<Turn> history;                 // turns before the last user message
  std::string last_user;                     // the turn to answer
  std::optional<std::vector<Call>> answer;   // the assistant's calls after it, if the messages end with one
  std::string answer_reply;                  // that assistant message's text content
};

struct ConversationLimits {
  size_t max_messages = 64;
  size_t max_content_bytes = 4096;  // per message
};

// Reads a `messages` array. Throws Error naming the message index and the
// problem: not an array, an unknown role, a message without text content, two
// user turns in a row, calls outside the schema (unknown function, argument or
// value) or malformed `arguments`, an assistant turn before any user turn, no
// user turn, or more than the limits allow.
Conversation parse_conversation(const nlohmann::json& messages, const DomainSchema& schema,
                                const ConversationLimits& limits = {});

// The OpenAI form of a history and the turn to answer (assistant turns with
// tool_calls whose arguments are objects, and empty content).
nlohmann::json conversation_to_messages(const std::vector<Turn>& history, const std::string& last_user);

// One tool call as the OpenAI form writes it ({"type": "function", "function": {...}}
// or the bare function object), `arguments` as an object or a JSON string.
Call call_from_tool_call(const nlohmann::json& tool_call, const DomainSchema& schema);

}  // namespace edgelm
