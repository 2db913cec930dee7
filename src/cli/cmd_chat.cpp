// edgelm chat --model M [--domain DIR]
//
// Reads one command per line (a terminal or a pipe), answers it in the
// conversation so far (follow-ups, corrections and answers to the device's
// questions lean on earlier turns), executes the calls on the device, and
// prints each call, the reply and the device's state. `/reset` starts a new
// conversation with the device in its initial state. A bad line gets a
// message and the session goes on.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "agent/agent.h"
#include "agent/format.h"
#include "cli/agent_options.h"
#include "cli/command.h"
#include "model/model.h"
#include "platform/error.h"
#include "platform/thread_pool.h"

namespace edgelm::cli {
namespace cmd_chat {

struct ChatOptions {
  AgentCommandOptions agent;
  bool json = false;
};

void run_chat(const ChatOptions& o) {
  auto model = o.agent.load_model();
  std::shared_ptr<const DeviceSpec> device = o.agent.load_domain();
  const DomainSchema& schema = device->schema;
  Agent agent(model, device, o.agent.agent_options());
  // A device with state shows it after every answer; a stateless one has nothing to show.
  const bool simulate = !device->fields.empty();
  Device sim(device);
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive)
    std::printf("edgelm chat: %s, domain %s (%zu functions). One command per line; /reset starts over; Ctrl-D ends.\n",
                o.agent.model.c_str(), schema.name.c_str(), schema.functions.size());
  std::string line;
  int64_t n = 0;
  while (true) {
    if (interactive) {
      std::printf("you> ");
      std::fflush(stdout);
    }
    if (!std::getline(std::cin, line)) break;
    ++n;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line == "/reset") {
      agent.reset_conversation();
      sim.reset();
      if (o.json) std::printf("%s\n", nlohmann::json({{"reset", true}}).dump().c_str());
      else std::printf("  (new conversation)\n");
      std::fflush(stdout);
      continue;
    }
    if (std::string why = check_user_text(line); !why.empty()) {
      std::fprintf(stderr, "line %lld: %s\n", (long long)n, why.c_str());
      if (o.json) std::printf("%s\n", nlohmann::json({{"line", n}, {"error", why}}).dump().c_str());
      std::fflush(stdout);
      continue;
    }
    AgentAnswer a;
    try {
      a = agent.converse(line, sim);
    } catch (const Error& e) {
      a.error = e.what();
    }
    if (o.json) {
      nlohmann::json calls = nlohmann::json::array();
      for (const auto& c : a.calls) calls.push_back(call_to_json(c));
      nlohmann::json j = {{"text", line}, {"turn", agent.conversation().size()}, {"calls", calls}, {"reply", a.reply},
                          {"tokens_generated", a.tokens_generated},
                          {"forward_passes", a.forward_passes}, {"latency_ms", a.latency_ms}};
      if (simulate) j["state"] = sim.state_json();
      if (!a.error.empty()) j["error"] = a.error;
      std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else {
      for (const auto& c : a.calls) std::printf("  call  %s\n", call_to_string(c).c_str());
      std::printf("  reply %s\n", a.reply.c_str());
      if (!a.error.empty()) std::printf("  error %s\n", a.error.c_str());
      if (simulate) std::printf("  state %s\n", sim.state_json().dump().c_str());
      std::printf("  (turn %zu; %d tokens, %d forced, %d forward passes, %.1f ms)\n", agent.conversation().size(),
                  a.tokens_generated, a.tokens_forced, a.forward_passes, a.latency_ms);
    }
    std::fflush(stdout);
  }
}

void setup(CLI::App& app) {
  auto o = std::make_shared<ChatOptions>();
  CLI::App* cmd = app.add_subcommand("chat", "Talk to the device: commands in, calls + reply + device state out");
  o->agent.add_to(cmd);
  cmd->add_flag("--json", o->json, "one JSON object per answer instead of text");
  cmd->callback([o] { run_chat(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_chat
}  // namespace edgelm::cli
