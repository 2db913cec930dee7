// The C programs: examples/predict.c (edgelm.h alone) writes what `edgelm
// predict` writes, and a separate project builds against the installed package.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "../agent/agent_test_util.h"

namespace edgelm {
namespace {

std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::ifstream in(path);
  std::vector<nlohmann::json> out;
  for (std::string line; std::getline(in, line);)
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

TEST(CPrograms, PredictExampleWritesWhatEdgelmPredictWrites) {
  const test::TinyAgentModel& t = test::tiny_agent_model();
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / ("edgelm_capi_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  const std::string input = (dir / "in.jsonl").string();
  {
    std::ofstream f(input);
    f << R"({"id": "a", "text": "turn it on in sleep mode"})" << "\n"
      << R"({"id": 7, "text": "how is the air?"})" << "\n"
      << R"({"id": "ko", "text": "\uc218\uba74 \ubaa8\ub4dc\ub85c \ubc14\uafd4\uc918", "lang": "ko"})" << "\n"
      << R"({"text": "set a timer for 90 minutes", "id": "quote\"d", "expected": [[{"name": "x"}]]})" << "\n"
      // A conversation (its earlier call replayed on the device), then a command on a fresh device again.
      << R"({"id": "conv", "messages": [{"role": "user", "content": "sleep mode"}, {"role": "assistant", "content": "",)"
      << R"( "tool_calls": [{"type": "function", "function": {"name": "set_mode", "arguments": {"mode": "sleep"}}}]},)"
      << R"( {"role": "user", "content": "and a timer for an hour"}]})" << "\n"
      << R"({"id": "after", "text": "how is the air?"})" << "\n";
  }
  const std::string cli = (dir / "cli.jsonl").string(), c = (dir / "c.jsonl").string();
  const std::string threads = "EDGELM_THREADS=1 ";
  ASSERT_EQ(std::system((threads + EDGELM_BIN + " predict --model " + t.path + " --input " + input + " --output " + cli +
                         " 2>/dev/null").c_str()), 0);
  ASSERT_EQ(std::system((threads + EDGELM_C_PREDICT + " " + t.path + " " + input + " " + c + " 2>/dev/null").c_str()), 0);
  std::vector<nlohmann::json> want = read_jsonl(cli), got = read_jsonl(c);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    for (const char* key : {"id", "calls", "reply", "tokens_generated", "error"})
      EXPECT_EQ(got[i].value(key, nlohmann::json()), want[i].value(key, nlohmann::json())) << "line " << i + 1 << " " << key;
  std::filesystem::remove_all(dir);
}

#include "asan.h"

TEST(CPrograms, ASeparateProjectBuildsAgainstTheInstalledPackage) {
#ifdef EDGELM_TEST_ASAN
  GTEST_SKIP() << "the installed sanitizer build needs its runtime in the consumer";
#else
  const test::TinyAgentModel& t = test::tiny_agent_model();
  const std::string cmd = std::string(EDGELM_TEST_DIR) + "/install/run.sh " + EDGELM_BUILD_DIR + " " + t.path;
  EXPECT_EQ(std::system(cmd.c_str()), 0) << cmd;
#endif
}

}  // namespace
}  // namespace edgelm
