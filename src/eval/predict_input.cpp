#include "eval/predict_input.h"

#include "agent/format.h"
#include "platform/error.h"
#include "platform/json.h"

namespace edgelm {

PredictInput parse_predict_line(const std::string& line, const DomainSchema& schema) {
  PredictInput in;
  if (line.find_first_not_of(" \t") == std::string::npos) {
    in.error = "empty line";
    return in;
  }
  if (line.size() > 64 * kPredictMaxLineBytes) {  // not even parsed
    in.error = cat("line too long: ", line.size(), " bytes (at most ", kPredictMaxLineBytes, ")");
    return in;
  }
  if (std::string why = check_user_text(line, line.size()); !why.empty()) {
    in.error = "line: " + why;
    return in;
  }
  nlohmann::json j;
  try {
    j = parse_json(line, "line");
  } catch (const Error& e) {
    in.error = std::string(e.what()).substr(std::string_view("line: ").size());  // predict names the line itself
    return in;
  }
  if (!j.is_object()) {
    in.error = "not a JSON object";
    return in;
  }
  // The id first, so that every error below can be matched to its case.
  if (j.contains("id") && (j["id"].is_string() || j["id"].is_number_integer())) in.id = j["id"];
  if (line.size() > kPredictMaxLineBytes) {
    in.error = cat("line too long: ", line.size(), " bytes (at most ", kPredictMaxLineBytes, ")");
    return in;
  }
  if (in.id.is_null()) {
    in.error = "missing \"id\" (a string or an integer)";
    return in;
  }
  if (j.contains("messages")) {
    try {
      Conversation conv = parse_conversation(j["messages"], schema);
      in.history = std::move(conv.history);
      in.text = conv.last_user;
    } catch (const Error& e) {
      in.error = cat("messages: ", e.what());
      return in;
    }
    if (j.contains("text") && (!j["text"].is_string() || j["text"].get<std::string>() != in.text)) {
      in.error = "\"text\" differs from the last user message of \"messages\"";
      return in;
    }
  } else if (!j.contains("text") || !j["text"].is_string()) {
    in.error = "missing \"text\" (a string) or \"messages\" (a conversation)";
    return in;
  } else {
    in.text = j["text"].get<std::string>();
  }
  std::string why = check_user_text(in.text);
  if (!why.empty()) in.error = "text: " + why;
  return in;
}

}  // namespace edgelm
