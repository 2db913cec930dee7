#include "eval/evaluate.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>

#include "device/device.h"
#include "domain/language.h"
#include "platform/error.h"
#include "platform/progress.h"

namespace edgelm {

std::string CaseResult::kind() const {
  size_t n = eval_case.expected.empty() ? 0 : eval_case.expected[0].size();
  return n == 0 ? "none" : n == 1 ? "single" : "multi";
}

bool reply_in_language(const std::string& lang, std::string_view reply) {
  // The reply is in a language when that language's script has letters in it
  // and no other script has more; a code-switched command accepts any letters.
  const LanguageInfo* info = find_language_info(lang);
  if (!info) {
    for (const auto& l : known_languages())
      if (count_script(reply, l.script) > 0) return true;
    return false;
  }
  int64_t mine = count_script(reply, info->script);
  if (mine == 0) return false;
  for (const auto& l : known_languages())
    if (l.script != info->script && count_script(reply, l.script) > mine) return false;
  return true;
}

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  double pos = q * double(values.size() - 1);
  size_t lo = size_t(std::floor(pos)), hi = std::min(values.size() - 1, lo + 1);
  return values[lo] + (values[hi] - values[lo]) * (pos - double(lo));
}

CaseResult score_case(const DomainSchema& schema, const EvalCase& c, Prediction p) {
  CaseResult r;
  r.eval_case = c;
  r.matched = match_answer(schema, p.calls, c.expected);
  int closest = closest_answer(schema, p.calls, c.expected);
  r.score = c.expected.empty() ? AnswerScore{} : score_answer(schema, p.calls, c.expected[size_t(closest)]);
  r.reply_in_language = reply_in_language(c.lang, p.reply);
  r.prediction = std::move(p);
  return r;
}

EvalRun evaluate_cases(const DomainSchema& schema, const std::vector<EvalCase>& cases, const Predictor& predict,
                       const std::string& label) {
  EvalRun run;
  run.results.reserve(cases.size());
  std::unique_ptr<ProgressBar> bar;
  if (!label.empty()) bar = std::make_unique<ProgressBar>(label, int64_t(cases.size()), "cases");
  int passed = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    Prediction p;
    auto start = std::chrono::steady_clock::now();
    try {
      p = predict(cases[i]);
    } catch (const Error& e) {
      p = Prediction{};
      p.error = e.what();
    }
    if (p.latency_ms <= 0)
      p.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    run.results.push_back(score_case(schema, cases[i], std::move(p)));
    passed += run.results.back().passed();
    if (bar) bar->update(int64_t(i + 1), cat(passed, "/", i + 1, " passed"));
  }
  if (bar) bar->finish(cat(passed, "/", cases.size(), " passed"));
  return run;
}

namespace {

struct Tally {
  int n = 0, passed = 0;
  void add(bool ok) { ++n, passed += ok; }
  nlohmann::json json() const {
    return {{"n", n}, {"passed", passed}, {"rate", n ? double(passed) / n : 0.0}};
  }
};

nlohmann::json tallies_json(const std::map<std::string, Tally>& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, t] : m) j[k] = t.json();
  return j;
}

// Whether `calls`, run on the device after the conversation's earlier turns,
// would change it: a call of a state-writing function that is complete. A
// partial call (toggle_lights without a state) changes nothing and asks; a call
// outside the API is refused.
bool acts_on_device(const DeviceSpec& spec, const std::vector<Turn>& history, const std::vector<Call>& calls) {
  Device device(std::shared_ptr<const DeviceSpec>(&spec, [](const DeviceSpec*) {}));
  auto run = [&](const Call& call) -> std::optional<Execution> {
    try {
      return device.execute(call);
    } catch (const Error&) {
      return std::nullopt;
    }
  };
  for (const Turn& t : history)
    for (const Call& call : t.calls) run(call);
  for (const Call& call : calls) {
    std::optional<Execution> e = run(call);
    if (e && e->missing.empty() && spec.writes_state(call.name)) return true;
  }
  return false;
}

nlohmann::json calls_json(const std::vector<Call>& calls) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& c : calls) j.push_back(call_to_json(c));
  return j;
}

}  // namespace

nlohmann::json summarize(const EvalRun& run, const DeviceSpec* device) {
  Tally overall, irrelevance, missed, names, reply_lang, args, acted_out_of_scope;
  std::map<std::string, Tally> by_language, by_kind, by_function, by_type, by_turn;
  std::vector<double> tokens, latency;
  int errors = 0, taken_back = 0;
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& r : run.results) {
    const EvalCase& c = r.eval_case;
    bool ok = r.passed();
    overall.add(ok);
    by_language[c.lang].add(ok);
    by_kind[r.kind()].add(ok);
    std::set<std::string> functions;
    if (!c.expected.empty())
      for (const auto& call : c.expected[0]) functions.insert(call.name);
    for (const auto& f : functions) by_function[f].add(ok);
    for (const auto& t : std::set<std::string>(c.types.begin(), c.types.end())) by_type[t].add(ok);
    // Turn depth: 1 for a single command, 2 for the second user turn of a conversation, ...
    by_turn[std::to_string(c.history.size() + 1)].add(ok);
    if (device) {
      // An out-of-scope request: typed so, and no right answer acts (a conversation
      // typed out_of_scope_mid may end on an ordinary command after the request).
      auto acts = [&](const std::vector<Call>& calls) { return acts_on_device(*device, c.history, calls); };
      const bool typed = std::any_of(c.types.begin(), c.types.end(),
                                     [](const std::string& t) { return t == "out_of_scope" || t == "out_of_scope_mid"; });
      if (typed && std::none_of(c.expected.begin(), c.expected.end(), acts)) acted_out_of_scope.add(acts(r.prediction.calls));
    }
    if (r.kind() == "none") irrelevance.add(r.prediction.calls.empty());
    else missed.add(r.prediction.calls.empty());
    names.add(r.score.names_match);
    args.n += r.score.args_total;
    args.passed += r.score.args_correct;
    reply_lang.add(r.reply_in_language);
    tokens.push_back(r.prediction.tokens_generated);
    latency.push_back(r.prediction.latency_ms);
    errors += !r.prediction.error.empty();
    taken_back += r.prediction.calls_taken_back > 0;
    if (!ok) {
      nlohmann::json expected = nlohmann::json::array();
      for (const auto& a : c.expected) expected.push_back(calls_json(a));
      failures.push_back({{"id", c.id}, {"lang", c.lang}, {"text", c.text}, {"kind", r.kind()}, {"types", c.types},
                          {"expected", expected}, {"predicted", calls_json(r.prediction.calls)},
                          {"reply", r.prediction.reply}, {"error", r.prediction.error}});
    }
  }
  double token_sum = 0, latency_sum = 0;
  for (double t : tokens) token_sum += t;
  for (double t : latency) latency_sum += t;
  size_t n = run.results.size();
  nlohmann::json out = {
      {"name", run.name},
      {"model", run.model},
      {"cases", run.cases_path},
      {"overall", overall.json()},
      {"by_language", tallies_json(by_language)},
      {"by_kind", tallies_json(by_kind)},
      {"by_function", tallies_json(by_function)},
      {"by_type", tallies_json(by_type)},
      {"by_turn", tallies_json(by_turn)},     // by the user turn answered: 1 = no history
      {"irrelevance", irrelevance.json()},    // no call where none belongs
      {"missed_calls", missed.json()},        // "passed" here counts commands that needed calls and got none
      {"function_accuracy", names.json()},    // right functions, arguments aside
      {"argument_accuracy", args.json()},     // n = expected arguments, passed = right values
      {"reply_language", reply_lang.json()},
      {"tokens_generated", {{"median", percentile(tokens, 0.5)}, {"mean", n ? token_sum / double(n) : 0.0}}},
      {"latency_ms", {{"p50", percentile(latency, 0.5)}, {"p95", percentile(latency, 0.95)}, {"mean", n ? latency_sum / double(n) : 0.0}}},
      {"errors", errors},
      {"answers_with_calls_taken_back", taken_back},  // the model repeated a call; the decoder took it back
      {"failures", failures},
  };
  // acted: the out-of-scope requests answered with a state-changing call (lower is better).
  if (device) out["out_of_scope"] = {{"n", acted_out_of_scope.n}, {"acted", acted_out_of_scope.passed},
                                     {"rate", acted_out_of_scope.n ? double(acted_out_of_scope.passed) / acted_out_of_scope.n : 0.0}};
  return out;
}

}  // namespace edgelm
