// edgelm domain import | export: a domain's functions.toml from and to an
// OpenAI-style tools list (src/domain/tools_json.h).
#include <cstdio>
#include <filesystem>
#include <memory>

#include "cli/command.h"
#include "domain/tools_json.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm::cli {
namespace cmd_domain {

namespace fs = std::filesystem;

struct ImportOptions {
  std::string tools, out, name;
  bool force = false;
};

// "smart-home" for "domains/smart-home", "domains/smart-home/" and, run inside it, ".".
std::string folder_name(const std::string& dir) {
  fs::path p = fs::absolute(dir).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();
  return p.filename().string();
}

void run_import(const ImportOptions& o) {
  DomainSchema schema = schema_from_tools_json(read_file(o.tools), o.tools);
  schema.name = o.name.empty() ? folder_name(o.out) : o.name;
  std::string path = (fs::path(o.out) / "functions.toml").string();
  if (fs::exists(path) && !o.force) fail(path, " already exists (--force replaces it)");

  std::string text = cat("# Imported by `edgelm domain import` from ", fs::path(o.tools).filename().string(),
                         " (an OpenAI-style tools list).\n# The format is in docs/DOMAIN_FORMAT.md; "
                         "`edgelm domain export` writes the tools list back.\n\n",
                         schema_to_toml(schema));
  // The file must read back as the schema it was written from; checked before
  // anything is written, so that a writer bug never leaves a wrong file behind.
  if (!(parse_schema(text, path) == schema)) fail("internal error: ", path, " would not read back as imported");

  std::error_code ec;
  fs::create_directories(o.out, ec);
  if (ec) fail("cannot create folder ", o.out, ": ", ec.message());
  write_file_atomic(path, text);
  size_t n_arguments = 0;
  for (const auto& f : schema.functions) n_arguments += f.arguments.size();
  std::printf("wrote %s: domain '%s', %zu functions, %zu arguments\n", path.c_str(), schema.name.c_str(),
              schema.functions.size(), n_arguments);
}

void run_export(const std::string& dir, const std::string& out) {
  std::string folder = resolve_domain_dir(dir);
  DomainSchema schema = load_schema((fs::path(folder) / "functions.toml").string());
  std::string text = schema_to_tools_json(schema).dump(2) + "\n";
  if (out.empty()) {
    std::fwrite(text.data(), 1, text.size(), stdout);
    return;
  }
  write_file_atomic(out, text);
  std::printf("wrote %s: %zu tools\n", out.c_str(), schema.functions.size());
}

void setup(CLI::App& app) {
  CLI::App* domain = command_group(app, "domain", "Domain folders: import and export the function schema");

  auto o = std::make_shared<ImportOptions>();
  CLI::App* import = domain->add_subcommand("import", "Write a domain's functions.toml from an OpenAI-style tools list");
  import->footer(
      "The tools list is [{\"type\": \"function\", \"function\": {\"name\", \"description\", \"parameters\"}}],\n"
      "a list of bare function objects, or {\"tools\": [...]}. Anything the device format cannot express\n"
      "(nested objects, arrays, anyOf, integers without a range, ...) is an error naming its JSON path;\n"
      "the mapping is in docs/DOMAIN_FORMAT.md.");
  import->add_option("tools", o->tools, "tools list (JSON)")->required();
  import->add_option("--out", o->out, "domain folder to write functions.toml into (created if needed)")->required();
  import->add_option("--name", o->name, "domain name (default: the folder's name)");
  import->add_flag("--force", o->force, "replace an existing functions.toml");
  import->callback([o] { run_import(*o); });

  auto dir = std::make_shared<std::string>(), out = std::make_shared<std::string>();
  CLI::App* exp = domain->add_subcommand(
      "export", "Write a domain's functions as an OpenAI-style tools list (JSON Schema parameters, 2-space indent)");
  exp->add_option("dir", *dir, "domain folder, or a built-in domain's name")->required();
  exp->add_option("--out", *out, "output file (default: standard output)");
  exp->callback([dir, out] { run_export(*dir, *out); });
}

CommandRegistration reg(setup);

}  // namespace cmd_domain
}  // namespace edgelm::cli
