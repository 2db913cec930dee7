#include "data/phrase_library.h"

#include <cstdlib>
#include <algorithm>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "data/pattern.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::data {

std::string resolve_phrases_dir(const char* home, const std::string& source_dir) {
  namespace fs = std::filesystem;
  if (home) {
    fs::path p = fs::path(home) / "phrases";
    if (fs::is_directory(p)) return p.string();
  }
  fs::path p = fs::path(source_dir) / "phrases";
  if (fs::is_directory(p)) return p.string();
  fail("the phrase library (a phrases/ folder) is in neither ",
       home ? cat("EDGELM_HOME (", home, ")") : std::string("EDGELM_HOME (not set)"), " nor the source tree edgelm was built from (",
       source_dir, "): set EDGELM_HOME to a folder holding phrases/ and domains/");
}

std::string resolve_phrases_dir() { return resolve_phrases_dir(std::getenv("EDGELM_HOME"), EDGELM_SOURCE_DIR); }

namespace {

// The slot each follow-up list must say (and the only ones it may use);
// Korean pronoun phrases may leave {it} unsaid (꺼 줘: "turn it off").
struct FollowUpRule {
  std::set<std::string> must, may;
};

FollowUpRule follow_up_rule(const std::string& list) {
  if (list == "same_action") return {{"target"}, {"target"}};
  if (list == "correction" || list == "change" || list == "answer") return {{"value"}, {"value"}};
  if (list == "repeat" || list == "undo") return {{}, {}};
  if (list == "and_then" || list == "lead_in") return {{"command"}, {"command"}};
  return {{}, {"it", "value"}};  // pronoun.<library intent>
}

template <class ErrorFn>
void load_follow_ups(PhraseLibrary& lib, const toml::node& node, const LanguageInfo& info, ErrorFn&& error) {
  const std::string lang = info.code;
  const toml::table* t = node.as_table();
  if (!t) error(node, "[follow_up] must be a table of lists");
  auto parse_list = [&](const toml::node& v, const std::string& list) {
    const toml::array* arr = v.as_array();
    if (!arr || arr->empty()) error(v, cat("follow_up '", list, "' must be a non-empty list of phrases"));
    const FollowUpRule rule = follow_up_rule(list);
    std::vector<Template> out;
    std::set<std::string> seen;
    for (const auto& e : *arr) {
      if (!e.is_string()) error(e, cat("follow_up '", list, "': every phrase must be a string"));
      std::string text = *e.value<std::string>();
      if (!seen.insert(text).second) error(e, cat("phrase \"", text, "\" repeated in follow_up '", list, "'"));
      Template tp;
      tp.id = cat(lang, ".follow.", list, ".", out.size());
      tp.line = int(e.source().begin.line);
      tp.pattern = parse_pattern(text, cat(lib.file, " line ", tp.line), info);
      std::set<std::string> said;
      for_each_node(tp.pattern, [&](const PatternNode& n) {
        if (n.kind == PatternNode::Kind::Slot) {
          if (!rule.may.count(n.text) || n.optional || !n.format.empty())
            error(e, cat("follow_up '", list, "' may not use {", n.text, n.optional ? "?" : "", "} (\"", text, "\")"));
          said.insert(n.text);
        } else if (n.kind == PatternNode::Kind::Verb && !lib.verbs.count(n.text) && !info.rules->derived_verb_forms(n.text)) {
          error(e, cat("verb <", n.text, "> is not in the library's [verbs] (in \"", text, "\")"));
        }
      });
      for (const auto& m : rule.must)
        if (!said.count(m)) error(e, cat("follow_up '", list, "' phrase \"", text, "\" must say {", m, "}"));
      out.push_back(std::move(tp));
    }
    lib.follow_ups[list] = std::move(out);
  };
  for (const auto& [k, v] : *t) {
    std::string key(k.str());
    if (key == "pronouns") {
      const toml::array* arr = v.as_array();
      if (!arr || arr->empty()) error(v, "follow_up.pronouns must be a non-empty list of words");
      for (const auto& e : *arr) {
        if (!e.is_string()) error(e, "follow_up.pronouns: every entry must be a string");
        lib.pronouns.push_back(parse_pattern(*e.value<std::string>(), cat(lib.file, " line ", e.source().begin.line), info));
      }
    } else if (key == "pronoun") {
      const toml::table* pt = v.as_table();
      if (!pt) error(v, "[follow_up.pronoun] must be a table: library intent = [phrases]");
      for (const auto& [name, list] : *pt) {
        if (!lib.phrases.count(std::string(name.str())))
          error(list, cat("follow_up.pronoun: '", name.str(), "' is not a library intent of [phrases]"));
        parse_list(list, cat("pronoun.", name.str()));
      }
    } else if (std::find(std::begin(kFollowUpLists), std::end(kFollowUpLists), key) != std::end(kFollowUpLists)) {
      parse_list(v, key);
    } else {
      error(v, cat("follow_up: unknown list '", key, "' (pronouns, same_action, correction, change, answer, repeat, undo, and_then, lead_in, pronoun)"));
    }
  }
  bool any_pronoun = false;
  for (const auto& [list, phrases] : lib.follow_ups) any_pronoun |= list.rfind("pronoun.", 0) == 0;
  if (any_pronoun && lib.pronouns.empty()) error(node, "[follow_up.pronoun] phrases need follow_up.pronouns = [words]");
}

}  // namespace

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
    static const std::set<std::string> known = {"lang",    "verbs",        "endings",     "wrap",     "connect",
                                                "connect_questions", "ask_together", "phrases", "out_of_scope", "follow_up"};
    if (!known.count(std::string(k.str())))
      error(v, cat("unknown key '", k.str(),
                   "' (lang, verbs, endings, wrap, connect, connect_questions, ask_together, phrases, out_of_scope, follow_up)"));
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
  // Politeness wrappers ({command}), multi-command connectors ({first}, {first_conn}, {rest}),
  // the connectors of two questions ({first}, {rest}) and two questions asked as one
  // ({first} and {rest} are what each asks about: "{first}~랑 {rest} 둘 다 <알려주다>").
  struct List {
    const char* key;
    std::set<std::string> allowed;
    std::vector<Pattern>* out;
  };
  for (const List& list : {List{"wrap", {"command"}, &lib.wrappers}, List{"connect", {"first", "first_conn", "rest"}, &lib.connectors},
                           List{"connect_questions", {"first", "rest"}, &lib.question_connectors},
                           List{"ask_together", {"first", "rest"}, &lib.ask_together}}) {
    const toml::node* v = root.get(list.key);
    if (!v) continue;
    const toml::array* arr = v->as_array();
    if (!arr || arr->empty()) error(*v, cat("'", list.key, "' must be a non-empty list of strings"));
    for (const auto& e : *arr) {
      if (!e.is_string()) error(e, cat("'", list.key, "': every entry must be a string"));
      Pattern p = parse_pattern(*e.value<std::string>(), cat(lib.file, " line ", e.source().begin.line), info);
      std::set<std::string> said;
      for_each_node(p, [&](const PatternNode& n) {
        if (n.kind == PatternNode::Kind::Slot && !list.allowed.count(n.text))
          error(e, cat("'", list.key, "' may not use {", n.text, "} (\"", p.source, "\")"));
        if (n.kind == PatternNode::Kind::Slot && !n.optional) said.insert(n.text);
        if (n.kind == PatternNode::Kind::Verb && !lib.verbs.count(n.text) && !info.rules->derived_verb_forms(n.text))
          error(e, cat("verb <", n.text, "> is not in the library's [verbs] (in \"", p.source, "\")"));
      });
      if (list.out == &lib.ask_together && (!said.count("first") || !said.count("rest")))
        error(e, cat("'ask_together' must say {first} and {rest} (\"", p.source, "\")"));
      list.out->push_back(std::move(p));
    }
  }
  // A list of templates under [phrases] or [out_of_scope]; `slots` checks each slot they say.
  auto template_lists = [&](const toml::table& table, const char* section, auto&& on_slot) {
    std::map<std::string, std::vector<LibraryTemplate>> lists;
    for (const auto& [k, v] : table) {
      std::string name(k.str());
      const toml::array* arr = v.as_array();
      if (!arr || arr->empty()) error(v, cat(section, " '", name, "' must be a non-empty list of templates"));
      std::set<std::string> seen;
      auto& out = lists[name];
      for (const auto& e : *arr) {
        if (!e.is_string()) error(e, cat(section, " '", name, "': every template must be a string"));
        LibraryTemplate t;
        t.text = *e.value<std::string>();
        t.index = int(out.size());
        t.line = int(e.source().begin.line);
        if (!seen.insert(t.text).second) error(e, cat("template \"", t.text, "\" repeated in '", name, "'"));
        Pattern p = parse_pattern(t.text, cat(lib.file, " line ", t.line), info);
        for_each_node(p, [&](const PatternNode& n) {
          if (n.kind == PatternNode::Kind::Slot) {
            on_slot(n, t, e);
          } else if (n.kind == PatternNode::Kind::Verb) {
            if (!lib.verbs.count(n.text) && !info.rules->derived_verb_forms(n.text))
              error(e, cat("verb <", n.text, "> is not in the library's [verbs] (in \"", t.text, "\")"));
          }
        });
        out.push_back(std::move(t));
      }
    }
    return lists;
  };
  const toml::table* phrases = root.get_as<toml::table>("phrases");
  if (!phrases) fail(lib.file, ": needs a [phrases] table (library intent = [templates])");
  lib.phrases = template_lists(*phrases, "phrases", [&](const PatternNode& n, LibraryTemplate& t, const toml::node& e) {
    if ((n.text != "target" && n.text != "value") || n.optional || !n.format.empty())
      error(e, cat("a library template takes only {target} and {value}, not {", n.text, n.optional ? "?" : "",
                   n.format.empty() ? "" : ":", n.format, "} (\"", t.text, "\")"));
    t.says_target |= n.text == "target";
    t.says_value |= n.text == "value";
  });
  for (const auto& [name, list] : lib.phrases)
    for (const auto& t : list)
      if (!t.says_target && !t.says_value)
        fail(lib.file, " line ", t.line, ": template \"", t.text, "\" says neither {target} nor {value}");
  if (const toml::node* oos = root.get("out_of_scope")) {
    const toml::table* t = oos->as_table();
    if (!t) error(*oos, "[out_of_scope] must be a table of topic = [requests]");
    lib.out_of_scope = template_lists(*t, "out_of_scope", [&](const PatternNode& n, LibraryTemplate& tp, const toml::node& e) {
      error(e, cat("an out-of-scope request names no slot, not {", n.text, "} (\"", tp.text, "\"): it serves every domain"));
    });
  }
  if (const toml::node* f = root.get("follow_up")) load_follow_ups(lib, *f, info, error);
  return lib;
}

}  // namespace edgelm::data
