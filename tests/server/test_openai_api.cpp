// The request-to-agent layer of the server without sockets: good requests
// read into the conversation and options the agent takes, every kind of bad
// request gets its status, code and a message naming the problem, and
// answers come out in OpenAI's shapes (whole and as server-sent events).
#include <gtest/gtest.h>

#include "../agent/agent_test_util.h"
#include "domain/tools_json.h"
#include "server/openai_api.h"

namespace edgelm::server {
namespace {

const DomainSchema& schema() { return test::air_purifier_device()->schema; }

ParsedRequest parse(const nlohmann::json& body, const RequestLimits& limits = {}) {
  return parse_chat_request(body.dump(), schema(), limits);
}

nlohmann::json user(const std::string& text) { return {{"role", "user"}, {"content", text}}; }

nlohmann::json body_with(const std::string& text) { return {{"messages", nlohmann::json::array({user(text)})}}; }

nlohmann::json device_tools() { return nlohmann::json::parse(schema_to_tools_json(schema()).dump()); }

// The error of a request that must fail: its status and code, and a message that contains `words`.
void expect_error(const ParsedRequest& p, int status, const std::string& code, const std::string& words) {
  ASSERT_TRUE(p.error) << "expected " << code;
  EXPECT_EQ(p.error->status, status) << p.error->message;
  EXPECT_EQ(p.error->code, code) << p.error->message;
  EXPECT_NE(p.error->message.find(words), std::string::npos) << p.error->message;
  nlohmann::ordered_json j = p.error->to_json();
  EXPECT_EQ(j["error"]["message"], p.error->message);
  EXPECT_TRUE(j["error"]["type"].is_string());
}

TEST(ChatRequest, ReadsASimpleCommand) {
  ParsedRequest p = parse({{"model", "m"}, {"messages", {{{"role", "system"}, {"content", "be brief"}}, user("turn it on")}}});
  ASSERT_FALSE(p.error) << p.error->message;
  EXPECT_EQ(p.request.model, "m");
  EXPECT_EQ(p.request.text, "turn it on");
  EXPECT_TRUE(p.request.history.empty());
  EXPECT_FALSE(p.request.answered);
  EXPECT_EQ(p.request.tool_choice, CallChoice::Auto);
  EXPECT_FALSE(p.request.stream);
}

TEST(ChatRequest, ReadsEarlierTurnsWithToolCalls) {
  nlohmann::json messages = {
      user("turn it on"),
      {{"role", "assistant"}, {"content", "Power on."},
       {"tool_calls", {{{"id", "call_1"}, {"type", "function"},
                        {"function", {{"name", "set_power"}, {"arguments", R"({"state": "on"})"}}}}}}},
      {{"role", "tool"}, {"tool_call_id", "call_1"}, {"content", "ok"}},
      {{"role", "developer"}, {"content", "x"}},
      {{"role", "user"}, {"content", {{{"type", "text"}, {"text", "sleep "}}, {{"type", "text"}, {"text", "mode"}}}}}};
  ParsedRequest p = parse({{"messages", messages}, {"tools", device_tools()}, {"stream", true},
                           {"stream_options", {{"include_usage", true}}}, {"max_tokens", 20}, {"temperature", 0.5}, {"seed", 7}});
  ASSERT_FALSE(p.error) << p.error->message;
  ASSERT_EQ(p.request.history.size(), 1u);
  EXPECT_EQ(p.request.history[0].user, "turn it on");
  ASSERT_EQ(p.request.history[0].calls.size(), 1u);
  EXPECT_EQ(p.request.history[0].calls[0].name, "set_power");
  EXPECT_EQ(std::get<std::string>(p.request.history[0].calls[0].arguments.at("state")), "on");
  EXPECT_EQ(p.request.text, "sleep mode");
  EXPECT_TRUE(p.request.stream);
  EXPECT_TRUE(p.request.include_usage);
  EXPECT_EQ(p.request.max_tokens, 20);
  EXPECT_FLOAT_EQ(*p.request.temperature, 0.5f);
  EXPECT_EQ(p.request.seed, 7u);

  AgentOptions base;
  base.max_reply_tokens = 48;
  AgentOptions o = request_agent_options(base, p.request);
  EXPECT_EQ(o.max_reply_tokens, 20);
  EXPECT_FLOAT_EQ(o.sampler.temperature, 0.5f);
  EXPECT_EQ(o.sampler.seed, 7u);
  EXPECT_EQ(o.call_choice, CallChoice::Auto);
}

TEST(ChatRequest, TheToolLoopsLastStepIsAnswered) {
  nlohmann::json messages = {
      user("turn it on"),
      {{"role", "assistant"}, {"content", "Power on."},
       {"tool_calls", {{{"id", "c"}, {"type", "function"}, {"function", {{"name", "set_power"}, {"arguments", R"({"state":"on"})"}}}}}}},
      {{"role", "tool"}, {"tool_call_id", "c"}, {"content", "{\"ok\": true}"}}};
  ParsedRequest p = parse({{"messages", messages}});
  ASSERT_FALSE(p.error) << p.error->message;
  ASSERT_TRUE(p.request.answered);
  EXPECT_EQ(p.request.answered->size(), 1u);
  EXPECT_EQ(p.request.answered_reply, "Power on.");
}

TEST(ChatRequest, ToolChoices) {
  auto choice = [](nlohmann::json tc) {
    nlohmann::json b = body_with("hi");
    b["tool_choice"] = tc;
    return parse(b);
  };
  EXPECT_EQ(choice("none").request.tool_choice, CallChoice::None);
  EXPECT_EQ(choice("auto").request.tool_choice, CallChoice::Auto);
  EXPECT_EQ(choice("required").request.tool_choice, CallChoice::Required);
  ParsedRequest named = choice({{"type", "function"}, {"function", {{"name", "set_timer"}}}});
  ASSERT_FALSE(named.error);
  EXPECT_EQ(named.request.tool_choice, CallChoice::Required);
  EXPECT_EQ(named.request.required_function, "set_timer");
  AgentOptions o = request_agent_options({}, named.request);
  EXPECT_EQ(o.call_choice, CallChoice::Required);
  EXPECT_EQ(o.required_function, "set_timer");
  expect_error(choice("sometimes"), 400, "invalid_value", "tool_choice");
  expect_error(choice({{"type", "function"}, {"function", {{"name", "fly"}}}}), 400, "invalid_value", "'fly'");
}

TEST(ChatRequest, ToolsMustBeTheDevicesAndTheErrorSaysWhatDiffers) {
  // The device's own list, in another order, passes.
  nlohmann::json tools = device_tools();
  std::reverse(tools.begin(), tools.end());
  nlohmann::json b = body_with("hi");
  b["tools"] = tools;
  EXPECT_FALSE(parse(b).error);

  auto with_tools = [](nlohmann::json t) {
    nlohmann::json b = body_with("hi");
    b["tools"] = t;
    return parse(b);
  };
  nlohmann::json missing = device_tools();
  std::string dropped = missing[0]["function"]["name"];
  missing.erase(missing.begin());
  expect_error(with_tools(missing), 400, "tools_mismatch", "lacks the device's function '" + dropped + "'");

  nlohmann::json extra = device_tools();
  extra.push_back({{"type", "function"}, {"function", {{"name", "launch_rocket"}, {"parameters", {{"type", "object"}, {"properties", nlohmann::json::object()}}}}}});
  expect_error(with_tools(extra), 400, "tools_mismatch", "'launch_rocket' is not on the device");

  // An enum with another value, named by function and argument.
  nlohmann::json values = device_tools();
  bool changed = false;
  for (auto& t : values) {
    for (auto& [name, p] : t["function"]["parameters"]["properties"].items())
      if (p.contains("enum") && !changed) {
        p["enum"].push_back("turbo");
        changed = true;
        expect_error(with_tools(values), 400, "tools_mismatch",
                     "function '" + t["function"]["name"].get<std::string>() + "': argument '" + name + "': values differ");
      }
  }
  ASSERT_TRUE(changed);
  expect_error(with_tools("all"), 400, "invalid_type", "'tools' must be a list");
  expect_error(with_tools({{{"type", "function"}, {"function", {{"name", "x y"}}}}}), 400, "invalid_tools", "tools");
}

TEST(ToolsDifference, EveryBuiltInDeviceMatchesItsOwnToolsList) {
  for (const char* name : {"air-purifier", "smart-home"}) {
    DomainSchema s = load_device(resolve_domain_dir(name)).schema;
    DomainSchema back = schema_from_tools_json(schema_to_tools_json(s).dump(), "tools");
    EXPECT_EQ(tools_difference(s, back), "") << name;
  }
}

TEST(ChatRequest, EveryBadRequestKindGetsItsError) {
  RequestLimits small;
  small.max_body_bytes = 200;
  expect_error(parse_chat_request(std::string(300, ' '), schema(), small), 413, "body_too_large", "300 bytes");
  expect_error(parse_chat_request("{\"messages\": [", schema(), {}), 400, "invalid_json", "not valid JSON");
  expect_error(parse_chat_request(std::string(100, '[') + std::string(100, ']'), schema(), {}), 400, "invalid_json", "nested");
  expect_error(parse_chat_request("[1, 2]", schema(), {}), 400, "invalid_request", "JSON object");
  expect_error(parse({{"model", "m"}}), 400, "missing_field", "'messages' is required");
  expect_error(parse({{"messages", "hello"}}), 400, "invalid_messages", "must be a list");
  expect_error(parse({{"messages", nlohmann::json::array()}}), 400, "invalid_messages", "empty");
  RequestLimits few;
  few.max_messages = 2;
  expect_error(parse({{"messages", {user("a"), {{"role", "assistant"}, {"content", "b"}}, user("c")}}}, few), 400,
               "too_many_messages", "3 messages (at most 2)");
  expect_error(parse({{"messages", {user("a"), user("b")}}}), 400, "invalid_messages", "two user turns");
  expect_error(parse({{"messages", {{{"role", "robot"}, {"content", "a"}}}}}), 400, "invalid_messages", "unknown role 'robot'");
  expect_error(parse({{"messages", {{{"role", "user"}, {"content", {{{"type", "image_url"}}}}}}}}), 400, "invalid_messages",
               "only {\"type\": \"text\"");
  expect_error(parse({{"messages", {user("a"),
                                    {{"role", "assistant"}, {"tool_calls", {{{"type", "function"}, {"function", {{"name", "fly"}, {"arguments", "{}"}}}}}}},
                                    user("b")}}}),
               400, "invalid_messages", "message 1, tool call 0");
  expect_error(parse({{"messages", {user("a"),
                                    {{"role", "assistant"}, {"tool_calls", {{{"type", "function"}, {"function", {{"name", "set_power"}, {"arguments", "{not json"}}}}}}},
                                    user("b")}}}),
               400, "invalid_messages", "not valid JSON");
  expect_error(parse(body_with("bell \x07 ring")), 400, "invalid_messages", "control character");
  expect_error(parse({{"messages", {user(std::string(5000, 'a'))}}}), 400, "invalid_messages", "5000 bytes");
  nlohmann::json b = body_with("hi");
  b["n"] = 2;
  expect_error(parse(b), 400, "unsupported", "n = 1");
  b = body_with("hi");
  b["stream"] = "yes";
  expect_error(parse(b), 400, "invalid_type", "'stream'");
  for (nlohmann::json v : {nlohmann::json(0), nlohmann::json(1), nlohmann::json(100000), nlohmann::json("ten")}) {
    b = body_with("hi");
    b["max_tokens"] = v;
    expect_error(parse(b), 400, "invalid_value", "'max_tokens'");
  }
  b = body_with("hi");
  b["temperature"] = 3;
  expect_error(parse(b), 400, "invalid_value", "'temperature'");
  b = body_with("hi");
  b["seed"] = "x";
  expect_error(parse(b), 400, "invalid_type", "'seed'");
  b = body_with("hi");
  b["model"] = 5;
  expect_error(parse(b), 400, "invalid_type", "'model'");
}

TEST(ChatRequest, AnErrorQuotingInvalidUTF8StillWritesValidJSON) {
  // The JSON parser's message quotes the bytes it stopped at (found by fuzz_chat_request).
  for (std::string body : {std::string("{\"messages\": [{\"role\": \"user\", \"content\": \"on \x8c\x8c"),
                           std::string("{\"messages\": \xff\xfe}")}) {
    ParsedRequest p = parse_chat_request(body, schema(), {});
    ASSERT_TRUE(p.error);
    nlohmann::json j = nlohmann::json::parse(p.error->body());
    EXPECT_EQ(j["error"]["code"], "invalid_json");
  }
}

Completion sample_completion() {
  Completion c;
  c.id = "chatcmpl-x";
  c.created = 1700000000;
  c.model = "tiny";
  c.calls = {Call{"set_mode", {{"mode", std::string("sleep")}}}, Call{"set_timer", {{"minutes", int64_t(90)}}}};
  c.reply = "Sleep mode, 90 minutes.";
  c.call_id_prefix = "call_x_";
  c.prompt_tokens = 30;
  c.completion_tokens = 12;
  return c;
}

TEST(ChatResponse, CompletionInOpenAIsShape) {
  nlohmann::json j = nlohmann::json::parse(completion_json(sample_completion()).dump());
  EXPECT_EQ(j["object"], "chat.completion");
  EXPECT_EQ(j["model"], "tiny");
  const auto& choice = j["choices"][0];
  EXPECT_EQ(choice["finish_reason"], "tool_calls");
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_EQ(choice["message"]["content"], "Sleep mode, 90 minutes.");
  ASSERT_EQ(choice["message"]["tool_calls"].size(), 2u);
  const auto& call = choice["message"]["tool_calls"][1];
  EXPECT_EQ(call["id"], "call_x_1");
  EXPECT_EQ(call["type"], "function");
  EXPECT_EQ(call["function"]["name"], "set_timer");
  ASSERT_TRUE(call["function"]["arguments"].is_string());
  EXPECT_EQ(nlohmann::json::parse(call["function"]["arguments"].get<std::string>()), nlohmann::json({{"minutes", 90}}));
  // The arguments read back to the same call, as the next request's history does.
  EXPECT_EQ(call_from_tool_call(call, schema()), sample_completion().calls[1]);
  EXPECT_EQ(j["usage"]["total_tokens"], 42);

  Completion plain = sample_completion();
  plain.calls.clear();
  nlohmann::json p = nlohmann::json::parse(completion_json(plain).dump());
  EXPECT_EQ(p["choices"][0]["finish_reason"], "stop");
  EXPECT_FALSE(p["choices"][0]["message"].contains("tool_calls"));
}

TEST(ChatResponse, StreamedEventsAddUpToTheCompletion) {
  Completion c = sample_completion();
  std::vector<std::string> events = completion_events(c, /*include_usage=*/true);
  ASSERT_GE(events.size(), 5u);
  EXPECT_EQ(events.back(), "data: [DONE]\n\n");
  std::string content, finish;
  std::vector<nlohmann::json> calls;
  bool usage = false;
  for (size_t i = 0; i + 1 < events.size(); ++i) {
    const std::string& e = events[i];
    ASSERT_EQ(e.rfind("data: ", 0), 0u);
    ASSERT_EQ(e.substr(e.size() - 2), "\n\n");
    nlohmann::json j = nlohmann::json::parse(e.substr(6));
    EXPECT_EQ(j["object"], "chat.completion.chunk");
    EXPECT_EQ(j["id"], c.id);
    if (j["choices"].empty()) {
      usage = true;
      EXPECT_EQ(j["usage"]["completion_tokens"], 12);
      continue;
    }
    const auto& d = j["choices"][0]["delta"];
    if (i == 0) {
      EXPECT_EQ(d["role"], "assistant");
    }
    if (d.contains("content")) content += d["content"].get<std::string>();
    if (d.contains("tool_calls"))
      for (const auto& tc : d["tool_calls"]) {
        EXPECT_EQ(tc["index"], calls.size());
        calls.push_back(tc);
      }
    if (!j["choices"][0]["finish_reason"].is_null()) finish = j["choices"][0]["finish_reason"];
  }
  EXPECT_TRUE(usage);
  EXPECT_EQ(content, c.reply);
  EXPECT_EQ(finish, "tool_calls");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(call_from_tool_call(calls[0], schema()), c.calls[0]);
  EXPECT_EQ(calls[0]["id"], "call_x_0");
}

TEST(DeviceDescription, ListsToolsFieldsAndState) {
  nlohmann::json j = nlohmann::json::parse(device_json(*test::air_purifier_device()).dump());
  EXPECT_EQ(j["name"], schema().name);
  EXPECT_EQ(j["tools"].size(), schema().functions.size());
  EXPECT_EQ(j["fields"].size(), test::air_purifier_device()->fields.size());
  EXPECT_TRUE(j["state"].is_object());
  EXPECT_FALSE(j["state"].empty());
}

}  // namespace
}  // namespace edgelm::server
