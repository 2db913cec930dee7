#pragma once
// Reading JSON from files edgelm does not control, so that every failure is an
// edgelm::Error and none is nlohmann::json's own exception or a crash.
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace edgelm {

// Deeper nesting is refused: real files nest a few levels, and nlohmann::json's
// dump() and other recursive walks would overflow the stack on a hostile one.
inline constexpr int kMaxJsonDepth = 64;

// Parses `text`; `what` names its source in messages ("tokenizer.json",
// "corpus.jsonl line 3"). Fails on bad syntax, on a number past double's range
// (1e999999, which nlohmann reports as out_of_range.406) and on nesting deeper
// than kMaxJsonDepth.
nlohmann::json parse_json(std::string_view text, const std::string& what);

}  // namespace edgelm
