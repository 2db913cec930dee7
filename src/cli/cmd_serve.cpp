// edgelm serve --model M [--domain D] [--host 127.0.0.1] [--port 8080] [--parallel N]
//
// The agent behind an OpenAI-compatible API (POST /v1/chat/completions, GET
// /v1/models, GET /health) and a device page at "/" (docs/SERVER.md). It
// listens on loopback unless --host says otherwise; SIGTERM or SIGINT stops
// accepting, finishes the requests in flight and exits 0.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <thread>

#include "cli/agent_options.h"
#include "cli/command.h"
#include "platform/error.h"
#include "platform/thread_pool.h"
#include "server/server.h"

namespace edgelm::cli {
namespace cmd_serve {

struct ServeOptions {
  AgentCommandOptions agent;
  server::ServerOptions server;
  std::string model_name;
};

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void run_serve(ServeOptions& o) {
  // The signals go to the watcher below, never to a worker thread: block them
  // before any thread starts (threads inherit the mask).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The sessions share the cores: each gets an equal part (at least one).
  auto model = o.agent.load_model();  // sets the default pool to --threads; decoding uses the sessions' own
  const int cores = default_thread_pool().size();
  o.server.threads_per_session = std::max(1, cores / std::max(1, o.server.parallel));
  auto device = o.agent.load_domain();
  o.server.agent = o.agent.agent_options();
  o.server.model_name = o.model_name.empty() ? std::filesystem::path(o.agent.model).stem().string() : o.model_name;
  if (!is_loopback(o.server.host))
    std::fprintf(stderr, "serve: listening on %s, not loopback: anyone who can reach this machine can use the model\n",
                 o.server.host.c_str());
  server::Server srv(model, device, o.server);
  int port = srv.bind();
  std::printf("edgelm serve: %s, device %s, %d session(s) x %d thread(s), http://%s:%d/\n",
              o.server.model_name.c_str(), device->schema.name.c_str(), o.server.parallel,
              o.server.threads_per_session, o.server.host.c_str(), port);
  std::fflush(stdout);

  std::atomic<bool> done{false};
  std::thread watcher([&] {
    int sig = 0;
    sigwait(&signals, &sig);
    if (done) return;  // woken by the exit path below, not a signal
    std::fprintf(stderr, "serve: signal %d, finishing the requests in flight\n", sig);
    // stop() only takes once the server runs; keep asking until run() returns.
    while (!done) {
      srv.stop();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  srv.run();
  done = true;
  pthread_kill(watcher.native_handle(), SIGTERM);  // blocked, so sigwait takes it
  watcher.join();
  std::fprintf(stderr, "serve: stopped\n");
}

void setup(CLI::App& app) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "OpenAI-compatible tool-calling server and a device page (HTTP)");
  o->agent.add_to(cmd);
  server::ServerOptions& s = o->server;
  cmd->add_option("--host", s.host, "address to listen on (loopback by default)")->capture_default_str();
  cmd->add_option("--port", s.port, "port (0: any free port, printed at start)")->capture_default_str();
  cmd->add_option("--parallel", s.parallel, "sessions answering at the same time (one model shared)")
      ->capture_default_str()->check(CLI::Range(1, 256));
  cmd->add_option("--http-threads", s.http_threads, "connections served at once")
      ->capture_default_str()->check(CLI::Range(1, 4096));
  cmd->add_option("--model-name", o->model_name, "the model's id in the API (default: the file's stem)");
  cmd->add_option("--timeout", s.queue_timeout_s, "seconds a request may wait for a free session (then 503)")
      ->capture_default_str()->check(CLI::Range(0.001, 3600.0));
  cmd->add_option("--io-timeout", s.io_timeout_s, "seconds to read a request or write a response")
      ->capture_default_str()->check(CLI::Range(1, 3600));
  cmd->add_option("--max-body", s.limits.max_body_bytes, "bytes of a request body at most (413 past it)")
      ->capture_default_str()->check(CLI::Range(size_t(1024), size_t(64) << 20));
  cmd->add_option("--max-messages", s.limits.max_messages, "messages of a request at most")
      ->capture_default_str()->check(CLI::Range(size_t(1), size_t(4096)));
  cmd->add_option("--max-tokens", s.limits.max_tokens, "the largest max_tokens a request may ask for")
      ->capture_default_str()->check(CLI::Range(1, 65536));
  cmd->add_flag("--log", s.log_requests, "one line per request on stderr");
  cmd->callback([o] { run_serve(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_serve
}  // namespace edgelm::cli
