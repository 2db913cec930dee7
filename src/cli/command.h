#pragma once
// How a command joins the `edgelm` program: each src/cli/*.cpp defines a
// setup function that adds its subcommand(s) to the CLI11 app, and registers
// it with a static CommandRegistration. Grouping commands ("bench", "data",
// "tokenizer", "model") are shared through command_group().
//
// Each file keeps its names in a namespace of its own (cmd_eval for
// cmd_eval.cpp), not an anonymous one: the files build together.
//
//   void setup(CLI::App& app) {
//     auto* cmd = command_group(app, "model", "...")->add_subcommand("info", "...");
//     auto path = std::make_shared<std::string>();
//     cmd->add_option("file", *path, "model file")->required();
//     cmd->callback([path] { ... });   // throw edgelm::Error on bad input
//   }
//   CommandRegistration reg(setup);
#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace edgelm::cli {

using SetupFn = void (*)(CLI::App& app);

struct CommandRegistration {
  // `where`: the registering file (__builtin_FILE, as std::source_location
  // needs clang 15 and the sanitize build's is 14). Commands are set up in the
  // order of their files' names, whatever order the build initialises them in
  // (the command files compile as one unit or a few, CMakeLists.txt).
  explicit CommandRegistration(SetupFn fn, const char* where = __builtin_FILE());
};
std::vector<SetupFn> registered_commands();

// Returns the subcommand `name` of app, creating it (with `description`) on first use.
CLI::App* command_group(CLI::App& app, const std::string& name, const std::string& description);

// Parses "1,2,3" into token ids; throws Error naming the bad item.
std::vector<int32_t> parse_int_list(const std::string& text);

}  // namespace edgelm::cli
