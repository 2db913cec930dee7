#pragma once
// Functional-success evaluation: runs a predictor (a trained agent, the
// keyword baseline, anything that maps a command to calls and a reply) over
// evaluation cases and summarises the results as the report JSON of the
// contracts: overall, by_language, by_kind, by_function, by_type, failures,
// plus irrelevance detection, argument accuracy, reply language, tokens and
// latency per command.
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"
#include "eval/cases.h"
#include "eval/match.h"

namespace edgelm {

struct DeviceSpec;  // device/device.h

struct Prediction {
  std::vector<Call> calls;
  std::string reply;          // placeholders already filled by the device
  int tokens_generated = 0;   // sampled + fast-forwarded answer tokens
  double latency_ms = 0;      // measured around the predictor call when the predictor leaves it 0
  std::string error;          // non-empty when the predictor failed on this command
  int calls_taken_back = 0;   // repeated calls the decoder stepped back from (AgentAnswer::calls_taken_back)
  float action_probability = -1;  // AgentAnswer::action_probability (-1: not known)
  bool action_withheld = false;   // AgentAnswer::action_withheld
};
using Predictor = std::function<Prediction(const EvalCase&)>;

struct CaseResult {
  EvalCase eval_case;
  Prediction prediction;
  int matched = -1;           // index of the matched answer, -1 when failed
  AnswerScore score;          // against the matched or closest answer
  bool reply_in_language = false;
  bool passed() const { return matched >= 0; }
  std::string kind() const;   // "none", "single" or "multi", from the first answer
};

struct EvalRun {
  std::string name;           // e.g. "model.gguf (constrained)"
  std::string model;          // the model file or "keyword baseline"
  std::string cases_path;
  std::vector<CaseResult> results;
};

// Runs every case through the predictor (in order; a progress bar on stderr
// when label is non-empty). A predictor that throws edgelm::Error fails that
// case with the message and the run continues.
EvalRun evaluate_cases(const DomainSchema& schema, const std::vector<EvalCase>& cases, const Predictor& predict,
                       const std::string& label = "");
// Scores one prediction (exposed for tests and for callers that predict themselves).
CaseResult score_case(const DomainSchema& schema, const EvalCase& c, Prediction p);

// The report JSON: overall {n, passed, rate}, by_language, by_kind,
// by_function, by_type (name -> {n, passed, rate}), irrelevance, missed_calls,
// function_accuracy, argument_accuracy, reply_language, tokens_generated
// {median, mean}, latency_ms {p50, p95, mean}, errors, failures [{id, text,
// lang, expected, predicted, reply, error}]. With the device, also
// out_of_scope {n, acted, rate}: of the cases typed out_of_scope (or
// out_of_scope_mid) whose right answers change nothing, those answered with a
// complete call that changes the device's state (DeviceSpec::writes_state; a
// partial call only asks), the failure a user forgives least.
nlohmann::json summarize(const EvalRun& run, const DeviceSpec* device = nullptr);

// Whether a reply is in the command's language: that language's script has
// letters in it and no other script has more (src/domain/language.h); a
// code-switched command accepts any letters; an empty reply never passes.
bool reply_in_language(const std::string& lang, std::string_view reply);

// Percentile by linear interpolation between closest ranks (q in [0, 1]); 0 for no values.
double percentile(std::vector<double> values, double q);

}  // namespace edgelm
