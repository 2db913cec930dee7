#include "platform/json.h"

#include "platform/error.h"

namespace edgelm {

nlohmann::json parse_json(std::string_view text, const std::string& what) {
  using nlohmann::json;
  auto limit_depth = [&](int depth, json::parse_event_t, json&) {
    if (depth > kMaxJsonDepth) fail(what, ": JSON nested deeper than ", kMaxJsonDepth, " levels");
    return true;
  };
  // nlohmann's messages start with an id for programs ("[json.exception.parse_error.101] "); the user needs the rest.
  auto message = [](const json::exception& e) {
    std::string_view m = e.what();
    if (size_t close = m.find("] "); m.starts_with("[json.exception") && close != std::string_view::npos) m.remove_prefix(close + 2);
    return std::string(m);
  };
  try {
    return json::parse(text, limit_depth);
  } catch (const json::parse_error& e) {
    fail(what, ": not valid JSON (", message(e), ")");
  } catch (const json::exception& e) {
    // The grammar holds but a value does not fit.
    fail(what, ": a value cannot be read (", message(e), ")");
  }
}

}  // namespace edgelm
