#include "server/server.h"

#include <httplib.h>
#include <malloc.h>
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

}  // namespace

// One request on its way: read and checked, the device as its earlier turns
// left it, and the session it holds while the model runs (given back when
// this is destroyed); then the answer.
struct Server::Pending {
  Impl* impl = nullptr;
  Session* session = nullptr;
  std::optional<ApiError> error;
  ChatRequest request;
  std::optional<Device> state;
  nlohmann::json state_before, state_after;
  int64_t prompt_tokens = 0;
  AgentOptions agent_options;
  AgentAnswer answer;
  ~Pending();
};

namespace {

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

  // Reads and checks a request and takes a session for it (unless it has an error or needs no model run).
  std::shared_ptr<Pending> prepare(std::string_view body);
  // Answers it (the observer sees the answer while it is decoded) and gives the session back.
  void run(Pending& p, const AnswerObserver* observer);
  Completion completion(const Pending& p);
  void route();
};

std::shared_ptr<Server::Pending> Server::Impl::prepare(std::string_view body) {
  auto out = std::make_shared<Pending>();
  out->impl = this;
  ParsedRequest parsed = parse_chat_request(body, device->schema, options.limits);
  if (parsed.error) {
    out->error = parsed.error;
    return out;
  }
  out->request = std::move(parsed.request);
  const ChatRequest& req = out->request;

  // The device as the conversation left it: the calls of earlier turns replayed from the initial state.
  Device& state = out->state.emplace(device);
  auto replay = [&](const std::vector<Call>& calls, const std::string& where) -> bool {
    for (const Call& c : calls) {
      try {
        state.execute(c);
      } catch (const Error& e) {
        out->error = api_error(400, "invalid_messages", cat("messages: ", where, ": ", call_to_string(c), ": ", e.what()));
        out->error->param = "messages";
        return false;
      }
    }
    return true;
  };
  for (size_t i = 0; i < req.history.size(); ++i)
    if (!replay(req.history[i].calls, cat("turn ", i + 1))) return out;
  out->state_before = state.state_json();

  if (req.answered) {
    // The tool loop's last step: the calls were answered together with their
    // reply, which the client sends back; it closes the turn. No model run.
    if (!replay(*req.answered, "the last assistant turn")) return out;
    out->answer.raw_reply = req.answered_reply;
    out->answer.reply = req.answered_reply;
    out->state_after = state.state_json();
    return out;
  }

  out->session = acquire();
  if (!out->session) {
    out->error = api_error(503, "server_busy",
                           cat("no session became free within ", options.queue_timeout_s, " s; try again later"),
                           "server_error");
    return out;
  }
  try {
    Agent& agent = *out->session->agent;
    out->agent_options = request_agent_options(options.agent, req);
    const AgentOptions& o = out->agent_options;
    const Tokenizer& tok = agent.tokenizer();
    const int64_t prompt = int64_t(render_history_tokens(agent.schema(), tok, req.history).size() +
                                   render_user_tokens(tok, req.text).size());
    out->prompt_tokens = agent.prefix_tokens() + prompt;
    const int64_t room = agent.session().max_context() - o.max_call_tokens - o.max_reply_tokens - 1;
    if (out->prompt_tokens > room) {
      out->error = api_error(400, "context_length_exceeded",
                             cat("the conversation takes ", out->prompt_tokens, " tokens; with room for the answer the model holds ",
                                 room, " (send fewer or shorter messages)"));
      out->error->param = "messages";
    }
  } catch (const Error& e) {
    out->error = api_error(500, "internal_error", e.what(), "server_error");
  }
  return out;
}

void Server::Impl::run(Pending& p, const AnswerObserver* observer) {
  if (p.error || !p.session) return;  // an error, or an answer without the model
  try {
    Agent& agent = *p.session->agent;
    agent.set_options(p.agent_options);
    p.answer = agent.respond(p.request.text, &*p.state, p.request.history, observer);
  } catch (const Error& e) {
    p.error = api_error(500, "internal_error", e.what(), "server_error");
  }
  p.state_after = p.state->state_json();
  // The session is free for the next request as soon as the answer is out.
  release(p.session);
  p.session = nullptr;
}

Server::Pending::~Pending() {
  if (session) impl->release(session);
}

Completion Server::Impl::completion(const Pending& p) {
  Completion c;
  char hex[32];
  std::snprintf(hex, sizeof hex, "%llx", (unsigned long long)next_id.fetch_add(1));
  c.id = "chatcmpl-" + id_prefix + hex;
  c.call_id_prefix = "call_" + id_prefix + hex + "_";
  c.created = int64_t(std::time(nullptr));
  c.model = p.request.model.empty() ? options.model_name : p.request.model;
  c.prompt_tokens = p.prompt_tokens;
  return c;
}

static void fill_completion(Completion& c, const AgentAnswer& a) {
  c.calls = a.calls;
  c.reply = a.reply;
  c.completion_tokens = a.tokens_generated;
  c.truncated = a.truncated;
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
  std::shared_ptr<Pending> p = impl_->prepare(body);
  if (p->error) return error_reply(*p->error);
  auto c = std::make_shared<Completion>(impl_->completion(*p));
  if (p->request.stream) {
    Reply r;
    r.content_type = "text/event-stream";
    Impl* impl = impl_.get();
    r.stream = [impl, p, c](const EventWriter& write) {
      bool open = true;
      auto send = [&](const std::string& e) { open = open && write(e); };
      send(role_event(*c));
      // The calls as soon as the calls part is decoded, the reply piece by piece.
      bool calls_sent = false;
      std::string sent;
      AnswerObserver observer;
      observer.on_calls = [&](const std::vector<Call>& calls) {
        c->calls = calls;
        for (size_t i = 0; i < calls.size(); ++i) send(tool_call_event(*c, i));
        calls_sent = true;
      };
      observer.on_reply = [&](std::string_view piece) {
        sent += piece;
        send(content_event(*c, piece));
      };
      impl->run(*p, &observer);
      if (p->error) {
        for (const std::string& e : error_events(*p->error)) send(e);
        return;
      }
      fill_completion(*c, p->answer);
      // An answer without the model (the tool loop's last step) comes whole.
      if (!calls_sent)
        for (size_t i = 0; i < c->calls.size(); ++i) send(tool_call_event(*c, i));
      if (c->reply.size() > sent.size() && c->reply.compare(0, sent.size(), sent) == 0)
        send(content_event(*c, std::string_view(c->reply).substr(sent.size())));
      for (const std::string& e : finish_events(*c, p->request.include_usage)) send(e);
    };
    return r;
  }
  impl_->run(*p, nullptr);
  if (p->error) return error_reply(*p->error);
  fill_completion(*c, p->answer);
  ojson j = completion_json(*c);
  // edgelm's own figures beside OpenAI's fields (clients ignore unknown keys).
  ojson extra = {{"latency_ms", p->answer.latency_ms}, {"tokens_forced", p->answer.tokens_forced}};
  if (!p->answer.error.empty()) extra["error"] = p->answer.error;
  j["edgelm"] = std::move(extra);
  return json_reply(200, j);
}

Reply Server::device_command(std::string_view body) {
  std::shared_ptr<Pending> p = impl_->prepare(body);
  impl_->run(*p, nullptr);
  if (p->error) return error_reply(*p->error);
  const AgentAnswer& a = p->answer;
  ojson calls = ojson::array();
  for (const Call& c : a.calls) calls.push_back(ojson(call_to_json(c)));
  ojson j = {{"text", p->request.text},
             {"calls", std::move(calls)},
             {"reply", a.reply},
             {"state_before", ojson(p->state_before)},
             {"state", ojson(p->state_after)},
             {"tokens_generated", a.tokens_generated},
             {"latency_ms", a.latency_ms}};
  if (!a.error.empty()) j["error"] = a.error;
  return json_reply(200, j);
}

Reply Server::models() const { return json_reply(200, models_json(impl_->options.model_name, impl_->created)); }

Reply Server::device() const { return json_reply(200, device_json(*impl_->device)); }

Reply Server::health() const {
  ojson j = {{"status", "ok"}, {"sessions", impl_->sessions.size()}, {"sessions_free", impl_->n_free()}};
#if defined(__GLIBC__)
  // The bytes the allocator has handed out and not had back, over all its
  // arenas: unlike resident memory, this grows only with a leak (or a
  // growing cache), not with memory the allocator keeps for reuse.
  struct mallinfo2 m = ::mallinfo2();
  j["heap_in_use_bytes"] = m.uordblks + m.hblkhd;
#endif
  return json_reply(200, j);
}

void Server::Impl::route() {
  http.new_task_queue = [n = options.http_threads] { return new httplib::ThreadPool(size_t(n)); };
  http.set_payload_max_length(options.limits.max_body_bytes);
  http.set_read_timeout(options.io_timeout_s, 0);
  http.set_write_timeout(options.io_timeout_s, 0);
  // Streamed events are small writes; with Nagle's algorithm the kernel holds
  // each one until the client acknowledges the last (tens of ms with delayed
  // ACKs), so the pieces would arrive in bursts rather than as decoded.
  http.set_tcp_nodelay(true);
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
  if (!r.stream) {
    res.set_content(r.body, r.content_type.c_str());
    return;
  }
  // httplib writes the headers, then calls this on the connection's thread:
  // each event goes out as one chunk while the model decodes the next.
  res.set_header("Cache-Control", "no-cache");
  res.set_chunked_content_provider("text/event-stream", [stream = r.stream](size_t, httplib::DataSink& sink) {
    bool open = true;
    stream([&](const std::string& e) {
      open = open && sink.write(e.data(), e.size());
      return open;
    });
    if (open) sink.done();
    return open;
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
