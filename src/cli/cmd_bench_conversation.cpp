// edgelm bench conversation --model M [--domain D] [--cases FILE] [--turns 5] [--conversations 20]
//
// What a turn of a conversation costs by its depth: conversations of --turns
// user turns (the commands of the case file, taken in order) are answered
// with the history kept in the KV cache (Agent::converse), and, interleaved,
// with the whole history evaluated again for each turn (Agent::respond with
// the history), which is what a runtime without a kept cache would pay.
// Prints per turn depth the median latency and tokens of both, and the ratio
// of the last turn to the first; the last line is JSON.
#include <algorithm>
#include <cstdio>
#include <memory>

#include "agent/agent.h"
#include "cli/agent_options.h"
#include "cli/command.h"
#include "eval/cases.h"
#include "eval/evaluate.h"
#include "platform/error.h"

namespace edgelm::cli {
namespace cmd_bench_conversation {

struct Options {
  AgentCommandOptions agent;
  std::string cases;
  int turns = 5;
  int conversations = 20;
};

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

void run(const Options& o) {
  if (o.turns < 1 || o.conversations < 1) fail("--turns and --conversations must be at least 1");
  auto model = o.agent.load_model();
  auto device = o.agent.load_domain();
  std::string path = o.cases.empty() ? domain_dir_for_model(o.agent.domain, o.agent.model) + "/eval/handwritten.jsonl" : o.cases;
  std::vector<EvalCase> cases = load_cases(path, device->schema);
  if (cases.empty()) fail(path, ": no cases");
  Agent kept(model, device, o.agent.agent_options()), recomputed(model, device, o.agent.agent_options());

  const size_t T = size_t(o.turns);
  std::vector<std::vector<double>> ms_kept(T), ms_again(T), tokens(T), passes(T), ms_per_pass(T);
  size_t next = 0;
  for (int c = 0; c < o.conversations; ++c) {
    kept.reset_conversation();
    Device d1(device), d2(device);
    std::vector<Turn> history;
    for (size_t t = 0; t < T; ++t) {
      const std::string& text = cases[next++ % cases.size()].text;
      AgentAnswer a = kept.converse(text, d1);
      AgentAnswer b = recomputed.respond(text, &d2, history);
      history.push_back({text, b.calls});
      ms_kept[t].push_back(a.latency_ms);
      ms_again[t].push_back(b.latency_ms);
      tokens[t].push_back(a.tokens_generated);
      passes[t].push_back(a.forward_passes);
      ms_per_pass[t].push_back(a.latency_ms / std::max(1, a.forward_passes));
    }
  }
  nlohmann::json per_turn = nlohmann::json::array();
  std::printf("%s, %d conversations of %d turns (%s)\n", o.agent.model.c_str(), o.conversations, o.turns, path.c_str());
  std::printf("  turn   kept cache ms   history again ms   tokens   forward passes   kept ms / pass\n");
  for (size_t t = 0; t < T; ++t) {
    per_turn.push_back({{"turn", t + 1},
                        {"kept_ms_p50", median(ms_kept[t])},
                        {"recomputed_ms_p50", median(ms_again[t])},
                        {"tokens_p50", median(tokens[t])},
                        {"forward_passes_p50", median(passes[t])},
                        {"kept_ms_per_forward_pass_p50", median(ms_per_pass[t])}});
    std::printf("  %4zu   %13.2f   %16.2f   %6.1f   %14.1f   %14.3f\n", t + 1, median(ms_kept[t]), median(ms_again[t]),
                median(tokens[t]), median(passes[t]), median(ms_per_pass[t]));
  }
  double ratio = median(ms_kept[T - 1]) / std::max(1e-9, median(ms_kept[0]));
  double ratio_again = median(ms_again[T - 1]) / std::max(1e-9, median(ms_again[0]));
  // Answers differ in length from turn to turn; per forward pass, the cost of depth alone shows.
  double ratio_per_pass = median(ms_per_pass[T - 1]) / std::max(1e-9, median(ms_per_pass[0]));
  std::printf("  last turn / first turn: %.2fx with the cache kept (%.2fx per forward pass), %.2fx with the history "
              "evaluated again\n",
              ratio, ratio_per_pass, ratio_again);
  nlohmann::json j = {{"benchmark", "conversation"},  {"model", o.agent.model},   {"turns", o.turns},
                      {"conversations", o.conversations}, {"per_turn", per_turn}, {"last_over_first_kept", ratio},
                      {"last_over_first_recomputed", ratio_again}, {"last_over_first_kept_per_forward_pass", ratio_per_pass}};
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  auto o = std::make_shared<Options>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("conversation", "Cost of a conversation's turns by depth, history kept in the cache "
                                                       "or evaluated again (last line: JSON)");
  o->agent.add_to(cmd);
  cmd->add_option("--cases", o->cases, "case file whose commands make the turns (default: the domain's eval/handwritten.jsonl)");
  cmd->add_option("--turns", o->turns, "user turns per conversation")->capture_default_str();
  cmd->add_option("--conversations", o->conversations, "conversations")->capture_default_str();
  cmd->callback([o] { run(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_conversation
}  // namespace edgelm::cli
