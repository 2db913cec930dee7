#include "platform/json.h"

#include "platform/error.h"

namespace edgelm {

nlohmann::json parse_json(std::string_view text, const std::string& what) {
  using nlohmann::json;
  auto limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) fail(what, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
    return true;
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const json::parse_error& e) {
    fail(what, ": not valid JSON (", e.what(), ")");
  } catch (const json::exception& e) {
    // The grammar holds but a value does not fit.
    fail(what, ": a value cannot be read (", e.what(), ")");
  }
}

}  // namespace edgelm
