#pragma once
// One input line of `edgelm predict`: {"id": ..., "text": "..."} or
// {"id": ..., "messages": [...]} (a conversation in the OpenAI chat form ending
// with the user turn to answer). A bad line is not an exception: predict
// answers it with an "error" field and goes on with the next line.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/conversation.h"
#include "domain/schema.h"

namespace edgelm {

// Lines longer than this are refused (a command is a sentence or two).
inline constexpr size_t kPredictMaxLineBytes = 16384;

struct PredictInput {
  nlohmann::json id = nullptr;  // a string or an integer; null when the line has none
  std::string text;             // the turn to answer
  std::vector<Turn> history;    // earlier turns of a conversation, oldest first
  std::string error;            // why the line cannot be answered; empty when it can
};

// Never throws on bad input: every problem lands in `error`.
PredictInput parse_predict_line(const std::string& line, const DomainSchema& schema);

}  // namespace edgelm
