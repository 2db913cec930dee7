#include "eval/match.h"

#include <algorithm>

namespace edgelm {

std::vector<Call> canonical_calls(const DomainSchema& schema, const std::vector<Call>& calls) {
  std::vector<Call> out;
  out.reserve(calls.size());
  for (const auto& c : calls) out.push_back(with_defaults(schema, c));
  std::sort(out.begin(), out.end());
  return out;
}

bool calls_match(const DomainSchema& schema, const std::vector<Call>& predicted, const std::vector<Call>& expected) {
  if (predicted.size() != expected.size()) return false;
  return canonical_calls(schema, predicted) == canonical_calls(schema, expected);
}

int match_answer(const DomainSchema& schema, const std::vector<Call>& predicted,
                 const std::vector<std::vector<Call>>& answers) {
  for (size_t i = 0; i < answers.size(); ++i)
    if (calls_match(schema, predicted, answers[i])) return int(i);
  return -1;
}

namespace {
int n_equal_args(const Call& a, const Call& b) {
  int n = 0;
  for (const auto& [name, value] : a.arguments) {
    auto it = b.arguments.find(name);
    if (it != b.arguments.end() && it->second == value) ++n;
  }
  return n;
}
}  // namespace

AnswerScore score_answer(const DomainSchema& schema, const std::vector<Call>& predicted, const std::vector<Call>& expected) {
  std::vector<Call> pred = canonical_calls(schema, predicted), exp = canonical_calls(schema, expected);
  AnswerScore s;
  std::vector<std::string> pred_names, exp_names;
  for (const auto& c : pred) pred_names.push_back(c.name);
  for (const auto& c : exp) exp_names.push_back(c.name);
  std::sort(pred_names.begin(), pred_names.end());
  std::sort(exp_names.begin(), exp_names.end());
  s.names_match = pred_names == exp_names;
  // Pair each expected call with the unused predicted call of the same
  // function that agrees on the most arguments: greedy is enough here because
  // answers hold a handful of calls.
  std::vector<bool> used(pred.size(), false);
  for (const auto& e : exp) {
    s.args_total += int(e.arguments.size());
    int best = -1, best_equal = -1;
    for (size_t i = 0; i < pred.size(); ++i) {
      if (used[i] || pred[i].name != e.name) continue;
      int n = n_equal_args(e, pred[i]);
      if (n > best_equal) best = int(i), best_equal = n;
    }
    if (best < 0) continue;
    used[size_t(best)] = true;
    ++s.calls_found;
    s.args_correct += best_equal;
  }
  return s;
}

int closest_answer(const DomainSchema& schema, const std::vector<Call>& predicted,
                   const std::vector<std::vector<Call>>& answers) {
  int matched = match_answer(schema, predicted, answers);
  if (matched >= 0) return matched;
  int best = 0;
  long best_key = -1;
  for (size_t i = 0; i < answers.size(); ++i) {
    AnswerScore s = score_answer(schema, predicted, answers[i]);
    // Prefer the answer of the same length, then shared calls, then shared arguments.
    long key = (predicted.size() == answers[i].size() ? 1L << 40 : 0) + (long(s.calls_found) << 20) + s.args_correct;
    if (key > best_key) best = int(i), best_key = key;
  }
  return best;
}

}  // namespace edgelm
