// The JSONL readers of evaluation: case files (load_cases) and predict's input
// lines (parse_predict_line) on malformed input, including the inputs the fuzz
// targets found (fuzz_cases, fuzz_predict_line): every failure is an Error
// naming the file and line, or for predict an "error" for the line; never
// nlohmann::json's own exception.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "eval/cases.h"
#include "eval/predict_input.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const DomainSchema& readers_schema() {
  static DomainSchema s = load_schema(resolve_domain_dir("air-purifier") + "/functions.toml");
  return s;
}

std::string write_temp(const std::string& name, const std::string& text) {
  std::string path = (std::filesystem::temp_directory_path() / name).string();
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

std::string load_cases_error(const std::string& text) {
  std::string path = write_temp("edgelm-test-readers-cases.jsonl", text);
  try {
    load_cases(path, readers_schema());
  } catch (const Error& e) {
    std::filesystem::remove(path);
    return e.what();
  }
  std::filesystem::remove(path);
  return "(accepted)";
}

const char* kGoodCase = R"({"id": "c1", "lang": "en", "text": "turn it on", "expected": [[{"name": "set_power", "arguments": {"state": "on"}}]]})";

TEST(CaseReader, BadLinesNameTheFileLineAndProblem) {
  struct Row {
    std::string text, expect;
  };
  for (const Row& r : std::vector<Row>{
           {std::string(kGoodCase) + "\n{\"id\": ", "cases.jsonl line 2: not valid JSON (parse error"},
           // A number past double's range: nlohmann throws out_of_range.406, which escaped before.
           {std::string(kGoodCase) + "\n\n{\"id\": \"c2\", \"x\": 1e999999}", "cases.jsonl line 3: a value cannot be read (number overflow"},
           {std::string(200, '[') + std::string(200, ']'), "cases.jsonl line 1: JSON nested deeper than 64 levels"},
           {R"({"id": 7, "lang": "en", "text": "on", "expected": [[]]})", "line 1: 'id' must be a string"},
           {R"({"id": "c", "lang": "en", "text": "on", "expected": [[{"name": 5}]]})", "line 1: "},
       }) {
    std::string what = load_cases_error(r.text);
    EXPECT_NE(what.find(r.expect), std::string::npos) << what << "\nfor: " << r.text;
  }
  EXPECT_EQ(load_cases_error(kGoodCase), "(accepted)");
}

TEST(PredictInput, EveryBadLineIsAnErrorNotAnException) {
  struct Row {
    std::string line, error;  // the start of the error; empty: accepted
  };
  for (const Row& r : std::vector<Row>{
           {R"({"id": 1, "text": "turn it on"})", ""},
           {R"({"id": "a", "messages": [{"role": "user", "content": "turn it on"}]})", ""},
           {"", "empty line"},
           {"{\"id\": 1, ", "not valid JSON (parse error"},
           {R"({"id": 1, "text": "on", "n": 1e999999})", "a value cannot be read (number overflow"},
           {R"({"id": 1, "text": "on", "n": )" + std::string(100, '[') + std::string(100, ']') + "}",
            "JSON nested deeper than 64 levels"},
           {R"([1, 2])", "not a JSON object"},
           {R"({"text": "on"})", "missing \"id\""},
           {R"({"id": 2.5, "text": "on"})", "missing \"id\""},
           {R"({"id": 1})", "missing \"text\""},
           {R"({"id": 1, "text": 5})", "missing \"text\""},
           {R"({"id": 1, "messages": 5})", "messages: "},
           {R"({"id": 1, "text": "x", "messages": [{"role": "user", "content": "y"}]})", "\"text\" differs"},
           {R"({"id": 1, "text": ""})", "text: "},
       }) {
    PredictInput in;
    ASSERT_NO_THROW(in = parse_predict_line(r.line, readers_schema())) << r.line;
    if (r.error.empty()) {
      EXPECT_EQ(in.error, "") << r.line;
      EXPECT_FALSE(in.id.is_null());
      EXPECT_FALSE(in.text.empty());
    } else {
      EXPECT_EQ(in.error.substr(0, r.error.size()), r.error) << in.error << "\nfor: " << r.line;
    }
  }
  // The id is kept for a line that fails later, so that its output line can be matched to it.
  EXPECT_EQ(parse_predict_line(R"({"id": "k", "text": 5})", readers_schema()).id, "k");
}

}  // namespace
}  // namespace edgelm
