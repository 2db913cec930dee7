#pragma once
// The OpenAI chat-completions API as the agent sees it: a request body read
// into what the agent needs (the conversation, the tool choice, the decoding
// options) or into an error with its HTTP status, and the agent's answer
// written back in OpenAI's shapes (a completion object, or server-sent
// events). No sockets here: the HTTP server (server.h) only moves bytes, so
// everything a request can get wrong is decided, tested and fuzzed in this
// unit. The API is described in docs/SERVER.md.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent.h"
#include "device/device.h"
#include "domain/conversation.h"
#include "domain/schema.h"

namespace edgelm::server {

// What one request may ask for at most.
struct RequestLimits {
  size_t max_body_bytes = 256 * 1024;
  size_t max_messages = 64;
  size_t max_content_bytes = 4096;  // per message
  int max_tokens = 256;             // a request's max_tokens above this is an error
};

// A request the server answers with an error: the HTTP status and OpenAI's
// error object ({"error": {"message", "type", "param", "code"}}).
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the request field at fault; empty: none
  std::string code;   // a stable word for the kind of error ("invalid_json", "tools_mismatch", ...)
  nlohmann::ordered_json to_json() const;
  // to_json() as text, invalid UTF-8 (a message may quote the request's bytes) replaced.
  std::string body() const;
};

// A chat-completions request as the agent takes it.
struct ChatRequest {
  std::string model;           // as the client named it (not checked: the server serves one model)
  std::vector<Turn> history;   // earlier turns, with the calls each one made
  std::string text;            // the user turn to answer
  // The messages end with the assistant's answer to `text` (its tool calls,
  // usually followed by their results): the usual tool loop's last step. The
  // agent wrote its reply beside the calls, so that reply closes the turn.
  std::optional<std::vector<Call>> answered;
  std::string answered_reply;
  CallChoice tool_choice = CallChoice::Auto;
  std::string required_function;  // tool_choice {"type": "function", "function": {"name": ...}}
  bool stream = false;
  bool include_usage = false;     // stream_options.include_usage
  std::optional<int> max_tokens;  // max_tokens or max_completion_tokens
  std::optional<float> temperature;
  std::optional<uint64_t> seed;
};

struct ParsedRequest {
  ChatRequest request;
  std::optional<ApiError> error;  // set: answer with this instead
};

// Reads a request body. Every problem gives an error rather than an
// exception: a body over the limit (413), not JSON or not an object, missing
// or malformed messages (each conversation problem by message index), too
// many messages, a last user turn that is not acceptable text, `tools` that
// differ from the device's (named: the function or argument that differs),
// an unknown tool_choice, n other than 1, and out-of-range sampling fields.
ParsedRequest parse_chat_request(std::string_view body, const DomainSchema& schema, const RequestLimits& limits);

// Empty when a request's tools list describes the device's functions (names,
// argument names, types, values, ranges and which are required; descriptions
// and order aside), else what differs: "function 'set_mode': argument 'mode':
// values differ (the device has auto, sleep, manual; the request auto, turbo)".
std::string tools_difference(const DomainSchema& device, const DomainSchema& requested);

// The agent's options for one request: the server's, with the request's tool
// choice, reply budget and sampling.
AgentOptions request_agent_options(const AgentOptions& base, const ChatRequest& request);

// One answer, ready to be written in either form.
struct Completion {
  std::string id;          // "chatcmpl-..."
  int64_t created = 0;     // Unix seconds
  std::string model;
  std::vector<Call> calls;
  std::string reply;
  std::string call_id_prefix;  // tool call i gets id call_id_prefix + i
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  bool truncated = false;  // the reply was cut at its token budget
};

// A tool call in OpenAI's form, arguments as a JSON string.
nlohmann::ordered_json tool_call_json(const Call& call, const std::string& id);
// {"id", "object": "chat.completion", "created", "model", "choices": [...], "usage"}.
// finish_reason is "length" when the reply was cut at its token budget
// (max_tokens), else "tool_calls" when there are calls, else "stop".
nlohmann::ordered_json completion_json(const Completion& c);

// The streamed form, as server-sent events ("data: {chunk}\n\n"): the role
// first, one event per tool call, the reply in pieces as it is decoded, the
// finish reason, the usage if asked, and "data: [DONE]\n\n".
std::string role_event(const Completion& c);
std::string tool_call_event(const Completion& c, size_t index);  // c.calls[index]
std::string content_event(const Completion& c, std::string_view piece);
// The finish reason's chunk, the usage chunk if asked, and [DONE].
std::vector<std::string> finish_events(const Completion& c, bool include_usage);
// An error after the events began (the status is sent already): OpenAI's
// error object as one event, then [DONE].
std::vector<std::string> error_events(const ApiError& e);
// Every event of a finished answer, the reply in one piece.
std::vector<std::string> completion_events(const Completion& c, bool include_usage);

// GET /v1/models: the one model the server holds.
nlohmann::ordered_json models_json(const std::string& model, int64_t created);

// The device as the page draws it: name, description, the tools list, the
// state fields with their types and values, and the initial state.
nlohmann::ordered_json device_json(const DeviceSpec& device);

}  // namespace edgelm::server
