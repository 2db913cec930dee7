// Loading tokenizer files and training text.
#include <nlohmann/json.hpp>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/json.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void collect_strings(const nlohmann::json& j, std::string& out) {
  if (j.is_string()) {
    if (!out.empty()) out += '\n';
    out += j.get<std::string>();
  } else if (j.is_array() || j.is_object()) {
    for (const auto& v : j) collect_strings(v, out);
  }
}

}  // namespace

Tokenizer load_tokenizer(const std::string& path) {
  if (ends_with(path, ".json")) return Tokenizer::from_hf_json(path);
  return Tokenizer::from_gguf(GgufFile::open(path));
}

std::vector<std::string> read_training_texts(const std::vector<std::string>& files, const std::string& jsonl_field) {
  std::vector<std::string> texts;
  for (const std::string& path : files) {
    std::string content = read_file(path);
    bool jsonl = ends_with(path, ".jsonl") || !jsonl_field.empty();
    if (!jsonl) {
      texts.push_back(std::move(content));
      continue;
    }
    size_t line_no = 0;
    for (size_t pos = 0; pos < content.size();) {
      size_t end = content.find('\n', pos);
      if (end == std::string::npos) end = content.size();
      std::string_view line(content.data() + pos, end - pos);
      ++line_no;
      pos = end + 1;
      if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      nlohmann::json j = parse_json(line, cat(path, " line ", line_no));
      std::string text;
      if (jsonl_field.empty() && j.is_object() && j.contains("text")) {
        collect_strings(j["text"], text);
      } else if (jsonl_field.empty() && j.is_object() && j.contains("messages") && j["messages"].is_array()) {
        for (const auto& m : j["messages"])
          if (m.is_object() && m.contains("content")) collect_strings(m["content"], text);
      } else if (jsonl_field.empty()) {
        collect_strings(j, text);
      } else {
        if (!j.is_object() || !j.contains(jsonl_field))
          fail(path, " line ", line_no, ": no field \"", jsonl_field, "\" (choose one with --jsonl-field)");
        collect_strings(j[jsonl_field], text);
      }
      if (!text.empty()) texts.push_back(std::move(text));
    }
  }
  return texts;
}

}  // namespace edgelm
