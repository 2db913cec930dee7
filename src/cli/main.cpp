// The edgelm command line: parses the arguments with CLI11 and runs the
// chosen command. Library errors arrive as edgelm::Error and become a
// one-line message and exit status 1.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <exception>

#include "cli/command.h"
#include "platform/error.h"

namespace edgelm::cli {

namespace {
struct Registered {
  std::string file;
  SetupFn setup;
};
std::vector<Registered>& registry() {
  static std::vector<Registered> commands;
  return commands;
}
}  // namespace

CommandRegistration::CommandRegistration(SetupFn fn, const char* where) { registry().push_back({where, fn}); }

std::vector<SetupFn> registered_commands() {
  std::vector<Registered> sorted = registry();
  std::stable_sort(sorted.begin(), sorted.end(), [](const Registered& a, const Registered& b) { return a.file < b.file; });
  std::vector<SetupFn> fns;
  for (const Registered& r : sorted) fns.push_back(r.setup);
  return fns;
}

CLI::App* command_group(CLI::App& app, const std::string& name, const std::string& description) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App*) { return true; }))
    if (sub->get_name() == name) return sub;
  CLI::App* group = app.add_subcommand(name, description);
  group->require_subcommand(1);
  return group;
}

std::vector<int32_t> parse_int_list(const std::string& text) {
  std::vector<int32_t> out;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string item = text.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
    if (item.empty()) fail("empty item in list '", text, "'");
    char* end = nullptr;
    long v = std::strtol(item.c_str(), &end, 10);
    if (*end != '\0' || v < 0 || v > INT32_MAX) fail("'", item, "' is not a token id");
    out.push_back(int32_t(v));
    if (comma == std::string::npos) break;
    pos = comma + 1;
  }
  return out;
}

}  // namespace edgelm::cli

int main(int argc, char** argv) {
  CLI::App app{"edgelm: small language models for on-device function calling"};
  app.set_version_flag("--version", "edgelm 0.1.0");
  app.require_subcommand(1);
  for (auto setup : edgelm::cli::registered_commands()) setup(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const edgelm::Error& e) {
    std::fprintf(stderr, "edgelm: error: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "edgelm: internal error: %s\n", e.what());
    return 2;
  }
  return 0;
}
