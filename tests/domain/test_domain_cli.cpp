// `edgelm domain import` and `edgelm domain export` end to end: a tools list
// imported into a folder and exported back is the same list, an existing
// functions.toml is kept unless --force, and bad input is a one-line error.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "domain/tools_json.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm {
namespace {

namespace fs = std::filesystem;

const std::string kFixture = std::string(EDGELM_TEST_DIR) + "/fixtures/domain/smart-home.tools.json";

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("edgelm_domain_cli_" + std::to_string(getpid()));
  TempDir() { fs::remove_all(path); fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
};

// Runs edgelm with `args`; returns the exit status, stdout and stderr go to files in dir.
int edgelm(const std::string& args, const fs::path& dir) {
  std::string cmd = cat(EDGELM_BIN, " ", args, " >", (dir / "stdout").string(), " 2>", (dir / "stderr").string());
  int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DomainCommand, ImportThenExportGivesTheToolsListBack) {
  TempDir tmp;
  fs::path domain = tmp.path / "smart-home";
  ASSERT_EQ(edgelm(cat("domain import ", kFixture, " --out ", domain.string()), tmp.path), 0) << read_file((tmp.path / "stderr").string());
  EXPECT_NE(read_file((tmp.path / "stdout").string()).find("domain 'smart-home', 6 functions"), std::string::npos);

  std::string toml = read_file((domain / "functions.toml").string());
  EXPECT_EQ(toml.rfind("# Imported by `edgelm domain import` from smart-home.tools.json", 0), 0u) << toml;
  DomainSchema schema = load_schema((domain / "functions.toml").string());
  EXPECT_EQ(schema.name, "smart-home");

  fs::path out = tmp.path / "export.json";
  ASSERT_EQ(edgelm(cat("domain export ", domain.string(), " --out ", out.string()), tmp.path), 0);
  nlohmann::json expected = nlohmann::json::parse(read_file(kFixture));
  expected[3]["function"]["parameters"]["properties"]["room"]["maxLength"] = kDefaultStringMaxLength;
  EXPECT_EQ(nlohmann::json::parse(read_file(out.string())), expected);

  // Without --out the list goes to standard output, the same bytes.
  ASSERT_EQ(edgelm(cat("domain export ", domain.string()), tmp.path), 0);
  EXPECT_EQ(read_file((tmp.path / "stdout").string()), read_file(out.string()));
}

TEST(DomainCommand, ImportKeepsAnExistingFileUnlessForced) {
  TempDir tmp;
  fs::path domain = tmp.path / "d";
  std::string import = cat("domain import ", kFixture, " --out ", domain.string(), " --name home");
  ASSERT_EQ(edgelm(import, tmp.path), 0);
  write_file_atomic((domain / "functions.toml").string(), "# mine\n");
  EXPECT_EQ(edgelm(import, tmp.path), 1);
  EXPECT_NE(read_file((tmp.path / "stderr").string()).find("functions.toml already exists (--force replaces it)"), std::string::npos);
  EXPECT_EQ(read_file((domain / "functions.toml").string()), "# mine\n");
  ASSERT_EQ(edgelm(import + " --force", tmp.path), 0);
  EXPECT_EQ(load_schema((domain / "functions.toml").string()).name, "home");
}

TEST(DomainCommand, BadToolsListIsAnErrorNamingFileAndPath) {
  TempDir tmp;
  fs::path tools = tmp.path / "bad.tools.json";
  write_file_atomic(tools.string(), R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object",
    "properties": {"filter": {"type": "object", "properties": {}}}}}}])");
  EXPECT_EQ(edgelm(cat("domain import ", tools.string(), " --out ", (tmp.path / "d").string()), tmp.path), 1);
  EXPECT_EQ(read_file((tmp.path / "stderr").string()),
            cat("edgelm: error: ", tools.string(), ": $[0].function.parameters.properties.filter: nested objects are not supported\n"));
  EXPECT_FALSE(fs::exists(tmp.path / "d"));  // nothing written, not even the folder
}

}  // namespace
}  // namespace edgelm
