#pragma once
// Evaluation cases: one command and the answers that count as right, in the
// JSONL case format of the domain spec (id, lang, text, expected, types), and
// for a conversation the earlier turns (`messages` in the OpenAI chat form,
// ending with the turn to answer; only that turn is scored).
// The loader also reads SFT example lines (`messages` with `tool_calls`), so
// a generated test split can be evaluated without converting it first.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/dataset.h"
#include "domain/conversation.h"
#include "domain/schema.h"

namespace edgelm {

struct EvalCase {
  std::string id;
  std::string lang;                          // a language code, or kMixedLanguage (src/domain/language.h)
  std::string text;                          // the user's command
  std::vector<std::vector<Call>> expected;   // acceptable answers; {{}} means "no call"
  std::vector<std::string> types;            // type tags (phenomena), may be empty
  std::vector<Turn> history;                 // earlier turns of a conversation (`messages`), oldest first
};

// Reads a JSONL case file. Every expected call is checked against the schema
// so that a typo in a case is reported (file, line, reason) instead of
// silently counting as a model failure. Blank lines are skipped.
std::vector<EvalCase> load_cases(const std::string& path, const DomainSchema& schema);
// One line (already parsed); `where` names the file and line in errors.
EvalCase parse_case(const nlohmann::json& line, const DomainSchema& schema, const std::string& where);
nlohmann::json case_to_json(const EvalCase& c);
// Its user turns, oldest first, to look for in training data (cases_in_training).
CaseText case_text(const EvalCase& c);

// The type tags of a `types` field: a list of strings, or the generator's
// object form, whose "phenomenon" list (or string) holds the tags.
std::vector<std::string> type_tags_from_json(const nlohmann::json& types);

}  // namespace edgelm
