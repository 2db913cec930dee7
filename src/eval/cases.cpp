#include "eval/cases.h"

#include <fstream>

#include "domain/conversation.h"
#include "domain/language.h"
#include "platform/error.h"
#include "platform/json.h"

namespace edgelm {

std::vector<std::string> type_tags_from_json(const nlohmann::json& types) {
  std::vector<std::string> tags;
  auto add = [&](const nlohmann::json& v) {
    if (v.is_string()) tags.push_back(v.get<std::string>());
    else if (v.is_array())
      for (const auto& t : v)
        if (t.is_string()) tags.push_back(t.get<std::string>());
  };
  if (types.is_array()) add(types);
  else if (types.is_object() && types.contains("phenomenon")) add(types["phenomenon"]);
  return tags;
}

namespace {

std::vector<Call> parse_answer(const nlohmann::json& answer, const DomainSchema& schema, const std::string& where) {
  if (!answer.is_array()) fail(where, ": each expected answer must be a list of calls");
  std::vector<Call> calls;
  for (const auto& j : answer) {
    // SFT tool calls wrap the call: {"type": "function", "function": {...}}.
    const nlohmann::json& call_json = j.is_object() && j.contains("function") ? j["function"] : j;
    Call c;
    try {
      c = call_from_json(call_json);
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
    std::string why = validate_call(schema, c);
    if (!why.empty()) fail(where, ": expected call is not valid for domain '", schema.name, "': ", why);
    calls.push_back(std::move(c));
  }
  return calls;
}

std::string string_field(const nlohmann::json& line, const char* key, const std::string& where, bool required) {
  if (!line.contains(key)) {
    if (required) fail(where, ": missing '", key, "'");
    return "";
  }
  if (!line[key].is_string()) fail(where, ": '", key, "' must be a string");
  return line[key].get<std::string>();
}

}  // namespace

EvalCase parse_case(const nlohmann::json& line, const DomainSchema& schema, const std::string& where) {
  if (!line.is_object()) fail(where, ": a case must be a JSON object");
  EvalCase c;
  c.id = string_field(line, "id", where, true);
  c.lang = string_field(line, "lang", where, false);
  Conversation conv;
  if (line.contains("messages")) {
    try {
      conv = parse_conversation(line["messages"], schema);
    } catch (const Error& e) {
      fail(where, ": ", e.what());
    }
    c.history = conv.history;
    c.text = conv.last_user;
  }
  if (line.contains("expected")) {
    // A case: `text` is the turn to answer (the last user message when `messages` is given).
    if (line.contains("text")) {
      std::string text = string_field(line, "text", where, true);
      if (line.contains("messages") && text != c.text)
        fail(where, ": 'text' differs from the last user message of 'messages'");
      c.text = text;
    } else if (!line.contains("messages")) {
      fail(where, ": missing 'text'");
    }
    const auto& expected = line["expected"];
    if (!expected.is_array() || expected.empty())
      fail(where, ": 'expected' must be a non-empty list of answers (use [[]] for \"no call\")");
    for (const auto& answer : expected) c.expected.push_back(parse_answer(answer, schema, where));
  } else if (line.contains("messages")) {
    // An SFT example: the assistant's calls after the last user turn are the one answer.
    if (!conv.answer) fail(where, ": an SFT line needs an assistant message after the last user message");
    c.expected.push_back(*conv.answer);
  } else {
    if (!line.contains("text")) fail(where, ": missing 'text'");
    fail(where, ": missing 'expected' (use [[]] for \"no call\")");
  }
  if (c.lang.empty()) fail(where, ": missing 'lang' (", known_language_codes(), " or ", kMixedLanguage, ")");
  if (c.lang != kMixedLanguage && !find_language_info(c.lang))
    fail(where, ": lang '", c.lang, "' is not one of ", known_language_codes(), ", ", kMixedLanguage);
  if (line.contains("types")) c.types = type_tags_from_json(line["types"]);
  return c;
}

std::vector<EvalCase> load_cases(const std::string& path, const DomainSchema& schema) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open case file '", path, "'");
  std::vector<EvalCase> cases;
  std::string text;
  int line_no = 0;
  while (std::getline(in, text)) {
    ++line_no;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    std::string where = cat(path, " line ", line_no);
    cases.push_back(parse_case(parse_json(text, where), schema, where));
  }
  if (cases.empty()) fail("case file '", path, "' holds no cases");
  return cases;
}

CaseText case_text(const EvalCase& c) {
  CaseText t{c.id, {}};
  for (const auto& turn : c.history) t.user_turns.push_back(turn.user);
  t.user_turns.push_back(c.text);
  return t;
}

nlohmann::json case_to_json(const EvalCase& c) {
  nlohmann::json expected = nlohmann::json::array();
  for (const auto& answer : c.expected) {
    nlohmann::json calls = nlohmann::json::array();
    for (const auto& call : answer) calls.push_back(call_to_json(call));
    expected.push_back(calls);
  }
  nlohmann::json j = {{"id", c.id}, {"lang", c.lang}, {"text", c.text}, {"expected", expected}};
  if (!c.types.empty()) j["types"] = c.types;
  if (!c.history.empty()) j["messages"] = conversation_to_messages(c.history, c.text);
  return j;
}

}  // namespace edgelm
