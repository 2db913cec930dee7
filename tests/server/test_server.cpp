// `edgelm serve` in-process on an ephemeral loopback port with the tiny test
// model, driven by httplib's client: tool calls equal what the agent and
// `edgelm predict` give for the same commands, a multi-turn conversation,
// streaming, tool choices, concurrent requests, the device endpoints, and
// errors with JSON bodies.
#include <gtest/gtest.h>
#include <httplib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "../agent/agent_test_util.h"
#include "server/server.h"

namespace edgelm::server {
namespace {

struct RunningServer {
  std::unique_ptr<Server> server;
  std::thread thread;
  int port = 0;
  RunningServer() {
    const auto& m = test::tiny_agent_model();
    ServerOptions o;
    o.port = 0;
    o.parallel = 2;
    o.http_threads = 8;
    o.model_name = "tiny";
    o.agent = test::acting_freely();
    server = std::make_unique<Server>(m.model, m.device, o);
    port = server->bind();
    thread = std::thread([this] { server->run(); });
    httplib::Client c("127.0.0.1", port);
    for (int i = 0; i < 200; ++i) {
      if (auto r = c.Get("/health"); r && r->status == 200) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ADD_FAILURE() << "the server did not come up";
  }
  ~RunningServer() {
    server->stop();
    thread.join();
  }
};

RunningServer& running() {
  static RunningServer* s = new RunningServer;  // lives for the test program; stopped at exit
  static struct Stop {
    ~Stop() { delete s; }
  } stop;
  return *s;
}

httplib::Client client() {
  httplib::Client c("127.0.0.1", running().port);
  c.set_read_timeout(30, 0);
  return c;
}

nlohmann::json post(const std::string& path, const nlohmann::json& body, int* status = nullptr) {
  auto r = client().Post(path.c_str(), body.dump(), "application/json");
  EXPECT_TRUE(r) << "no response";
  if (!r) return nullptr;
  if (status) *status = r->status;
  else EXPECT_EQ(r->status, 200) << r->body;
  return nlohmann::json::parse(r->body);
}

nlohmann::json chat(const nlohmann::json& messages, nlohmann::json extra = nlohmann::json::object()) {
  extra["messages"] = messages;
  extra["model"] = "tiny";
  return post("/v1/chat/completions", extra);
}

std::vector<Call> calls_of(const nlohmann::json& completion) {
  std::vector<Call> calls;
  const auto& msg = completion["choices"][0]["message"];
  if (msg.contains("tool_calls"))
    for (const auto& tc : msg["tool_calls"]) calls.push_back(call_from_tool_call(tc, test::air_purifier_schema()));
  return calls;
}

std::string content_of(const nlohmann::json& completion) {
  const auto& c = completion["choices"][0]["message"]["content"];
  return c.is_string() ? c.get<std::string>() : "";
}

const std::vector<std::string> kCommands = {"turn it on", "set a timer for 90 minutes", "sleep mode please",
                                            "공기 질 어때?", "turn it off and cancel the timer"};

TEST(Server, ToolCallsEqualTheAgentsAndPredicts) {
  const auto& m = test::tiny_agent_model();
  Agent agent(m.model, m.device);
  // edgelm predict on the same model and commands.
  std::string dir = (std::filesystem::temp_directory_path() / ("edgelm_serve_test_" + std::to_string(getpid()))).string();
  std::filesystem::create_directories(dir);
  {
    std::ofstream in(dir + "/in.jsonl");
    for (size_t i = 0; i < kCommands.size(); ++i) in << nlohmann::json({{"id", i}, {"text", kCommands[i]}}).dump() << "\n";
  }
  std::string cmd = std::string(EDGELM_BIN) + " predict --threads 1 --model " + m.path + " --input " + dir +
                    "/in.jsonl --output " + dir + "/out.jsonl 2>/dev/null";
  ASSERT_EQ(std::system(cmd.c_str()), 0);
  std::ifstream out(dir + "/out.jsonl");
  std::string line;
  for (size_t i = 0; i < kCommands.size(); ++i) {
    ASSERT_TRUE(std::getline(out, line));
    nlohmann::json predicted = nlohmann::json::parse(line);
    nlohmann::json completion = chat({{{"role", "user"}, {"content", kCommands[i]}}});
    std::vector<Call> calls = calls_of(completion);
    AgentAnswer a = agent.respond(kCommands[i]);
    EXPECT_EQ(calls, a.calls) << kCommands[i];
    EXPECT_EQ(content_of(completion), a.reply) << kCommands[i];
    std::vector<Call> predicted_calls;
    for (const auto& c : predicted["calls"]) predicted_calls.push_back(call_from_json(c, test::air_purifier_schema()));
    EXPECT_EQ(calls, predicted_calls) << kCommands[i];
    EXPECT_EQ(content_of(completion), predicted["reply"]) << kCommands[i];
    // The tiny model's replies run to their budget: "length", as OpenAI says of a cut reply.
    EXPECT_EQ(completion["choices"][0]["finish_reason"], a.truncated ? "length" : calls.empty() ? "stop" : "tool_calls");
    EXPECT_EQ(completion["usage"]["completion_tokens"], a.tokens_generated);
    EXPECT_GT(completion["usage"]["prompt_tokens"].get<int>(), 0);
  }
  std::filesystem::remove_all(dir);
}

TEST(Server, AMultiTurnConversationIsAnsweredAsTheAgentDoes) {
  const auto& m = test::tiny_agent_model();
  nlohmann::json messages = {{{"role", "user"}, {"content", "turn it on"}}};
  nlohmann::json first = chat(messages);
  nlohmann::json assistant = first["choices"][0]["message"];
  messages.push_back(assistant);
  if (assistant.contains("tool_calls"))
    for (const auto& tc : assistant["tool_calls"])
      messages.push_back({{"role", "tool"}, {"tool_call_id", tc["id"]}, {"content", "done"}});
  messages.push_back({{"role", "user"}, {"content", "now sleep mode"}});
  nlohmann::json second = chat(messages);

  // The agent, given the same history with the first turn's calls executed on the device.
  Agent agent(m.model, m.device);
  Device device(m.device);
  std::vector<Turn> history = {{"turn it on", calls_of(first)}};
  for (const Call& c : history[0].calls) device.execute(c);
  AgentAnswer a = agent.respond("now sleep mode", &device, history);
  EXPECT_EQ(calls_of(second), a.calls);
  EXPECT_EQ(content_of(second), a.reply);

  // The tool loop's last step (the results sent back) closes the turn with the reply, no new calls.
  nlohmann::json closing = nlohmann::json::array({{{"role", "user"}, {"content", "turn it on"}}, assistant});
  if (assistant.contains("tool_calls")) {
    for (const auto& tc : assistant["tool_calls"]) closing.push_back({{"role", "tool"}, {"tool_call_id", tc["id"]}, {"content", "ok"}});
    nlohmann::json last = chat(closing);
    EXPECT_EQ(last["choices"][0]["finish_reason"], "stop");
    EXPECT_FALSE(last["choices"][0]["message"].contains("tool_calls"));
    EXPECT_EQ(content_of(last), content_of(first));
  }
}

TEST(Server, StreamingGivesTheSameAnswerAsServerSentEvents) {
  for (const std::string& text : kCommands) {
    nlohmann::json messages = {{{"role", "user"}, {"content", text}}};
    nlohmann::json whole = chat(messages);
    nlohmann::json body = {{"messages", messages}, {"stream", true}, {"stream_options", {{"include_usage", true}}}};
    auto r = client().Post("/v1/chat/completions", body.dump(), "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/event-stream", 0), 0u);
    std::istringstream in(r->body);
    std::string line, content, finish;
    std::vector<Call> calls;
    bool done = false;
    while (std::getline(in, line)) {
      if (line.empty()) continue;
      ASSERT_EQ(line.rfind("data: ", 0), 0u) << line;
      std::string data = line.substr(6);
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      nlohmann::json j = nlohmann::json::parse(data);
      if (j["choices"].empty()) continue;  // usage
      const auto& d = j["choices"][0]["delta"];
      if (d.contains("content")) content += d["content"].get<std::string>();
      if (d.contains("tool_calls"))
        for (const auto& tc : d["tool_calls"]) calls.push_back(call_from_tool_call(tc, test::air_purifier_schema()));
      if (!j["choices"][0]["finish_reason"].is_null()) finish = j["choices"][0]["finish_reason"];
    }
    EXPECT_TRUE(done);
    EXPECT_EQ(calls, calls_of(whole)) << text;
    EXPECT_EQ(content, content_of(whole)) << text;
    EXPECT_EQ(finish, whole["choices"][0]["finish_reason"]) << text;
  }
}

// The events of a streamed completion: the calls, the reply, the finish reason.
struct Streamed {
  std::vector<Call> calls;
  std::string content, finish;
  int content_events = 0;
};
Streamed stream(const nlohmann::json& body) {
  Streamed s;
  nlohmann::json b = body;
  b["stream"] = true;
  auto r = client().Post("/v1/chat/completions", b.dump(), "application/json");
  EXPECT_TRUE(r && r->status == 200);
  if (!r) return s;
  std::istringstream in(r->body);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("data: {", 0) != 0) continue;
    nlohmann::json j = nlohmann::json::parse(line.substr(6));
    if (j["choices"].empty()) continue;
    const auto& d = j["choices"][0]["delta"];
    if (d.contains("content") && d["content"] != "") s.content += d["content"].get<std::string>(), ++s.content_events;
    if (d.contains("tool_calls"))
      for (const auto& tc : d["tool_calls"]) s.calls.push_back(call_from_tool_call(tc, test::air_purifier_schema()));
    if (!j["choices"][0]["finish_reason"].is_null()) s.finish = j["choices"][0]["finish_reason"];
  }
  return s;
}

TEST(Server, MaxTokensCutsTheReplyWithFinishReasonLength) {
  const auto& m = test::tiny_agent_model();
  AgentOptions o = test::acting_freely();
  o.max_reply_tokens = 2;
  Agent agent(m.model, m.device, o);
  int cut = 0, pieces = 0;
  for (const std::string& text : kCommands) {
    nlohmann::json messages = {{{"role", "user"}, {"content", text}}};
    AgentAnswer a = agent.respond(text);
    nlohmann::json j = chat(messages, {{"max_tokens", 2}});
    const std::string expected = a.truncated ? "length" : a.calls.empty() ? "stop" : "tool_calls";
    EXPECT_EQ(j["choices"][0]["finish_reason"], expected) << text;
    EXPECT_EQ(content_of(j), a.reply) << text;
    Streamed s = stream({{"messages", messages}, {"max_tokens", 2}});
    EXPECT_EQ(s.finish, expected) << text;
    EXPECT_EQ(s.content, a.reply) << text;
    cut += a.truncated;
    // Unlimited, the reply streams in pieces as it is decoded.
    Streamed full = stream({{"messages", messages}});
    pieces = std::max(pieces, full.content_events);
  }
  EXPECT_GT(cut, 0);
  EXPECT_GT(pieces, 1) << "no streamed reply came in more than one piece";
}

TEST(Server, ToolChoiceNoneAndRequired) {
  for (const std::string& text : kCommands) {
    nlohmann::json messages = {{{"role", "user"}, {"content", text}}};
    nlohmann::json none = chat(messages, {{"tool_choice", "none"}});
    EXPECT_TRUE(calls_of(none).empty()) << text;
    EXPECT_NE(none["choices"][0]["finish_reason"], "tool_calls");
    nlohmann::json required = chat(messages, {{"tool_choice", "required"}});
    EXPECT_FALSE(calls_of(required).empty()) << text;
    nlohmann::json named = chat(messages, {{"tool_choice", {{"type", "function"}, {"function", {{"name", "set_timer"}}}}}});
    ASSERT_FALSE(calls_of(named).empty()) << text;
    EXPECT_EQ(calls_of(named)[0].name, "set_timer");
  }
}

TEST(Server, ConcurrentRequestsGetTheSameAnswersAsOneAtATime) {
  std::vector<nlohmann::json> alone;
  for (const auto& text : kCommands) alone.push_back(chat({{{"role", "user"}, {"content", text}}}));
  std::vector<std::thread> threads;
  std::vector<int> mismatches(6, 0);
  for (int t = 0; t < 6; ++t)
    threads.emplace_back([&, t] {
      for (int k = 0; k < 4; ++k) {
        size_t i = size_t(t + k) % kCommands.size();
        auto r = client().Post("/v1/chat/completions",
                               nlohmann::json({{"messages", {{{"role", "user"}, {"content", kCommands[i]}}}}}).dump(),
                               "application/json");
        if (!r || r->status != 200) {
          ++mismatches[size_t(t)];
          continue;
        }
        nlohmann::json j = nlohmann::json::parse(r->body);
        if (j["choices"] != alone[i]["choices"]) {
          // Only the ids differ between two answers to the same command.
          nlohmann::json a = j["choices"], b = alone[i]["choices"];
          for (auto* x : {&a, &b})
            if ((*x)[0]["message"].contains("tool_calls"))
              for (auto& tc : (*x)[0]["message"]["tool_calls"]) tc.erase("id");
          if (a != b) ++mismatches[size_t(t)];
        }
      }
    });
  for (auto& t : threads) t.join();
  for (int t = 0; t < 6; ++t) EXPECT_EQ(mismatches[size_t(t)], 0) << "thread " << t;
}

TEST(Server, ModelsHealthDeviceAndPage) {
  auto c = client();
  auto models = c.Get("/v1/models");
  ASSERT_TRUE(models);
  nlohmann::json m = nlohmann::json::parse(models->body);
  EXPECT_EQ(m["object"], "list");
  EXPECT_EQ(m["data"][0]["id"], "tiny");
  auto health = c.Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(nlohmann::json::parse(health->body)["status"], "ok");
  auto device = c.Get("/v1/device");
  ASSERT_TRUE(device);
  nlohmann::json d = nlohmann::json::parse(device->body);
  EXPECT_EQ(d["tools"].size(), test::air_purifier_schema().functions.size());
  auto page = c.Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("/v1/device/command"), std::string::npos);
  EXPECT_EQ(page->body.find("http://"), std::string::npos);   // nothing fetched from elsewhere
  EXPECT_EQ(page->body.find("https://"), std::string::npos);

  // A command from the page: calls, reply and the state they left.
  nlohmann::json r = post("/v1/device/command", {{"messages", {{{"role", "user"}, {"content", "turn it on"}}}}});
  const auto& tiny = test::tiny_agent_model();
  Agent agent(tiny.model, tiny.device);
  Device dev(tiny.device);
  AgentAnswer a = agent.respond("turn it on", &dev);
  EXPECT_EQ(r["reply"], a.reply);
  EXPECT_EQ(r["state"], dev.state_json());
  EXPECT_EQ(r["state_before"], Device(tiny.device).state_json());
}

TEST(Server, ErrorsAreJSONWithTheirStatus) {
  auto c = client();
  auto expect_json_error = [](const httplib::Result& r, int status, const std::string& words) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, status) << r->body;
    nlohmann::json j = nlohmann::json::parse(r->body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r->body;
    EXPECT_NE(j["error"]["message"].get<std::string>().find(words), std::string::npos) << r->body;
  };
  expect_json_error(c.Post("/v1/chat/completions", "{\"messages\": ", "application/json"), 400, "not valid JSON");
  nlohmann::json tools = nlohmann::json::array({{{"type", "function"}, {"function", {{"name", "fly"}}}}});
  expect_json_error(c.Post("/v1/chat/completions",
                           nlohmann::json({{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"tools", tools}}).dump(),
                           "application/json"),
                    400, "tools");
  expect_json_error(c.Post("/v1/chat/completions", "{}", "text/plain"), 415, "application/json");
  expect_json_error(c.Get("/v1/nothing"), 404, "/v1/nothing");
  std::string big = "{\"messages\": [{\"role\": \"user\", \"content\": \"" + std::string(300 * 1024, 'a') + "\"}]}";
  auto r = c.Post("/v1/chat/completions", big, "application/json");
  // The server answers 413 and closes; a client still sending may see the connection end instead.
  if (r) expect_json_error(r, 413, "too large");
  // The server is still up.
  auto h = c.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  // A conversation too long for the model's context.
  nlohmann::json messages = nlohmann::json::array();
  for (int i = 0; i < 30; ++i) {
    messages.push_back({{"role", "user"}, {"content", "turn it on in sleep mode and set a timer for 90 minutes please"}});
    messages.push_back({{"role", "assistant"}, {"content", "ok"}});
  }
  messages.push_back({{"role", "user"}, {"content", "and now?"}});
  expect_json_error(c.Post("/v1/chat/completions", nlohmann::json({{"messages", messages}}).dump(), "application/json"), 400,
                    "tokens");
}

}  // namespace
}  // namespace edgelm::server
