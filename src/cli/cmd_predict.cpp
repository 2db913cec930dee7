// edgelm predict --model M --input FILE --output FILE
//
// One JSONL line out per line in: {"id", "calls", "reply", "tokens_generated",
// "latency_ms"}. A line holds `text` (one command) or `messages` (a
// conversation in the OpenAI chat form ending with the user turn to answer;
// the earlier calls run on the device first). A bad line (empty, too long,
// invalid UTF-8, control characters, not JSON, no id or text, a malformed
// conversation) gets an "error" field in its output line and a message on
// stderr, and the run goes on.
#include <cstdio>
#include <memory>

#include "agent/agent.h"
#include "agent/format.h"
#include "cli/agent_options.h"
#include "cli/command.h"
#include "eval/predict_input.h"
#include "model/model.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/progress.h"
#include "platform/thread_pool.h"

namespace edgelm::cli {
namespace cmd_predict {

struct PredictOptions {
  AgentCommandOptions agent;
  std::string input, output;
};

std::vector<std::string> split_lines(const std::string& content) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < content.size()) {
    size_t end = content.find('\n', start);
    if (end == std::string::npos) end = content.size();
    std::string line = content.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    lines.push_back(std::move(line));
    start = end + 1;
  }
  return lines;
}

void run_predict(const PredictOptions& o) {
  std::string content = read_file(o.input);
  std::vector<std::string> lines = split_lines(content);
  auto model = o.agent.load_model();
  std::shared_ptr<const DeviceSpec> device = o.agent.load_domain();
  Agent agent(model, device, o.agent.agent_options());

  AtomicFile out(o.output);
  ProgressBar bar("predict", int64_t(lines.size()), "lines");
  int64_t n_errors = 0, n_tokens = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    PredictInput in = parse_predict_line(lines[i], device->schema);
    nlohmann::json result;
    if (!in.error.empty()) {
      result = {{"id", in.id}, {"line", i + 1}, {"calls", nlohmann::json::array()}, {"reply", ""},
                {"tokens_generated", 0}, {"latency_ms", 0}, {"error", in.error}};
      std::fprintf(stderr, "\n%s line %zu: %s\n", o.input.c_str(), i + 1, in.error.c_str());
      ++n_errors;
    } else {
      AgentAnswer a;
      try {
        Device state(device);  // each line starts from the initial state, then replays its history
        for (const Turn& t : in.history)
          for (const Call& c : t.calls) state.execute(c);
        a = agent.respond(in.text, &state, in.history);
      } catch (const Error& e) {
        a.error = e.what();
      }
      nlohmann::json calls = nlohmann::json::array();
      for (const auto& c : a.calls) calls.push_back(call_to_json(c));
      result = {{"id", in.id}, {"calls", calls}, {"reply", a.reply}, {"tokens_generated", a.tokens_generated},
                {"latency_ms", a.latency_ms}};
      if (!a.error.empty()) result["error"] = a.error;
      n_tokens += a.tokens_generated;
    }
    out.write(result.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n");
    bar.update(int64_t(i + 1), cat(n_tokens, " tokens, ", n_errors, " bad lines"));
  }
  bar.finish();
  out.commit();
  std::fprintf(stderr, "wrote %zu predictions to %s (%lld bad lines)\n", lines.size(), o.output.c_str(), (long long)n_errors);
}

void setup(CLI::App& app) {
  auto o = std::make_shared<PredictOptions>();
  CLI::App* cmd = app.add_subcommand("predict", "Answer each command of a JSONL file with calls and a reply");
  o->agent.add_to(cmd);
  cmd->add_option("--input", o->input, "JSONL: one {\"id\", \"text\"} or {\"id\", \"messages\"} per line")->required();
  cmd->add_option("--output", o->output, "JSONL: one {\"id\", \"calls\", \"reply\", ...} per line")->required();
  cmd->callback([o] { run_predict(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_predict
}  // namespace edgelm::cli
