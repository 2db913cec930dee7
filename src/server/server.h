#pragma once
// `edgelm serve`: the agent behind an OpenAI-compatible HTTP API and a device
// page (docs/SERVER.md). One model, loaded once and shared read-only; a pool
// of sessions, each an Agent with its own KV cache, grammar state and
// threads, so that requests decode concurrently. Requests are stateless, as
// OpenAI's are: each one starts from the device's initial state and replays
// the calls of its earlier turns, exactly as `edgelm predict` does.
//
//   Server server(model, device, options);
//   int port = server.bind();   // port 0: any free port
//   server.run();               // until stop() (another thread, a signal)
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/agent.h"
#include "device/device.h"
#include "model/model.h"
#include "server/openai_api.h"

namespace edgelm::server {

struct ServerOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 8080;                 // 0: any free port
  int parallel = 1;                // sessions decoding at the same time
  int threads_per_session = 1;     // compute threads of each session
  int http_threads = 64;           // connections served at once (each waits for a session)
  double queue_timeout_s = 30;     // a request waiting longer for a session gets 503
  int io_timeout_s = 10;           // reading a request / writing a response
  std::string model_name = "edgelm";
  RequestLimits limits;
  AgentOptions agent;              // the server's defaults; a request may narrow them
  bool log_requests = false;       // one line per request on stderr
};

// Writes one server-sent event; false once the client is gone.
using EventWriter = std::function<bool(const std::string& event)>;

// What one request gets back, before HTTP: the status and the body, or for a
// streamed answer (text/event-stream) the producer of its events, which runs
// the model and writes each event as soon as it is decoded. A streamed reply
// holds its session until the producer has run (or the reply is dropped).
struct Reply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::function<void(const EventWriter& write)> stream;  // set: text/event-stream
};

class Server {
 public:
  // Builds options.parallel sessions (each evaluates the system prefix once).
  Server(std::shared_ptr<const Model> model, std::shared_ptr<const DeviceSpec> device, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds the listening socket; returns the port. Throws Error when it cannot.
  int bind();
  // Serves until stop(); requests in flight are finished first.
  void run();
  // Stops accepting; safe from any thread (a signal watcher).
  void stop();

  // The endpoints without sockets (the HTTP handlers call these).
  Reply chat_completions(std::string_view body);  // POST /v1/chat/completions
  Reply device_command(std::string_view body);    // POST /v1/device/command
  Reply models() const;                            // GET /v1/models
  Reply device() const;                            // GET /v1/device
  Reply health() const;                            // GET /health

  const ServerOptions& options() const;

 private:
  struct Impl;
  struct Pending;
  std::unique_ptr<Impl> impl_;
};

// The device page served at "/": one self-contained HTML document that draws
// whatever device GET /v1/device describes.
const std::string& device_page_html();

}  // namespace edgelm::server
