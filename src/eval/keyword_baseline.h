#pragma once
// A rule-and-keyword baseline for the air-purifier domain (English and
// Korean): the kind of matcher a device team writes before any model, and the
// yardstick the trained agent is compared against. The command is split into
// clauses at conjunctions, and each clause is matched against a hand-written
// keyword table; numbers with hour/minute units become timer minutes.
#include <string>
#include <vector>

#include "domain/schema.h"
#include "eval/evaluate.h"

namespace edgelm {

// Calls for one command; every call is valid for the schema (others are dropped).
std::vector<Call> keyword_baseline_calls(const DomainSchema& schema, const std::string& text);
// The baseline as an evaluation predictor, with a fixed reply in the command's script.
Predictor keyword_baseline_predictor(const DomainSchema& schema);

// Minutes named in a phrase ("an hour and a half", "90 minutes", "두 시간", "삼십 분", "1시간 반"), or -1.
int64_t parse_duration_minutes(const std::string& text);

}  // namespace edgelm
