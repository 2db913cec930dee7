// `edgelm predict` and `edgelm chat` on bad input: every bad line gets a clear
// per-line error and the run continues to the end.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "agent_test_util.h"

namespace edgelm {
namespace {

std::string temp_path(const std::string& name) {
  return (std::filesystem::temp_directory_path() / (name + "_" + std::to_string(getpid()))).string();
}

std::string read_all(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<nlohmann::json> read_jsonl(const std::string& text) {
  std::vector<nlohmann::json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty() && line[0] == '{') out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(PredictCommand, BadLinesGetErrorsAndTheRunContinues) {
  const auto& m = test::tiny_agent_model();
  std::string input = temp_path("predict_in.jsonl"), output = temp_path("predict_out.jsonl"), err = temp_path("predict_err");
  {
    std::ofstream f(input, std::ios::binary);
    f << R"({"id": "a1", "text": "turn it on"})" << "\n";
    f << "\n";                                                                        // empty
    f << R"({"id": "a2", "text": ")" << std::string(100 * 1024, 'a') << "\"}\n";      // 100 kB
    f << "{\"id\": \"a3\", \"text\": \"bad \xff byte\"}\n";                           // invalid UTF-8
    f << R"({"id": "a4", "text": "bell \u0007 ring"})" << "\n";                       // control character
    f << R"({"text": "no id here"})" << "\n";                                         // missing id
    f << "not json at all\n";
    f << R"({"id": 7, "text": "set a timer for 90 minutes"})" << "\n";
  }
  std::string cmd = std::string(EDGELM_BIN) + " predict --threads 1 --model " + m.path + " --input " + input + " --output " + output +
                    " 2>" + err;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_all(err);
  auto lines = read_jsonl(read_all(output));
  ASSERT_EQ(lines.size(), 8u);
  EXPECT_EQ(lines[0]["id"], "a1");
  EXPECT_FALSE(lines[0].contains("error")) << lines[0].dump();
  EXPECT_TRUE(lines[0]["tokens_generated"].is_number_integer());
  EXPECT_TRUE(lines[0]["latency_ms"].is_number());
  const char* expected[] = {nullptr, "empty", "too long", "UTF-8", "control character", "missing \"id\"", "JSON"};
  for (int i = 1; i < 7; ++i) {
    ASSERT_TRUE(lines[size_t(i)].contains("error")) << i;
    EXPECT_NE(lines[size_t(i)]["error"].get<std::string>().find(expected[i]), std::string::npos) << lines[size_t(i)].dump();
    EXPECT_TRUE(lines[size_t(i)]["calls"].is_array());
  }
  EXPECT_EQ(lines[2]["id"], "a2");
  EXPECT_TRUE(lines[5]["id"].is_null());
  EXPECT_EQ(lines[7]["id"], 7);  // JSON types are kept
  for (const auto& l : lines)
    for (const auto& c : l["calls"])
      for (const auto& [k, v] : c["arguments"].items())
        if (k == "minutes") {
          EXPECT_TRUE(v.is_number_integer()) << l.dump();
        }
  std::string stderr_text = read_all(err);
  EXPECT_NE(stderr_text.find("line 2: empty line"), std::string::npos) << stderr_text;
  EXPECT_NE(stderr_text.find("line 6: missing \"id\""), std::string::npos) << stderr_text;
  for (const auto& p : {input, output, err}) std::filesystem::remove(p);
}

TEST(PredictCommand, MissingFilesAreClearErrors) {
  const auto& m = test::tiny_agent_model();
  std::string err = temp_path("predict_err2");
  std::string cmd = std::string(EDGELM_BIN) + " predict --threads 1 --model " + m.path + " --input /nonexistent/in.jsonl --output " +
                    temp_path("never.jsonl") + " 2>" + err;
  EXPECT_NE(std::system(cmd.c_str()), 0);
  EXPECT_NE(read_all(err).find("/nonexistent/in.jsonl"), std::string::npos) << read_all(err);
  std::filesystem::remove(err);
}

TEST(PredictCommand, ABarOutsideZeroToOneIsRefusedByName) {
  const auto& m = test::tiny_agent_model();
  std::string err = temp_path("predict_err3");
  for (const char* bad : {"1.5", "-0.1", "nan", "high"}) {
    std::string cmd = std::string(EDGELM_BIN) + " predict --threads 1 --model " + m.path +
                      " --input /dev/null --output " + temp_path("never.jsonl") + " --min-action-probability " + bad +
                      " 2>" + err;
    EXPECT_NE(std::system(cmd.c_str()), 0) << bad;
    const std::string e = read_all(err);
    EXPECT_NE(e.find("--min-action-probability"), std::string::npos) << e;
    EXPECT_NE(e.find(std::string(bad) == "high" ? "not a number" : "must be in [0, 1]"), std::string::npos) << e;
  }
  std::filesystem::remove(err);
}

// Commands are set up in the order of their files' names (cmd_base.cpp, cmd_bench_*.cpp, ...), which is the
// order of their names, however the build groups and initialises the files.
TEST(EdgelmHelp, ListsTheCommandsInOrder) {
  std::string out = temp_path("help_out");
  ASSERT_EQ(std::system((std::string(EDGELM_BIN) + " --help >" + out).c_str()), 0);
  std::istringstream help(read_all(out));
  std::filesystem::remove(out);
  std::vector<std::string> names;
  bool listing = false;
  for (std::string line; std::getline(help, line);) {
    if (line.rfind("Subcommands:", 0) == 0) listing = true;
    else if (listing && line.rfind("  ", 0) == 0) names.push_back(line.substr(2, line.find(' ', 2) - 2));
  }
  ASSERT_GE(names.size(), 15u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_EQ(names.front(), "base");
  EXPECT_EQ(names.back(), "train");
}

TEST(ChatCommand, WorksFromAPipeAndSurvivesBadLines) {
  const auto& m = test::tiny_agent_model();
  std::string input = temp_path("chat_in"), output = temp_path("chat_out"), err = temp_path("chat_err");
  {
    std::ofstream f(input, std::ios::binary);
    f << "turn it on\n\n" << std::string(100 * 1024, 'x') << "\nbad \xff\nplay rain\n";
  }
  std::string cmd = std::string(EDGELM_BIN) + " chat --threads 1 --json --model " + m.path + " <" + input + " >" + output + " 2>" + err;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << read_all(err);
  auto lines = read_jsonl(read_all(output));
  ASSERT_EQ(lines.size(), 5u) << read_all(output);
  EXPECT_EQ(lines[0]["text"], "turn it on");
  EXPECT_TRUE(lines[0].contains("state"));
  EXPECT_TRUE(lines[1].contains("error"));
  EXPECT_NE(lines[2]["error"].get<std::string>().find("too long"), std::string::npos);
  EXPECT_NE(lines[3]["error"].get<std::string>().find("UTF-8"), std::string::npos);
  EXPECT_EQ(lines[4]["text"], "play rain");
  for (const auto& p : {input, output, err}) std::filesystem::remove(p);
}

}  // namespace
}  // namespace edgelm
