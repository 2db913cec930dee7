#include "data/phrase_library.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "data/pattern.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::data {

std::string resolve_phrases_dir() {
  namespace fs = std::filesystem;
  if (const char* home = std::getenv("EDGELM_HOME")) {
    fs::path p = fs::path(home) / "phrases";
    if (fs::is_directory(p)) return p.string();
  }
  return (fs::path(EDGELM_SOURCE_DIR) / "phrases").string();
}

PhraseLibrary load_phrase_library(const std::string& dir, const std::string& lang) {
  namespace fs = std::filesystem;
  const LanguageInfo& info = language_info(lang);
  PhraseLibrary lib;
  lib.file = (fs::path(dir) / (lang + ".toml")).string();
  if (!fs::exists(lib.file)) fail(lib.file, ": no phrase library for language '", lang, "'");
  lib.bytes = read_file(lib.file);
  if (std::string bad = utf8_problem(lib.bytes); !bad.empty()) {
    int line = 1;
    size_t start = 0;
    for (size_t end; (end = lib.bytes.find('\n', start)) != std::string::npos; start = end + 1, ++line)
      if (!utf8_problem(std::string_view(lib.bytes).substr(start, end - start)).empty()) break;
    fail(lib.file, " line ", line, ": ", bad);
  }
  toml::table root;
  try {
    root = toml::parse(lib.bytes, lib.file);
  } catch (const toml::parse_error& e) {
    fail(lib.file, " line ", e.source().begin.line, ": ", e.description());
  }
  auto error = [&](const toml::node& n, const std::string& msg) { fail(lib.file, " line ", n.source().begin.line, ": ", msg); };
  for (const auto& [k, v] : root) {
    static const std::set<std::string> known = {"lang", "verbs", "endings", "wrap", "connect", "phrases"};
    if (!known.count(std::string(k.str()))) error(v, cat("unknown key '", k.str(), "' (lang, verbs, endings, wrap, connect, phrases)"));
  }
  if (const auto* v = root.get("lang"); !v || !v->is_string() || *v->value<std::string>() != lang)
    fail(lib.file, ": needs lang = \"", lang, "\"");
  if (const auto* t = root.get_as<toml::table>("verbs")) {
    for (const auto& [k, v] : *t) {
      const toml::array* arr = v.as_array();
      if (!arr || arr->size() != 2 || !(*arr)[0].is_string() || !(*arr)[1].is_string())
        error(v, cat("verb '", k.str(), "' needs [\"아/어 form\", \"stem\"], e.g. 바꾸다 = [\"바꿔\", \"바꾸\"]"));
      lib.verbs[std::string(k.str())] = {*(*arr)[0].value<std::string>(), *(*arr)[1].value<std::string>()};
    }
  }
  if (const auto* t = root.get_as<toml::table>("endings")) {
    for (const auto& [k, v] : *t) {
      std::string key(k.str());
      if (key != "final" && key != "connective") error(v, cat("endings: unknown list '", key, "' (final, connective)"));
      const toml::array* arr = v.as_array();
      if (!arr || arr->empty()) error(v, cat("endings.", key, " must be a non-empty list of strings"));
      for (const auto& e : *arr) {
        if (!e.is_string()) error(e, cat("endings.", key, ": every entry must be a string"));
        Pattern p = parse_pattern(*e.value<std::string>(), cat(lib.file, " line ", e.source().begin.line), info);
        for_each_node(p, [&](const PatternNode& n) {
          if ((n.kind == PatternNode::Kind::Slot && n.text != "a" && n.text != "stem") || n.kind == PatternNode::Kind::Verb)
            error(e, cat("an ending may only use {a} and {stem} (\"", p.source, "\")"));
        });
        (key == "final" ? lib.final_endings : lib.connective_endings).push_back(std::move(p));
      }
    }
  }
  // Politeness wrappers ({command}) and multi-command connectors ({first}, {first_conn}, {rest}).
  for (const char* key : {"wrap", "connect"}) {
    const toml::node* v = root.get(key);
    if (!v) continue;
    const toml::array* arr = v->as_array();
    if (!arr || arr->empty()) error(*v, cat("'", key, "' must be a non-empty list of strings"));
    const std::set<std::string> allowed = std::string(key) == "wrap" ? std::set<std::string>{"command"}
                                                                     : std::set<std::string>{"first", "first_conn", "rest"};
    for (const auto& e : *arr) {
      if (!e.is_string()) error(e, cat("'", key, "': every entry must be a string"));
      Pattern p = parse_pattern(*e.value<std::string>(), cat(lib.file, " line ", e.source().begin.line), info);
      for_each_node(p, [&](const PatternNode& n) {
        if (n.kind == PatternNode::Kind::Slot && !allowed.count(n.text))
          error(e, cat("'", key, "' may not use {", n.text, "} (\"", p.source, "\")"));
      });
      (std::string(key) == "wrap" ? lib.wrappers : lib.connectors).push_back(std::move(p));
    }
  }
  const toml::table* phrases = root.get_as<toml::table>("phrases");
  if (!phrases) fail(lib.file, ": needs a [phrases] table (library intent = [templates])");
  for (const auto& [k, v] : *phrases) {
    std::string name(k.str());
    const toml::array* arr = v.as_array();
    if (!arr || arr->empty()) error(v, cat("phrases '", name, "' must be a non-empty list of templates"));
    std::set<std::string> seen;
    auto& out = lib.phrases[name];
    for (const auto& e : *arr) {
      if (!e.is_string()) error(e, cat("phrases '", name, "': every template must be a string"));
      LibraryTemplate t;
      t.text = *e.value<std::string>();
      t.index = int(out.size());
      t.line = int(e.source().begin.line);
      if (!seen.insert(t.text).second) error(e, cat("template \"", t.text, "\" repeated in '", name, "'"));
      Pattern p = parse_pattern(t.text, cat(lib.file, " line ", t.line), info);
      for_each_node(p, [&](const PatternNode& n) {
        if (n.kind == PatternNode::Kind::Slot) {
          if ((n.text != "target" && n.text != "value") || n.optional || !n.format.empty())
            error(e, cat("a library template takes only {target} and {value}, not {", n.text, n.optional ? "?" : "",
                         n.format.empty() ? "" : ":", n.format, "} (\"", t.text, "\")"));
          t.says_target |= n.text == "target";
          t.says_value |= n.text == "value";
        } else if (n.kind == PatternNode::Kind::Verb) {
          if (!lib.verbs.count(n.text) && !info.rules->derived_verb_forms(n.text))
            error(e, cat("verb <", n.text, "> is not in the library's [verbs] (in \"", t.text, "\")"));
        }
      });
      if (!t.says_target && !t.says_value) error(e, cat("template \"", t.text, "\" says neither {target} nor {value}"));
      out.push_back(std::move(t));
    }
  }
  return lib;
}

}  // namespace edgelm::data
