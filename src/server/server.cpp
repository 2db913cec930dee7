#include "server/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <random>

#include "agent/format.h"
#include "model/session.h"
#include "platform/error.h"
#include "platform/thread_pool.h"

namespace edgelm::server {
namespace {

using ojson = nlohmann::ordered_json;

Reply json_reply(int status, const ojson& j) {
  Reply r;
  r.status = status;
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Reply error_reply(const ApiError& e) {
  Reply r;
  r.status = e.status;
  r.body = e.body();
  return r;
}

ApiError api_error(int status, std::string code, std::string message, std::string type = "invalid_request_error") {
  ApiError e;
  e.status = status;
  e.code = std::move(code);
  e.message = std::move(message);
  e.type = std::move(type);
  return e;
}

// One agent and the threads it computes on: a request holds it from the
// prompt to the last token.
struct Session {
  std::unique_ptr<ThreadPool> pool;
  std::unique_ptr<Agent> agent;
};

// The outcome of answering one request, for either endpoint.
struct Answered {
  std::optional<ApiError> error;
  ChatRequest request;
  AgentAnswer answer;
  nlohmann::json state_before, state_after;
  int64_t prompt_tokens = 0;
};

// httplib's server with its listening socket in reach: Debian's library is
// built with a listen backlog of 5, which drops connections when dozens of
// clients connect at once; listen() again on the bound socket raises it.
struct HttpServer : httplib::Server {
  int listening_socket() const { return int(svr_sock_); }
};

}  // namespace

struct Server::Impl {
  std::shared_ptr<const Model> model;
  std::shared_ptr<const DeviceSpec> device;
  ServerOptions options;
  int64_t created = 0;
  std::string id_prefix;  // random per process, so ids from two runs differ
  std::atomic<uint64_t> next_id{0};

  std::vector<std::unique_ptr<Session>> sessions;
  std::vector<Session*> free_sessions;
  std::mutex mutex;
  std::condition_variable session_freed;

  HttpServer http;
  bool bound = false;

  Session* acquire() {
    std::unique_lock lock(mutex);
    auto timeout = std::chrono::duration<double>(options.queue_timeout_s);
    if (!session_freed.wait_for(lock, timeout, [&] { return !free_sessions.empty(); })) return nullptr;
    Session* s = free_sessions.back();
    free_sessions.pop_back();
    return s;
  }
  void release(Session* s) {
    {
      std::lock_guard lock(mutex);
      free_sessions.push_back(s);
    }
    session_freed.notify_one();
  }
  size_t n_free() {
    std::lock_guard lock(mutex);
    return free_sessions.size();
  }

  Answered answer(std::string_view body);
  Completion completion(const Answered& a);
  void route();
};

Answered Server::Impl::answer(std::string_view body) {
  Answered out;
  ParsedRequest parsed = parse_chat_request(body, device->schema, options.limits);
  if (parsed.error) {
    out.error = parsed.error;
    return out;
  }
  out.request = std::move(parsed.request);
  const ChatRequest& req = out.request;

  // The device as the conversation left it: the calls of earlier turns replayed from the initial state.
  Device state(device);
  auto replay = [&](const std::vector<Call>& calls, const std::string& where) -> bool {
    for (const Call& c : calls) {
      try {
        state.execute(c);
      } catch (const Error& e) {
        out.error = api_error(400, "invalid_messages", cat("messages: ", where, ": ", call_to_string(c), ": ", e.what()));
        out.error->param = "messages";
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < req.history.size(); ++i)
    if (!replay(req.history[i].calls, cat("turn ", i + 1))) return out;
  out.state_before = state.state_json();

  if (req.answered) {
    // The tool loop's last step: the calls were answered together with their
    // reply, which the client sends back; it closes the turn. No model run.
    if (!replay(*req.answered, "the last assistant turn")) return out;
    out.answer.raw_reply = req.answered_reply;
    out.answer.reply = req.answered_reply;
    out.state_after = state.state_json();
    return out;
  }

  Session* session = acquire();
  if (!session) {
    out.error = api_error(503, "server_busy",
                          cat("no session became free within ", options.queue_timeout_s, " s; try again later"),
                          "server_error");
    return out;
  }
  struct Release {
    Impl* impl;
    Session* s;
    ~Release() { impl->release(s); }
  } release{this, session};
  Agent& agent = *session->agent;
  try {
    AgentOptions o = request_agent_options(options.agent, req);
    const Tokenizer& tok = agent.tokenizer();
    const int64_t prompt = int64_t(render_history_tokens(agent.schema(), tok, req.history).size() +
                                   render_user_tokens(tok, req.text).size());
    out.prompt_tokens = agent.prefix_tokens() + prompt;
    const int64_t room = agent.session().max_context() - o.max_call_tokens - o.max_reply_tokens - 1;
    if (out.prompt_tokens > room) {
      out.error = api_error(400, "context_length_exceeded",
                            cat("the conversation takes ", out.prompt_tokens, " tokens; with room for the answer the model holds ",
                                room, " (send fewer or shorter messages)"));
      out.error->param = "messages";
      return out;
    }
    agent.set_options(o);
    out.answer = agent.respond(req.text, &state, req.history);
  } catch (const Error& e) {
    out.error = api_error(500, "internal_error", e.what(), "server_error");
    return out;
  }
  out.state_after = state.state_json();
  return out;
}

Completion Server::Impl::completion(const Answered& a) {
  Completion c;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)next_id.fetch_add(1));
  c.id = "chatcmpl-" + id_prefix + hex;
  c.call_id_prefix = "call_" + id_prefix + hex + "_";
  c.created = int64_t(std::time(nullptr));
  c.model = a.request.model.empty() ? options.model_name : a.request.model;
  c.calls = a.answer.calls;
  c.reply = a.answer.reply;
  c.prompt_tokens = a.prompt_tokens;
  c.completion_tokens = a.answer.tokens_generated;
  return c;
}

Server::Server(std::shared_ptr<const Model> model, std::shared_ptr<const DeviceSpec> device, ServerOptions options)
    : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  if (options.parallel < 1) fail("serve: --parallel must be at least 1");
  if (options.threads_per_session < 1) fail("serve: threads per session must be at least 1");
  if (options.http_threads < 1) fail("serve: --http-threads must be at least 1");
  s.model = std::move(model);
  s.device = std::move(device);
  s.options = std::move(options);
  s.created = int64_t(std::time(nullptr));
  std::random_device rd;
  char hex[16];
  std::snprintf(hex, sizeof hex, "%08x", unsigned(rd()));
  s.id_prefix = std::string(hex) + "-";
  for (int i = 0; i < s.options.parallel; ++i) {
    auto session = std::make_unique<Session>();
    session->pool = std::make_unique<ThreadPool>(s.options.threads_per_session);
    AgentOptions o = s.options.agent;
    o.pool = session->pool.get();
    session->agent = std::make_unique<Agent>(s.model, s.device, o);
    s.free_sessions.push_back(session.get());
    s.sessions.push_back(std::move(session));
  }
  s.route();
}

Server::~Server() { stop(); }

const ServerOptions& Server::options() const { return impl_->options; }

Reply Server::chat_completions(std::string_view body) {
  Answered a = impl_->answer(body);
  if (a.error) return error_reply(*a.error);
  Completion c = impl_->completion(a);
  if (a.request.stream) {
    Reply r;
    r.content_type = "text/event-stream";
    r.events = completion_events(c, a.request.include_usage);
    return r;
  }
  ojson j = completion_json(c);
  // edgelm's own figures beside OpenAI's fields (clients ignore unknown keys).
  ojson extra = {{"latency_ms", a.answer.latency_ms}, {"tokens_forced", a.answer.tokens_forced}};
  if (!a.answer.error.empty()) extra["error"] = a.answer.error;
  j["edgelm"] = std::move(extra);
  return json_reply(200, j);
}

Reply Server::device_command(std::string_view body) {
  Answered a = impl_->answer(body);
  if (a.error) return error_reply(*a.error);
  ojson calls = ojson::array();
  for (const Call& c : a.answer.calls) calls.push_back(ojson(call_to_json(c)));
  ojson j = {{"text", a.request.text},
             {"calls", std::move(calls)},
             {"reply", a.answer.reply},
             {"state_before", ojson(a.state_before)},
             {"state", ojson(a.state_after)},
             {"tokens_generated", a.answer.tokens_generated},
             {"latency_ms", a.answer.latency_ms}};
  if (!a.answer.error.empty()) j["error"] = a.answer.error;
  return json_reply(200, j);
}

Reply Server::models() const { return json_reply(200, models_json(impl_->options.model_name, impl_->created)); }

Reply Server::device() const { return json_reply(200, device_json(*impl_->device)); }

Reply Server::health() const {
  return json_reply(200, {{"status", "ok"},
                          {"sessions", impl_->sessions.size()},
                          {"sessions_free", impl_->n_free()}});
}

void Server::Impl::route() {
  http.new_task_queue = [n = options.http_threads] { return new httplib::ThreadPool(size_t(n)); };
  http.set_payload_max_length(options.limits.max_body_bytes);
  http.set_read_timeout(options.io_timeout_s, 0);
  http.set_write_timeout(options.io_timeout_s, 0);
  http.set_keep_alive_timeout(5);
  // Keep-alive connections stay open for many requests (httplib's default closes after 5).
  http.set_keep_alive_max_count(1000);
  if (options.log_requests)
    http.set_logger([](const httplib::Request& req, const httplib::Response& res) {
      std::fprintf(stderr, "%s %s %d %zu bytes\n", req.method.c_str(), req.path.c_str(), res.status, res.body.size());
    });
  // Errors that never reach a handler (unknown path, body over the limit,
  // a malformed request line) get a JSON body too.
  http.set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    std::string code = "http_error", message = cat("HTTP ", res.status);
    if (res.status == 404) code = "not_found", message = cat("no endpoint ", req.method, " ", req.path);
    else if (res.status == 413) code = "body_too_large", message = "request body too large";
    else if (res.status == 400) code = "bad_request", message = "malformed HTTP request";
    ApiError e = api_error(res.status, code, message);
    res.set_content(e.body(), "application/json");
  });
  http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
    std::string what = "unknown error";
    try {
      std::rethrow_exception(ep);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
    }
    res.status = 500;
    res.set_content(api_error(500, "internal_error", what, "server_error").body(), "application/json");
  });
}

namespace {

void send(const Reply& r, httplib::Response& res) {
  res.status = r.status;
  if (r.events.empty()) {
    res.set_content(r.body, r.content_type.c_str());
    return;
  }
  auto events = std::make_shared<std::vector<std::string>>(r.events);
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [events](size_t, httplib::DataSink& sink) {
    for (const std::string& e : *events)
      if (!sink.write(e.data(), e.size())) return false;
    sink.done();
    return true;
  });
}

// A POST must say it carries JSON: a web page elsewhere cannot send that
// header to this server without the browser asking first (CORS preflight),
// which the server never grants, so pages from other origins cannot drive it.
bool json_content_type(const httplib::Request& req, httplib::Response& res) {
  std::string type = req.get_header_value("Content-Type");
  if (type.rfind("application/json", 0) == 0) return true;
  Reply r = error_reply(api_error(415, "unsupported_media_type",
                                  "POST bodies must be sent with Content-Type: application/json"));
  send(r, res);
  return false;
}

}  // namespace

int Server::bind() {
  Impl& s = *impl_;
  Server* self = this;
  s.http.Get("/health", [self](const httplib::Request&, httplib::Response& res) { send(self->health(), res); });
  s.http.Get("/v1/models", [self](const httplib::Request&, httplib::Response& res) { send(self->models(), res); });
  s.http.Get("/v1/device", [self](const httplib::Request&, httplib::Response& res) { send(self->device(), res); });
  s.http.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(device_page_html(), "text/html; charset=utf-8");
  });
  s.http.Post("/v1/chat/completions", [self](const httplib::Request& req, httplib::Response& res) {
    if (json_content_type(req, res)) send(self->chat_completions(req.body), res);
  });
  s.http.Post("/v1/device/command", [self](const httplib::Request& req, httplib::Response& res) {
    if (json_content_type(req, res)) send(self->device_command(req.body), res);
  });
  int port = s.options.port;
  if (port == 0) {
    port = s.http.bind_to_any_port(s.options.host);
    if (port < 0) fail("serve: cannot listen on ", s.options.host, " (any port)");
  } else if (!s.http.bind_to_port(s.options.host, port)) {
    fail("serve: cannot listen on ", s.options.host, ":", port, " (in use, or not an address of this machine)");
  }
  // Backlog enough for every connection the server serves at once, and then some.
  if (::listen(s.http.listening_socket(), std::max(128, 2 * s.options.http_threads)) != 0)
    fail("serve: cannot listen on ", s.options.host, ":", port);
  s.bound = true;
  return port;
}

void Server::run() {
  if (!impl_->bound) bind();
  impl_->http.listen_after_bind();
}

void Server::stop() {
  if (impl_ && impl_->http.is_running()) impl_->http.stop();
}

}  // namespace edgelm::server
