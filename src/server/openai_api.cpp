#include "server/openai_api.h"

#include <algorithm>
#include <set>

#include "agent/format.h"
#include "domain/tools_json.h"
#include "platform/error.h"

namespace edgelm::server {
namespace {

using ojson = nlohmann::ordered_json;

// Requests are small; deeper nesting than this is no conversation, and
// refusing it before parsing keeps every later walk over the value shallow.
constexpr int kMaxJsonDepth = 32;

ApiError bad(std::string param, std::string code, std::string message, int status = 400) {
  ApiError e;
  e.status = status;
  e.param = std::move(param);
  e.code = std::move(code);
  e.message = std::move(message);
  return e;
}

// The deepest nesting of arrays and objects in `text` (strings skipped), or
// kMaxJsonDepth + 1 as soon as it goes past the limit.
int json_depth(std::string_view text) {
  int depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char ch : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (ch == '\\') escaped = true;
      else if (ch == '"') in_string = false;
      continue;
    }
    if (ch == '"') in_string = true;
    else if (ch == '[' || ch == '{') {
      deepest = std::max(deepest, ++depth);
      if (deepest > kMaxJsonDepth) return deepest;
    } else if (ch == ']' || ch == '}') --depth;
  }
  return deepest;
}

std::string json_type_name(const nlohmann::json& j) { return j.type_name(); }

// OpenAI's message forms that the conversation reader does not take: the
// "developer" role (a system message by another name) and content as a list
// of parts, of which only text parts can mean anything to a device agent.
std::optional<ApiError> normalise_messages(nlohmann::json& messages) {
  if (!messages.is_array()) return std::nullopt;  // parse_conversation names the problem
  for (size_t i = 0; i < messages.size(); ++i) {
    nlohmann::json& m = messages[i];
    if (!m.is_object()) continue;
    if (m.contains("role") && m["role"] == "developer") m["role"] = "system";
    if (!m.contains("content") || !m["content"].is_array()) continue;
    std::string text;
    const nlohmann::json& parts = m["content"];
    for (size_t k = 0; k < parts.size(); ++k) {
      const nlohmann::json& p = parts[k];
      if (!p.is_object() || !p.contains("type") || p["type"] != "text" || !p.contains("text") || !p["text"].is_string())
        return bad("messages", "invalid_messages",
                   cat("message ", i, ", content part ", k, ": only {\"type\": \"text\", \"text\": ...} parts are understood"));
      text += p["text"].get<std::string>();
    }
    m["content"] = text;
  }
  return std::nullopt;
}

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

std::string argument_difference(const ArgumentSpec& d, const ArgumentSpec& r) {
  if (d.type != r.type)
    return cat("type differs (the device has ", arg_type_name(d.type), ", the request ", arg_type_name(r.type), ")");
  if (d.optional != r.optional)
    return d.optional ? "the device has it optional, the request required" : "the device requires it, the request has it optional";
  switch (d.type) {
    case ArgType::Enum:
      if (std::set<std::string>(d.values.begin(), d.values.end()) != std::set<std::string>(r.values.begin(), r.values.end()))
        return cat("values differ (the device has ", join(d.values), "; the request ", join(r.values), ")");
      break;
    case ArgType::Integer:
      if (d.min != r.min || d.max != r.max)
        return cat("range differs (the device has ", d.min, "..", d.max, ", the request ", r.min, "..", r.max, ")");
      break;
    case ArgType::Number:
      if (d.min_number != r.min_number || d.max_number != r.max_number)
        return cat("range differs (the device has ", number_text(d.min_number), "..", number_text(d.max_number),
                   ", the request ", number_text(r.min_number), "..", number_text(r.max_number), ")");
      break;
    case ArgType::String:
      if (d.max_length != r.max_length)
        return cat("maxLength differs (the device has ", d.max_length, ", the request ", r.max_length, ")");
      break;
    case ArgType::Boolean:
      break;
  }
  return "";
}

}  // namespace

ojson ApiError::to_json() const {
  ojson e = {{"message", message}, {"type", type}, {"param", param.empty() ? ojson(nullptr) : ojson(param)},
             {"code", code.empty() ? ojson(nullptr) : ojson(code)}};
  return {{"error", e}};
}

std::string ApiError::body() const {
  return to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string tools_difference(const DomainSchema& device, const DomainSchema& requested) {
  std::vector<std::string> names;
  for (const auto& f : device.functions) names.push_back(f.name);
  for (const auto& f : requested.functions)
    if (!device.find(f.name)) return cat("function '", f.name, "' is not on the device (it has ", join(names), ")");
  for (const auto& f : device.functions) {
    const FunctionSpec* r = requested.find(f.name);
    if (!r) return cat("the request lacks the device's function '", f.name, "'");
    for (const auto& ra : r->arguments)
      if (!f.find_argument(ra.name)) return cat("function '", f.name, "': argument '", ra.name, "' is not the device's");
    for (const auto& a : f.arguments) {
      const ArgumentSpec* ra = r->find_argument(a.name);
      if (!ra) return cat("function '", f.name, "': the request lacks argument '", a.name, "'");
      if (std::string why = argument_difference(a, *ra); !why.empty())
        return cat("function '", f.name, "': argument '", a.name, "': ", why);
    }
  }
  return "";
}

ParsedRequest parse_chat_request(std::string_view body, const DomainSchema& schema, const RequestLimits& limits) {
  ParsedRequest out;
  ChatRequest& r = out.request;
  auto error = [&](ApiError e) {
    out.error = std::move(e);
    return out;
  };
  if (body.size() > limits.max_body_bytes)
    return error(bad("", "body_too_large",
                     cat("request body of ", body.size(), " bytes (at most ", limits.max_body_bytes, ")"), 413));
  if (json_depth(body) > kMaxJsonDepth)
    return error(bad("", "invalid_json", cat("JSON nested deeper than ", kMaxJsonDepth, " levels")));
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(body);
  } catch (const nlohmann::json::exception& e) {
    std::string what = e.what();
    size_t bracket = what.find("] ");
    return error(bad("", "invalid_json",
                     "the body is not valid JSON (" + (bracket == std::string::npos ? what : what.substr(bracket + 2)) + ")"));
  }
  if (!j.is_object()) return error(bad("", "invalid_request", "the body must be a JSON object, not " + json_type_name(j)));

  if (j.contains("model") && !j["model"].is_null()) {
    if (!j["model"].is_string()) return error(bad("model", "invalid_type", "'model' must be a string"));
    r.model = j["model"].get<std::string>();
  }
  if (j.contains("n") && !j["n"].is_null() && j["n"] != 1)
    return error(bad("n", "unsupported", "only n = 1 is supported (one answer per request)"));

  // Sampling and length.
  if (j.contains("stream") && !j["stream"].is_null()) {
    if (!j["stream"].is_boolean()) return error(bad("stream", "invalid_type", "'stream' must be true or false"));
    r.stream = j["stream"].get<bool>();
  }
  if (j.contains("stream_options") && !j["stream_options"].is_null()) {
    const nlohmann::json& so = j["stream_options"];
    if (!so.is_object()) return error(bad("stream_options", "invalid_type", "'stream_options' must be an object"));
    if (so.contains("include_usage")) {
      if (!so["include_usage"].is_boolean())
        return error(bad("stream_options.include_usage", "invalid_type", "'include_usage' must be true or false"));
      r.include_usage = so["include_usage"].get<bool>();
    }
  }
  for (const char* key : {"max_tokens", "max_completion_tokens"}) {
    if (!j.contains(key) || j[key].is_null()) continue;
    const nlohmann::json& v = j[key];
    // At least 2: the reply's grammar needs a token to end on a whole character.
    if (!v.is_number_integer() || v.get<int64_t>() < 2 || v.get<int64_t>() > limits.max_tokens)
      return error(bad(key, "invalid_value", cat("'", key, "' must be an integer in 2..", limits.max_tokens)));
    r.max_tokens = int(v.get<int64_t>());
  }
  if (j.contains("temperature") && !j["temperature"].is_null()) {
    const nlohmann::json& v = j["temperature"];
    if (!v.is_number() || !(v.get<double>() >= 0 && v.get<double>() <= 2))
      return error(bad("temperature", "invalid_value", "'temperature' must be a number in 0..2"));
    r.temperature = float(v.get<double>());
  }
  if (j.contains("seed") && !j["seed"].is_null()) {
    const nlohmann::json& v = j["seed"];
    if (!v.is_number_integer()) return error(bad("seed", "invalid_type", "'seed' must be an integer"));
    r.seed = v.is_number_unsigned() ? v.get<uint64_t>() : uint64_t(v.get<int64_t>());
  }

  // The tools must be the device's: the model only knows its own functions.
  if (j.contains("tools") && !j["tools"].is_null()) {
    const nlohmann::json& tools = j["tools"];
    if (!tools.is_array()) return error(bad("tools", "invalid_type", "'tools' must be a list"));
    DomainSchema requested;
    try {
      requested = schema_from_tools_json(tools.dump(), "tools");
    } catch (const Error& e) {
      return error(bad("tools", "invalid_tools", e.what()));
    }
    if (std::string why = tools_difference(schema, requested); !why.empty())
      return error(bad("tools", "tools_mismatch",
                       "tools differ from the device's: " + why + " (GET /v1/device lists the device's tools)"));
  }
  if (j.contains("tool_choice") && !j["tool_choice"].is_null()) {
    const nlohmann::json& tc = j["tool_choice"];
    if (tc == "auto") r.tool_choice = CallChoice::Auto;
    else if (tc == "none") r.tool_choice = CallChoice::None;
    else if (tc == "required") r.tool_choice = CallChoice::Required;
    else if (tc.is_object() && tc.contains("function") && tc["function"].is_object() && tc["function"].contains("name") &&
             tc["function"]["name"].is_string()) {
      std::string name = tc["function"]["name"].get<std::string>();
      if (!schema.find(name))
        return error(bad("tool_choice", "invalid_value", cat("tool_choice names '", name, "', which is not a function of the device")));
      r.tool_choice = CallChoice::Required;
      r.required_function = name;
    } else {
      return error(bad("tool_choice", "invalid_value",
                       "'tool_choice' must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\": ...}}"));
    }
  }

  // The conversation.
  if (!j.contains("messages")) return error(bad("messages", "missing_field", "'messages' is required"));
  nlohmann::json& messages = j["messages"];
  if (messages.is_array() && messages.size() > limits.max_messages)
    return error(bad("messages", "too_many_messages",
                     cat("'messages' has ", messages.size(), " messages (at most ", limits.max_messages, ")")));
  if (auto e = normalise_messages(messages)) return error(*e);
  Conversation conv;
  try {
    conv = parse_conversation(messages, schema, {limits.max_messages, limits.max_content_bytes});
  } catch (const Error& e) {
    return error(bad("messages", "invalid_messages", cat("messages: ", e.what())));
  }
  r.history = std::move(conv.history);
  r.text = std::move(conv.last_user);
  if (conv.answer) {
    r.answered = std::move(conv.answer);
    r.answered_reply = std::move(conv.answer_reply);
  } else if (std::string why = check_user_text(r.text, limits.max_content_bytes); !why.empty()) {
    return error(bad("messages", "invalid_messages", "the last user message: " + why));
  }
  return out;
}

AgentOptions request_agent_options(const AgentOptions& base, const ChatRequest& request) {
  AgentOptions o = base;
  o.call_choice = request.tool_choice;
  o.required_function = request.required_function;
  if (request.max_tokens) o.max_reply_tokens = std::min(base.max_reply_tokens, *request.max_tokens);
  if (request.temperature) o.sampler.temperature = *request.temperature;
  if (request.seed) o.sampler.seed = *request.seed;
  return o;
}

ojson tool_call_json(const Call& call, const std::string& id) {
  nlohmann::json arguments = call_to_json(call)["arguments"];
  return {{"id", id},
          {"type", "function"},
          {"function", {{"name", call.name}, {"arguments", arguments.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)}}}};
}

namespace {

const char* finish_reason(const Completion& c) {
  if (c.truncated) return "length";
  return c.calls.empty() ? "stop" : "tool_calls";
}

ojson usage_json(const Completion& c) {
  return {{"prompt_tokens", c.prompt_tokens},
          {"completion_tokens", c.completion_tokens},
          {"total_tokens", c.prompt_tokens + c.completion_tokens}};
}

ojson chunk(const Completion& c, ojson delta, const char* finish) {
  ojson choice = {{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr},
                  {"finish_reason", finish ? ojson(finish) : ojson(nullptr)}};
  return {{"id", c.id}, {"object", "chat.completion.chunk"}, {"created", c.created}, {"model", c.model},
          {"choices", ojson::array({choice})}};
}

std::string event(const ojson& j) {
  return "data: " + j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n\n";
}

}  // namespace

ojson completion_json(const Completion& c) {
  ojson message = {{"role", "assistant"}};
  // OpenAI sends null content beside tool calls; the agent's reply goes with
  // them, so a client that shows content shows what the device says.
  message["content"] = c.reply.empty() && !c.calls.empty() ? ojson(nullptr) : ojson(c.reply);
  if (!c.calls.empty()) {
    ojson calls = ojson::array();
    for (size_t i = 0; i < c.calls.size(); ++i) calls.push_back(tool_call_json(c.calls[i], c.call_id_prefix + std::to_string(i)));
    message["tool_calls"] = std::move(calls);
  }
  ojson choice = {{"index", 0}, {"message", std::move(message)}, {"logprobs", nullptr}, {"finish_reason", finish_reason(c)}};
  return {{"id", c.id},       {"object", "chat.completion"},        {"created", c.created},
          {"model", c.model}, {"choices", ojson::array({choice})}, {"usage", usage_json(c)}};
}

std::string role_event(const Completion& c) { return event(chunk(c, {{"role", "assistant"}, {"content", ""}}, nullptr)); }

std::string tool_call_event(const Completion& c, size_t index) {
  ojson call = tool_call_json(c.calls.at(index), c.call_id_prefix + std::to_string(index));
  ojson indexed = {{"index", index}};
  for (auto it = call.begin(); it != call.end(); ++it) indexed[it.key()] = it.value();
  return event(chunk(c, {{"tool_calls", ojson::array({indexed})}}, nullptr));
}

std::string content_event(const Completion& c, std::string_view piece) {
  return event(chunk(c, {{"content", std::string(piece)}}, nullptr));
}

std::vector<std::string> finish_events(const Completion& c, bool include_usage) {
  std::vector<std::string> events;
  events.push_back(event(chunk(c, ojson::object(), finish_reason(c))));
  if (include_usage) {
    ojson u = {{"id", c.id}, {"object", "chat.completion.chunk"}, {"created", c.created}, {"model", c.model},
               {"choices", ojson::array()}, {"usage", usage_json(c)}};
    events.push_back(event(u));
  }
  events.push_back("data: [DONE]\n\n");
  return events;
}

std::vector<std::string> error_events(const ApiError& e) { return {event(e.to_json()), "data: [DONE]\n\n"}; }

std::vector<std::string> completion_events(const Completion& c, bool include_usage) {
  std::vector<std::string> events = {role_event(c)};
  for (size_t i = 0; i < c.calls.size(); ++i) events.push_back(tool_call_event(c, i));
  if (!c.reply.empty()) events.push_back(content_event(c, c.reply));
  for (std::string& e : finish_events(c, include_usage)) events.push_back(std::move(e));
  return events;
}

ojson models_json(const std::string& model, int64_t created) {
  ojson m = {{"id", model}, {"object", "model"}, {"created", created}, {"owned_by", "edgelm"}};
  return {{"object", "list"}, {"data", ojson::array({m})}};
}

ojson device_json(const DeviceSpec& device) {
  ojson fields = ojson::array();
  for (const StateField& f : device.fields) {
    ojson j = {{"name", f.name}, {"type", arg_type_name(f.type)}};
    if (!f.values.empty()) j["values"] = f.values;
    if (f.min) j["min"] = *f.min;
    if (f.max) j["max"] = *f.max;
    if (!f.keys.empty()) j["keys"] = f.keys;
    fields.push_back(std::move(j));
  }
  Device initial(std::make_shared<const DeviceSpec>(device));
  return {{"name", device.schema.name},
          {"description", device.schema.description},
          {"tools", schema_to_tools_json(device.schema)},
          {"fields", std::move(fields)},
          {"state", ojson(initial.state_json())}};
}

}  // namespace edgelm::server
