// edgelm bench serve --model M [--domain D] [--requests 10000] [--concurrency 64] [--bad 0.1] [--parallel 2] [--rounds 1]
//
// `edgelm serve` under load: starts the server as a child process on a free
// loopback port (this same program), then --concurrency client threads, each
// with its own keep-alive connection, send --requests chat completions: the
// domain's handwritten commands (some as the second turn of a conversation,
// some streamed), and a --bad fraction of malformed ones (not JSON, oversized
// bodies, tools that are not the device's, broken conversations). Prints
// requests/s, p50/p99 latency, answers by status per request kind, requests
// that got no answer, and the server's resident memory after a warm-up, at
// the end and at its peak; then stops the server with SIGTERM and reports how
// it exited. The last line is JSON. --rounds N sends the whole plan N times to
// the same server and prints, after each round, its resident memory and the
// heap bytes in use (GET /health): a leak grows both round after round;
// memory the allocator keeps for reuse grows the first only, and levels off.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

#include "cli/agent_options.h"
#include "cli/command.h"
#include "eval/cases.h"
#include "eval/evaluate.h"
#include "platform/error.h"
#include "platform/random.h"

namespace edgelm::cli {
namespace cmd_bench_serve {

struct Options {
  AgentCommandOptions agent;
  int requests = 10000;
  int concurrency = 64;
  double bad = 0.1;
  int parallel = 2;
  int rounds = 1;
};

// A field of /proc/PID/status in bytes ("VmRSS", "VmHWM"); -1 if unreadable.
int64_t proc_status_bytes(pid_t pid, const std::string& key) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key + ":", 0) == 0) return std::stoll(line.substr(key.size() + 1)) * 1024;
  return -1;
}

struct Child {
  pid_t pid = -1;
  int port = 0;
};

// Starts `edgelm serve` on a free port and reads the port from its first line.
Child start_server(const Options& o, const std::string& domain_dir) {
  int out[2];
  if (pipe(out) != 0) fail("bench serve: pipe failed");
  std::vector<std::string> args = {"/proc/self/exe", "serve", "--model", o.agent.model, "--domain", domain_dir,
                                   "--port", "0", "--parallel", std::to_string(o.parallel)};
  if (o.agent.threads > 0) args.insert(args.end(), {"--threads", std::to_string(o.agent.threads)});
  pid_t pid = fork();
  if (pid < 0) fail("bench serve: fork failed");
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);
    close(out[0]);
    close(out[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string line;
  char ch;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(out[0]);
  size_t colon = line.rfind(':');
  Child c{pid, 0};
  if (colon != std::string::npos) c.port = std::atoi(line.c_str() + colon + 1);
  if (c.port <= 0) {
    kill(pid, SIGKILL);
    waitpid(pid, nullptr, 0);
    fail("bench serve: the server did not start (its first line: '", line, "')");
  }
  return c;
}

enum Kind { kGood, kTwoTurns, kStream, kBadJson, kOversized, kBadTools, kBadMessages, kNumKinds };
const char* kind_name(int k) {
  static const char* names[] = {"good", "two_turns", "stream", "bad_json", "oversized", "bad_tools", "bad_messages"};
  return names[k];
}

std::string request_body(int kind, const std::string& text, const std::string& other) {
  nlohmann::json user = {{"role", "user"}, {"content", text}};
  switch (kind) {
    case kGood: return nlohmann::json({{"messages", {user}}}).dump();
    case kTwoTurns: {
      nlohmann::json first = {{"role", "user"}, {"content", other}};
      nlohmann::json answer = {{"role", "assistant"}, {"content", "ok"}};
      return nlohmann::json({{"messages", {first, answer, user}}}).dump();
    }
    case kStream: return nlohmann::json({{"messages", {user}}, {"stream", true}}).dump();
    case kBadJson: return "{\"messages\": [{\"role\": \"user\", \"content\": \"" + text + "\"}";
    case kOversized: return nlohmann::json({{"messages", {{{"role", "user"}, {"content", std::string(400 * 1024, 'a')}}}}}).dump();
    case kBadTools:
      return nlohmann::json({{"messages", {user}},
                             {"tools", {{{"type", "function"}, {"function", {{"name", "launch"}, {"parameters", {{"type", "object"}, {"properties", nlohmann::json::object()}}}}}}}}})
          .dump();
    default: return nlohmann::json({{"messages", {user, user}}}).dump();  // two user turns in a row
  }
}

void run(const Options& o) {
  if (o.requests < 1 || o.concurrency < 1 || o.bad < 0 || o.bad > 1) fail("bench serve: bad --requests, --concurrency or --bad");
  signal(SIGPIPE, SIG_IGN);
  auto device = o.agent.load_domain();
  // The model's own domain unless --domain names one.
  const std::string domain_dir = domain_dir_for_model(o.agent.domain, o.agent.model);
  std::vector<EvalCase> cases = load_cases(domain_dir + "/eval/handwritten.jsonl", device->schema);
  if (cases.empty()) fail("bench serve: no commands in the domain's eval/handwritten.jsonl");

  // The request plan, fixed by a seed: kinds and commands.
  Rng rng(1234);
  std::vector<std::pair<int, size_t>> plan(size_t(o.requests));
  for (auto& p : plan) {
    double u = rng.uniform();
    int kind = u < o.bad ? kBadJson + int(rng.uniform() * 4) % 4 : (u < o.bad + (1 - o.bad) * 0.2 ? kTwoTurns : u < o.bad + (1 - o.bad) * 0.3 ? kStream : kGood);
    p = {kind, size_t(rng.uniform() * double(cases.size())) % cases.size()};
  }

  Child server = start_server(o, domain_dir);
  std::fprintf(stderr, "bench serve: server pid %d on port %d\n", int(server.pid), server.port);
  std::atomic<size_t> next{0};
  std::atomic<int> current_round{0};
  std::mutex mutex;
  std::vector<double> latencies;
  std::map<std::string, int64_t> outcomes;  // "kind status" -> count
  int64_t no_answer = 0, unexpected = 0;
  int64_t rss_warm = -1;
  const size_t warm_at = plan.size() / 10;
  // After each round: the server's resident memory and heap bytes in use.
  std::vector<std::pair<int64_t, int64_t>> after_round;
  auto start = std::chrono::steady_clock::now();
  for (; current_round < o.rounds; ++current_round) {
    next = 0;
    std::vector<std::thread> threads;
    for (int t = 0; t < o.concurrency; ++t)
      threads.emplace_back([&] {
        auto client = std::make_unique<httplib::Client>("127.0.0.1", server.port);
        client->set_keep_alive(true);
        client->set_read_timeout(60, 0);
        std::vector<double> mine;
        std::map<std::string, int64_t> counts;
        int64_t lost = 0, wrong = 0;
        for (size_t i; (i = next.fetch_add(1)) < plan.size();) {
          if (i == warm_at && current_round == 0) rss_warm = proc_status_bytes(server.pid, "VmRSS");
          auto [kind, c] = plan[i];
          std::string body = request_body(kind, cases[c].text, cases[(c + 1) % cases.size()].text);
          auto t0 = std::chrono::steady_clock::now();
          auto r = client->Post("/v1/chat/completions", body, "application/json");
          double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
          if (!r) {
            // The server answers an oversized body with 413 and closes at once; a
            // client still sending may see the close before the answer.
            ++counts[std::string(kind_name(kind)) + " closed:" + httplib::to_string(r.error())];
            if (kind != kOversized) ++lost;
            client = std::make_unique<httplib::Client>("127.0.0.1", server.port);
            client->set_keep_alive(true);
            client->set_read_timeout(60, 0);
            continue;
          }
          mine.push_back(ms);
          ++counts[std::string(kind_name(kind)) + " " + std::to_string(r->status)];
          bool good = kind <= kStream;
          if (good != (r->status == 200)) ++wrong;
        }
        std::lock_guard lock(mutex);
        latencies.insert(latencies.end(), mine.begin(), mine.end());
        for (auto& [k, n] : counts) outcomes[k] += n;
        no_answer += lost;
        unexpected += wrong;
      });
    for (auto& t : threads) t.join();
    int64_t heap = -1;
    httplib::Client c("127.0.0.1", server.port);
    if (auto h = c.Get("/health"); h && h->status == 200) {
      nlohmann::json j = nlohmann::json::parse(h->body, nullptr, false);
      if (j.is_object() && j.contains("heap_in_use_bytes")) heap = j["heap_in_use_bytes"].get<int64_t>();
    }
    after_round.emplace_back(proc_status_bytes(server.pid, "VmRSS"), heap);
    std::fprintf(stderr, "bench serve: round %d of %d done\n", current_round + 1, o.rounds);
  }
  const int64_t sent = int64_t(o.requests) * o.rounds;
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int64_t rss_end = proc_status_bytes(server.pid, "VmRSS"), rss_peak = proc_status_bytes(server.pid, "VmHWM");

  kill(server.pid, SIGTERM);
  int status = 0;
  waitpid(server.pid, &status, 0);
  bool clean_exit = WIFEXITED(status) && WEXITSTATUS(status) == 0;

  double p50 = percentile(latencies, 0.5), p99 = percentile(latencies, 0.99);
  std::printf("%lld requests (%d round(s) of %d, %.0f%% malformed or oversized) at concurrency %d, server --parallel %d\n",
              (long long)sent, o.rounds, o.requests, o.bad * 100, o.concurrency, o.parallel);
  std::printf("  %.1f requests/s, latency p50 %.2f ms, p99 %.2f ms (answered requests)\n", double(sent) / seconds, p50, p99);
  for (auto& [k, n] : outcomes) std::printf("  %-34s %lld\n", k.c_str(), (long long)n);
  std::printf("  no answer (not oversized): %lld; status not as expected: %lld\n", (long long)no_answer, (long long)unexpected);
  std::printf("  server RSS: %.1f MiB after %zu requests, %.1f MiB at the end, peak %.1f MiB; exit on SIGTERM: %s\n",
              double(rss_warm) / (1 << 20), warm_at, double(rss_end) / (1 << 20), double(rss_peak) / (1 << 20),
              clean_exit ? "clean (0)" : "NOT clean");
  nlohmann::json rounds = nlohmann::json::array();
  for (size_t r = 0; r < after_round.size(); ++r) {
    auto [rss, heap] = after_round[r];
    std::printf("  after round %zu: server RSS %.2f MiB, heap in use %.2f MiB\n", r + 1, double(rss) / (1 << 20),
                double(heap) / (1 << 20));
    rounds.push_back({{"rss_bytes", rss}, {"heap_in_use_bytes", heap}});
  }
  nlohmann::json errors = nlohmann::json::object();
  for (auto& [k, n] : outcomes) errors[k] = n;
  nlohmann::json j = {{"bench", "serve"}, {"requests", sent}, {"rounds", rounds}, {"concurrency", o.concurrency}, {"bad_fraction", o.bad},
                      {"parallel", o.parallel}, {"requests_per_s", double(sent) / seconds}, {"p50_ms", p50},
                      {"p99_ms", p99}, {"outcomes", errors}, {"no_answer", no_answer}, {"unexpected_status", unexpected},
                      {"rss_warm_bytes", rss_warm}, {"rss_end_bytes", rss_end}, {"rss_peak_bytes", rss_peak},
                      {"clean_exit", clean_exit}};
  std::printf("%s\n", j.dump().c_str());
  if (no_answer > 0 || unexpected > 0 || !clean_exit) fail("bench serve: requests went unanswered or wrong, or the server did not exit cleanly");
}

void setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("serve", "edgelm serve under load: throughput, latency, errors by kind, memory");
  o->agent.add_to(cmd);
  cmd->add_option("--requests", o->requests, "requests in all")->capture_default_str();
  cmd->add_option("--concurrency", o->concurrency, "client connections at once")->capture_default_str();
  cmd->add_option("--bad", o->bad, "fraction of malformed or oversized requests")->capture_default_str();
  cmd->add_option("--parallel", o->parallel, "the server's sessions")->capture_default_str();
  cmd->add_option("--rounds", o->rounds, "send the whole plan this many times to the same server (memory after each)")
      ->capture_default_str()->check(CLI::PositiveNumber);
  cmd->callback([o] { run(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_serve
}  // namespace edgelm::cli
