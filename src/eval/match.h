#pragma once
// The matching rules of functional success: a prediction passes when its
// calls equal one of the acceptable answers as a multiset (order and
// repetition of distinct calls do not matter, counts do), with every omitted
// optional argument filled with its default on both sides.
#include <string>
#include <vector>

#include "domain/schema.h"

namespace edgelm {

// The calls with defaults filled in, sorted: the canonical form two answers are compared in.
std::vector<Call> canonical_calls(const DomainSchema& schema, const std::vector<Call>& calls);

// True when predicted and expected are the same multiset of calls (after defaults).
bool calls_match(const DomainSchema& schema, const std::vector<Call>& predicted, const std::vector<Call>& expected);

// The index of the first acceptable answer that predicted matches, or -1.
int match_answer(const DomainSchema& schema, const std::vector<Call>& predicted,
                 const std::vector<std::vector<Call>>& answers);

// Finer-grained scores of one prediction against one answer, for the parts of
// the report beyond pass/fail.
struct AnswerScore {
  bool names_match = false;  // the multiset of function names is right (arguments aside)
  int args_total = 0;        // arguments in the expected calls (defaults filled)
  int args_correct = 0;      // of those, how many a predicted call of the same function got right
  int calls_found = 0;       // expected calls whose function the prediction contains (multiset)
};
AnswerScore score_answer(const DomainSchema& schema, const std::vector<Call>& predicted, const std::vector<Call>& expected);

// The answer a failed prediction is scored against: the matched one if any,
// else the one sharing the most function names and then arguments (first on ties).
int closest_answer(const DomainSchema& schema, const std::vector<Call>& predicted,
                   const std::vector<std::vector<Call>>& answers);

}  // namespace edgelm
