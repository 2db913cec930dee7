#include "data/phrasebook.h"

#include <algorithm>
#include <filesystem>
#include <functional>
#include <optional>
#include <set>
#include <tuple>

#include <toml++/toml.h>

#include "data/dialogue.h"
#include "data/phrase_library.h"
#include "device/device.h"
#include "domain/language.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm::data {

namespace {

// A call as written in generate.toml and phrasing files, "name" or
// "name(arg=value, ...)", split into its parts; the values are not read yet.
struct CallText {
  std::string name;
  bool has_arguments = false;  // written with parentheses
  std::vector<std::pair<std::string, std::string>> arguments;  // trimmed name, trimmed value
};

std::string trim_spaces(std::string t) {
  t.erase(0, t.find_first_not_of(' '));
  t.erase(t.find_last_not_of(' ') + 1);
  return t;
}

// Empty on success, else what is wrong with `text`.
std::string split_call_text(const std::string& text, CallText& out) {
  const size_t open = text.find('(');
  out.name = trim_spaces(text.substr(0, open));
  if (open == std::string::npos) return "";
  out.has_arguments = true;
  if (text.back() != ')') return cat("'", text, "' is not of the form name(arg=value, ...)");
  const std::string inner = text.substr(open + 1, text.size() - open - 2);
  for (size_t pos = 0; pos < inner.size();) {
    size_t comma = inner.find(',', pos);
    if (comma == std::string::npos) comma = inner.size();
    const std::string item = trim_spaces(inner.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) continue;
    const size_t eq = item.find('=');
    if (eq == std::string::npos) return cat("argument '", item, "' in '", text, "' needs name=value");
    out.arguments.emplace_back(trim_spaces(item.substr(0, eq)), trim_spaces(item.substr(eq + 1)));
  }
  return "";
}

}  // namespace

uint64_t fnv1a(std::string_view bytes, uint64_t h) {
  for (unsigned char c : bytes) h = (h ^ c) * 0x100000001b3ull;
  return h;
}

std::string fnv1a_hex(std::string_view bytes) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(fnv1a(bytes)));
  return buf;
}

int64_t Phrasebook::n_templates() const {
  int64_t n = 0;
  for (const auto& l : languages)
    for (const auto& i : l.intents) n += int64_t(i.templates.size());
  return n;
}

const Language* Phrasebook::find_language(const std::string& lang) const {
  for (const auto& l : languages)
    if (l.lang == lang) return &l;
  return nullptr;
}

const Language& Phrasebook::code_switch_base(double u) const {
  if (languages.empty()) fail(dir, ": no languages");
  std::vector<const Language*> order;
  for (const auto& l : languages) order.push_back(&l);
  std::stable_sort(order.begin(), order.end(), [](const Language* a, const Language* b) {
    return a->rules().mix_base_weight() > b->rules().mix_base_weight();
  });
  double total = 0;
  for (const Language* l : order) total += l->rules().mix_base_weight();
  if (total <= 0) return languages.front();
  double acc = 0;
  for (const Language* l : order) {
    acc += l->rules().mix_base_weight();
    if (u * total < acc) return *l;
  }
  return *order.back();
}

namespace {

int line_of(const toml::node& n) { return int(n.source().begin.line); }

// Reads a file, rejecting bad UTF-8 with its line before TOML sees it.
toml::table parse_toml_file(const std::string& path, std::string& all_bytes) {
  std::string text = read_file(path);
  if (std::string bad = utf8_problem(text); !bad.empty()) {
    size_t at = 0;
    // Find the offending byte's line by re-scanning line by line.
    int line = 1;
    size_t start = 0;
    while (start <= text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      if (!utf8_problem(std::string_view(text).substr(start, end - start)).empty()) break;
      ++line;
      start = end + 1;
    }
    (void)at;
    fail(path, " line ", line, ": ", bad);
  }
  all_bytes += path.substr(path.find_last_of('/') + 1) + '\n' + text;
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    fail(path, " line ", e.source().begin.line, ": ", e.description());
  }
}

struct LanguageLoader {
  const DomainSchema& schema;
  const GenerationConfig& config;
  Language lang;
  std::string* bytes = nullptr;           // every file read, for the content hash
  std::optional<PhraseLibrary> library;   // phrases/<lang>.toml, loaded when an intent uses it
  std::optional<PhraseLibrary> follow_library;  // the same file, loaded for its [follow_up] lists alone

  [[noreturn]] void error(const toml::node& n, const std::string& msg) const {
    fail(lang.file, " line ", line_of(n), ": ", msg);
  }
  std::string where(const toml::node& n) const { return cat(lang.file, " line ", line_of(n)); }

  std::vector<Pattern> pattern_list(const toml::node& n, const std::string& what) {
    const toml::array* arr = n.as_array();
    if (!arr) {
      if (n.is_string()) return {parse_pattern(*n.value<std::string>(), where(n), *lang.info)};
      error(n, what + " must be a list of strings");
    }
    std::vector<Pattern> out;
    for (const auto& e : *arr) {
      if (!e.is_string()) error(e, what + ": every entry must be a string");
      out.push_back(parse_pattern(*e.value<std::string>(), where(e), *lang.info));
    }
    if (out.empty()) error(n, what + " is empty");
    return out;
  }

  CallTemplate call_template(const toml::node& n) {
    if (!n.is_string()) error(n, "a call must be a string such as \"set_mode(mode={mode})\"");
    const std::string s(*n.value<std::string>());
    CallText parts;
    if (std::string why = split_call_text(s, parts); !why.empty()) error(n, why);
    if (!parts.has_arguments) error(n, cat("call '", s, "' is not of the form name(arg=value, ...)"));
    CallTemplate c;
    c.function = parts.name;
    const FunctionSpec* f = schema.find(c.function);
    if (!f) error(n, cat("unknown function '", c.function, "' in call '", s, "'"));
    std::set<std::string> given;
    for (const auto& [name, value] : parts.arguments) {
      const ArgumentSpec* a = f->find_argument(name);
      if (!a) error(n, cat(c.function, " has no argument '", name, "'"));
      if (!given.insert(name).second) error(n, cat("argument '", name, "' given twice in '", s, "'"));
      if (value.size() > 2 && value.front() == '{' && value.back() == '}') {
        c.slot_args.push_back({name, value.substr(1, value.size() - 2)});
      } else {
        std::optional<ArgValue> v = arg_from_text(*a, value);
        if (!v) error(n, cat("argument '", name, "' of ", c.function, " needs a", a->type == ArgType::Integer ? "n " : " ",
                             arg_type_name(a->type), " value, not '", value, "'"));
        if (std::string why = a->check(*v); !why.empty())
          error(n, cat("value '", value, "' is not allowed for ", c.function, "(", name, "): ", why));
        c.literal_args.push_back({name, *v});
      }
    }
    for (const auto& a : f->arguments)
      if (!a.optional && !given.count(a.name)) error(n, cat("call '", s, "' misses argument '", a.name, "'"));
    return c;
  }

  // The argument a slot is bound to in an intent's calls (null if none).
  static const ArgumentSpec* bound_argument(const DomainSchema& schema, const Intent& intent, const std::string& slot) {
    for (const auto& c : intent.calls)
      for (const auto& [arg, s] : c.slot_args)
        if (s == slot) return schema.find(c.function)->find_argument(arg);
    return nullptr;
  }

  // Checks that every slot and verb of `p` resolves; `intent` is set for templates.
  void check_pattern(const Pattern& p, const toml::node& where_node, const Intent* intent, std::set<std::string>* used,
                     int depth = 0) {
    if (depth > 8) error(where_node, cat("lexicon entries nest more than 8 deep (a slot refers to itself?) in \"", p.source, "\""));
    for_each_node(p, [&](const PatternNode& n) {
      if (n.kind == PatternNode::Kind::Verb) {
        check_verb(n.text, p, where_node, nullptr);
      } else if (n.kind == PatternNode::Kind::Slot) {
        if (used && !n.optional) used->insert(n.text);
        if (n.format == "duration") {
          const ArgumentSpec* a = intent ? bound_argument(schema, *intent, n.text) : nullptr;
          if (!a || a->type != ArgType::Integer)
            error(where_node, cat("duration slot {", n.text, ":duration} is not bound to an integer argument in the intent's calls"));
        } else if (n.format == "number") {
          const ArgumentSpec* a = intent ? bound_argument(schema, *intent, n.text) : nullptr;
          if (!a || (a->type != ArgType::Integer && a->type != ArgType::Number))
            error(where_node, cat("number slot {", n.text, ":number} is not bound to an integer or number argument in the intent's calls"));
        } else if (lang.values.count(n.text)) {
          if (!intent || !bound_argument(schema, *intent, n.text))
            error(where_node, cat("slot {", n.text, "} names argument values but no call of the intent binds it (\"", p.source, "\")"));
        } else if (auto it = lang.lexicon.find(n.text); it != lang.lexicon.end()) {
          for (const auto& e : it->second) check_pattern(e, where_node, nullptr, nullptr, depth + 1);
        } else if (intent && bound_argument(schema, *intent, n.text)) {
          error(where_node, cat("slot {", n.text, "} is bound to an argument but has no [values.", n.text, "] words (or use {",
                                n.text, ":number} or {", n.text, ":duration})"));
        } else {
          error(where_node, cat("template slot {", n.text, "} has no lexicon ([lexicon] ", n.text, " or [values.", n.text,
                                "]) in \"", p.source, "\""));
        }
      }
    });
  }

  // Whether a slot's every entry holds a verb: value words that are verbs
  // (켜다 for on, 끄다 for off) conjugate like a template's own verb.
  bool says_verb(const PatternNode& n) const {
    if (n.kind != PatternNode::Kind::Slot || n.optional || !n.format.empty()) return false;
    auto all_verbs = [](const std::vector<Pattern>& entries) {
      for (const auto& e : entries) {
        bool verb = false;
        for (const auto& x : e.nodes) verb |= x.kind == PatternNode::Kind::Verb;
        if (!verb) return false;
      }
      return true;
    };
    if (auto it = lang.values.find(n.text); it != lang.values.end()) {
      for (const auto& [value, words] : it->second)
        if (!all_verbs(words)) return false;
      return true;
    }
    auto it = lang.lexicon.find(n.text);
    return it != lang.lexicon.end() && all_verbs(it->second);
  }

  void load(const toml::table& root) {
    for (const auto& [k, v] : root) {
      static const std::set<std::string> known = {"lang", "lexicon", "values",            "verbs", "endings",
                                                  "wrap", "connect", "connect_questions", "ask_together", "reply", "intent"};
      if (!known.count(std::string(k.str()))) error(v, cat("unknown key '", k.str(), "'"));
    }
    if (const auto* v = root.get("lang"); !v || !v->is_string() || *v->value<std::string>() != lang.lang)
      fail(lang.file, ": needs lang = \"", lang.lang, "\"");
    if (const auto* t = root.get_as<toml::table>("verbs")) {
      for (const auto& [k, v] : *t) {
        const toml::array* arr = v.as_array();
        if (!arr || arr->size() != 2 || !(*arr)[0].is_string() || !(*arr)[1].is_string())
          error(v, cat("verb '", k.str(), "' needs [\"아/어 form\", \"stem\"], e.g. 바꾸다 = [\"바꿔\", \"바꾸\"]"));
        lang.verbs[std::string(k.str())] = {*(*arr)[0].value<std::string>(), *(*arr)[1].value<std::string>()};
      }
    }
    load_library_if_used(root);
    load_follow_ups();
    // Lexicons first (templates refer to them), then check their nested slots.
    if (const auto* t = root.get_as<toml::table>("lexicon"))
      for (const auto& [k, v] : *t) lang.lexicon[std::string(k.str())] = pattern_list(v, cat("lexicon '", k.str(), "'"));
    if (const auto* t = root.get_as<toml::table>("values")) {
      for (const auto& [slot, v] : *t) {
        const toml::table* vt = v.as_table();
        if (!vt) error(v, cat("[values.", slot.str(), "] must be a table of value = [words]"));
        if (lang.lexicon.count(std::string(slot.str()))) error(v, cat("slot '", slot.str(), "' is both a lexicon and a value slot"));
        for (const auto& [value, words] : *vt)
          lang.values[std::string(slot.str())][std::string(value.str())] = pattern_list(words, cat("values '", slot.str(), ".", value.str(), "'"));
      }
    }
    if (const auto* t = root.get_as<toml::table>("endings")) {
      if (const auto* f = t->get("final")) lang.final_endings = pattern_list(*f, "endings.final");
      if (const auto* c = t->get("connective")) lang.connective_endings = pattern_list(*c, "endings.connective");
    }
    // A domain without [endings] conjugates with the phrase library's.
    const PhraseLibrary* endings_from = library ? &*library : follow_library ? &*follow_library : nullptr;
    if (endings_from && lang.final_endings.empty() && lang.connective_endings.empty()) {
      lang.final_endings = endings_from->final_endings;
      lang.connective_endings = endings_from->connective_endings;
    }
    if (!lang.verbs.empty() && (lang.final_endings.empty() || lang.connective_endings.empty()))
      fail(lang.file, ": [verbs] need [endings] with 'final' and 'connective' lists");
    if (const toml::node* en = root.get("endings")) {
      for (const auto& e : lang.final_endings) check_endings(e, *en);
      for (const auto& e : lang.connective_endings) check_endings(e, *en);
    }
    for (const auto& [name, entries] : lang.lexicon)
      for (const auto& e : entries) check_pattern(e, *root.get_as<toml::table>("lexicon")->get(name), nullptr, nullptr);
    for (const auto& [slot, by_value] : lang.values)
      for (const auto& [value, entries] : by_value)
        for (const auto& e : entries)
          check_pattern(e, *root.get_as<toml::table>("values")->get_as<toml::table>(slot)->get(value), nullptr, nullptr, 1);
    // Without its own, a domain that uses the phrase library takes the library's wrappers and connectors.
    if (const auto* w = root.get("wrap")) {
      lang.wrappers = pattern_list(*w, "wrap");
      for (const auto& p : lang.wrappers) check_special(p, *w, {"command"}, "wrap");
    } else if (library && !library->wrappers.empty()) {
      lang.wrappers = library->wrappers;
    } else {
      lang.wrappers = {parse_pattern("{command}", lang.file, *lang.info)};
    }
    if (const auto* c = root.get("connect")) {
      lang.connectors = pattern_list(*c, "connect");
      for (const auto& p : lang.connectors) check_special(p, *c, {"first", "first_conn", "rest"}, "connect");
    } else if (library) {
      lang.connectors = library->connectors;
    }
    if (const auto* c = root.get("connect_questions")) {
      lang.question_connectors = pattern_list(*c, "connect_questions");
      for (const auto& p : lang.question_connectors) check_special(p, *c, {"first", "rest"}, "connect_questions");
    } else if (const PhraseLibrary* lib = library ? &*library : follow_library ? &*follow_library : nullptr) {
      lang.question_connectors = lib->question_connectors;  // every domain whose language has a library
    }
    if (const auto* c = root.get("ask_together")) {
      lang.ask_together = pattern_list(*c, "ask_together");
      for (const auto& p : lang.ask_together) {
        check_special(p, *c, {"first", "rest"}, "ask_together");
        if (!says_slot(p, "first") || !says_slot(p, "rest")) error(*c, cat("ask_together: \"", p.source, "\" must say {first} and {rest}"));
        check_verbs(p, *c, nullptr);
      }
    } else if (const PhraseLibrary* lib = library ? &*library : follow_library ? &*follow_library : nullptr) {
      lang.ask_together = lib->ask_together;
      for (const auto& p : lang.ask_together) check_verbs(p, root, lib);
    }
    load_replies(root);
    load_intents(root);
  }

  // The phrase library's [follow_up] lists (conversations), for every domain
  // whose language has a library; its verbs are merged under the domain's.
  void load_follow_ups() {
    namespace fs = std::filesystem;
    const PhraseLibrary* lib = library ? &*library : nullptr;
    if (!lib) {
      const std::string dir = resolve_phrases_dir();
      if (!fs::exists(fs::path(dir) / (lang.lang + ".toml"))) return;
      follow_library = load_phrase_library(dir, lang.lang);
      lib = &*follow_library;
      if (lib->follow_ups.empty()) return;
      if (bytes) *bytes += lib->file.substr(lib->file.find_last_of('/') + 1) + '\n' + lib->bytes;
      for (const auto& [name, forms] : lib->verbs) lang.verbs.emplace(name, forms);
    }
    lang.follow_ups = lib->follow_ups;
    lang.pronouns = lib->pronouns;
  }

  // Loads the phrase library of this language when an intent says `library`,
  // and merges its verbs under the domain's (a verb the domain conjugates
  // differently keeps the domain's forms).
  void load_library_if_used(const toml::table& root) {
    const toml::array* arr = root.get_as<toml::array>("intent");
    if (!arr) return;
    for (const auto& node : *arr) {
      const toml::table* t = node.as_table();
      const toml::node* lib = t ? t->get("library") : nullptr;
      if (!lib && t) lib = t->get("out_of_scope");
      if (!lib) continue;
      try {
        library = load_phrase_library(resolve_phrases_dir(), lang.lang);
      } catch (const Error& e) {
        error(*lib, cat("intent uses the phrase library, which cannot be loaded: ", e.what()));
      }
      if (bytes) *bytes += library->file.substr(library->file.find_last_of('/') + 1) + '\n' + library->bytes;
      for (const auto& [name, forms] : library->verbs) lang.verbs.emplace(name, forms);
      return;
    }
  }

  // Whether `p` says `slot` (anywhere, not only as an optional {slot?}).
  static bool says_slot(const Pattern& p, const std::string& slot) {
    bool found = false;
    for_each_node(p, [&](const PatternNode& n) { found |= n.kind == PatternNode::Kind::Slot && !n.optional && n.text == slot; });
    return found;
  }

  // An intent's `target` or `value` patterns. Each is a pattern of its own; a foreign
  // word written in one would bypass the code-switch filter, which works on lexicon entries.
  // A bound slot said by some and not others would make texts that leave out a value the call has.
  std::vector<Pattern> phrase_patterns(const toml::node& n, const char* what, const std::set<std::string>& bound) {
    std::vector<Pattern> list = pattern_list(n, what);
    const toml::array* arr = n.as_array();
    for (size_t i = 0; i < list.size(); ++i)
      if (list[i].has_other_script(lang.info->script))
        error(arr ? *arr->get(i) : n, cat(what, " \"", list[i].source, "\" has words of the other language: put them in [lexicon] or [values], ",
                                         "which code-switched examples draw from"));
    for (const auto& slot : bound) {
      size_t n_say = 0;
      for (const auto& p : list) n_say += says_slot(p, slot);
      if (n_say != 0 && n_say != list.size())
        for (size_t i = 0; i < list.size(); ++i)
          if (!says_slot(list[i], slot))
            error(arr ? *arr->get(i) : n, cat(what, " \"", list[i].source, "\" does not say {", slot, "}, which other ", what,
                                             "s and the calls need"));
    }
    return list;
  }

  // The intent's library templates with its targets and values filled in:
  // {target} becomes the choice "(t1|t2|...)" of the target patterns, {value}
  // likewise, so the slots they hold stay ordinary template slots. A library
  // template is left out where it says {value} and the intent has none, or
  // leaves out {target} or {value} while those hold a slot the calls bind.
  struct Expanded {
    std::string text, id;
    const toml::node* node;
    std::string origin;  // " (library template phrases/en.toml line 12)"
    bool everyday = false;  // from the library's [out_of_scope] topics
  };
  std::vector<Expanded> library_templates(const toml::table& t, Intent& in, const std::set<std::string>& bound) {
    const toml::node* lib_node = t.get("library");
    std::vector<const toml::node*> names;
    if (const toml::array* a = lib_node->as_array()) {
      for (const auto& e : *a) names.push_back(&e);
      if (a->empty()) error(*lib_node, "library is empty");
    } else {
      names.push_back(lib_node);
    }
    const toml::node* target_node = t.get("target");
    if (!target_node) error(*lib_node, cat("intent '", in.id, "' uses the library and needs target = [patterns] (the things it acts on)"));
    const toml::node* value_node = t.get("value");
    auto choice = [&](const toml::node& n, const char* what) {
      std::vector<Pattern> list = phrase_patterns(n, what, bound);
      std::string out = "(";
      for (size_t i = 0; i < list.size(); ++i) out += (i ? "|" : "") + list[i].source;
      return std::pair{out + ")", list};
    };
    auto [targets, target_list] = choice(*target_node, "target");
    std::string values;
    std::vector<Pattern> value_list;
    if (value_node) std::tie(values, value_list) = choice(*value_node, "value");
    in.targets = target_list;
    in.values = value_list;
    bool targets_bind = false, values_bind = false;
    for (const auto& slot : bound) targets_bind |= says_slot(target_list[0], slot);
    if (value_node)
      for (const auto& slot : bound) values_bind |= says_slot(value_list[0], slot);
    std::vector<Expanded> out;
    std::set<std::string> used_names, filled;
    for (const toml::node* nn : names) {
      if (!nn->is_string()) error(*nn, "library must be a name or a list of names, e.g. library = \"switch_on\"");
      std::string name = *nn->value<std::string>();
      if (!used_names.insert(name).second) error(*nn, cat("library '", name, "' named twice"));
      in.library.push_back(name);
      auto it = library->phrases.find(name);
      if (it == library->phrases.end()) {
        std::string known;
        for (const auto& [k, v] : library->phrases) known += (known.empty() ? "" : ", ") + k;
        error(*nn, cat("unknown library intent '", name, "' (", library->file, " has: ", known, ")"));
      }
      size_t before = out.size();
      bool any_value = false;
      for (const auto& lt : it->second) {
        // A template is used when it says no placeholder the intent leaves
        // out, and leaves out none whose patterns hold a value the calls need.
        if ((lt.says_value && !value_node) || (!lt.says_value && values_bind) || (!lt.says_target && targets_bind)) continue;
        any_value |= lt.says_value;
        Expanded x;
        x.text = lt.text;
        for (size_t pos; (pos = x.text.find("{target}")) != std::string::npos;) x.text.replace(pos, 8, targets);
        for (size_t pos; (pos = x.text.find("{value}")) != std::string::npos;) x.text.replace(pos, 7, values);
        // Two library intents may share a phrase ("fire up" starts and switches on): one is enough.
        if (!filled.insert(x.text).second) continue;
        x.id = cat(lang.lang, ".", in.id, ".lib.", name, ".", lt.index);
        x.node = nn;
        x.origin = cat(" (library template \"", lt.text, "\", ", library->file, " line ", lt.line, ")");
        out.push_back(std::move(x));
      }
      if (value_node && !any_value)
        error(*nn, cat("library '", name, "' has no template with {value}: leave out value = [...]"));
      if (out.size() == before)
        error(*nn, cat("library '", name, "' needs value = [patterns]: every template of it ",
                       targets_bind ? "that says {target} " : "", "says {value}"));
    }
    return out;
  }

  // The library's everyday requests of the topics an out-of-scope intent names
  // (`out_of_scope = ["weather", "shopping"]`): the topics its device does not serve.
  std::vector<Expanded> out_of_scope_templates(const toml::node& topics, const Intent& in) {
    if (in.type != "out_of_scope")
      error(topics, cat("intent '", in.id, "' is of type '", in.type, "': only out_of_scope intents take out_of_scope = [topics]"));
    const toml::array* arr = topics.as_array();
    if (!arr || arr->empty()) error(topics, "out_of_scope must be a non-empty list of topics, e.g. out_of_scope = [\"weather\"]");
    std::vector<Expanded> out;
    std::set<std::string> used;
    for (const auto& nn : *arr) {
      if (!nn.is_string()) error(nn, "out_of_scope: every topic must be a string");
      std::string topic = *nn.value<std::string>();
      if (!used.insert(topic).second) error(nn, cat("out-of-scope topic '", topic, "' named twice"));
      auto it = library->out_of_scope.find(topic);
      if (it == library->out_of_scope.end()) {
        std::string known;
        for (const auto& [k, v] : library->out_of_scope) known += (known.empty() ? "" : ", ") + k;
        error(nn, cat("unknown out-of-scope topic '", topic, "' (", library->file, " has: ", known.empty() ? "none" : known, ")"));
      }
      for (const auto& lt : it->second)
        out.push_back({lt.text, cat(lang.lang, ".", in.id, ".oos.", topic, ".", lt.index), &nn,
                       cat(" (library request \"", lt.text, "\", ", library->file, " line ", lt.line, ")"), true});
    }
    return out;
  }

  void check_endings(const Pattern& p, const toml::node& n) {
    for_each_node(p, [&](const PatternNode& node) {
      if (node.kind == PatternNode::Kind::Slot && node.text != "a" && node.text != "stem")
        error(n, cat("an ending may only use {a} and {stem}, not {", node.text, "} (\"", p.source, "\")"));
      if (node.kind == PatternNode::Kind::Verb) error(n, "an ending cannot contain a verb");
    });
  }

  // The verb <verb> of `p` conjugates in this language: a domain's own, one the language derives
  // (Korean: 설정하다 conjugates as 설정해, 설정하), or, for a pattern taken from the phrase library
  // `lib`, one of its [verbs].
  void check_verb(const std::string& verb, const Pattern& p, const toml::node& n, const PhraseLibrary* lib) {
    if (!lang.verbs.count(verb)) {
      if (auto forms = lang.rules().derived_verb_forms(verb)) lang.verbs[verb] = *forms;
      else if (lib && lib->verbs.count(verb)) lang.verbs[verb] = lib->verbs.at(verb);
      else error(n, cat("verb <", verb, "> is not in [verbs] (in \"", p.source, "\")"));
    }
    if (lang.final_endings.empty() || lang.connective_endings.empty())
      error(n, cat("verb <", verb, "> needs [endings] with 'final' and 'connective' lists"));
  }
  void check_verbs(const Pattern& p, const toml::node& n, const PhraseLibrary* lib) {
    for_each_node(p, [&](const PatternNode& node) {
      if (node.kind == PatternNode::Kind::Verb) check_verb(node.text, p, n, lib);
    });
  }

  void check_special(const Pattern& p, const toml::node& n, std::set<std::string> allowed, const char* what) {
    for_each_node(p, [&](const PatternNode& node) {
      if (node.kind != PatternNode::Kind::Slot || allowed.count(node.text)) return;
      if (!lang.lexicon.count(node.text)) error(n, cat(what, ": slot {", node.text, "} has no lexicon (\"", p.source, "\")"));
    });
  }

  void load_replies(const toml::table& root) {
    const toml::table* t = root.get_as<toml::table>("reply");
    if (!t) fail(lang.file, ": no [reply] table");
    for (const auto& [k, v] : *t) {
      std::string key(k.str());
      if (key == "join") {
        if (!v.is_string()) error(v, "reply.join must be a string");
        lang.reply_join = *v.value<std::string>();
        continue;
      }
      reply_entry(key, v);
    }
  }

  // One [reply] entry; a table is a group of keys with a common start:
  // "toggle_lights.bedroom" = { on = "...", off = "..." }.
  void reply_entry(const std::string& key, const toml::node& v) {
    if (const toml::table* group = v.as_table()) {
      for (const auto& [k, x] : *group) reply_entry(cat(key, ".", k.str()), x);
      return;
    }
    std::vector<std::string> texts;
    if (v.is_string()) texts.push_back(*v.value<std::string>());
    else if (const toml::array* arr = v.as_array())
      for (const auto& e : *arr) {
        if (!e.is_string()) error(e, cat("reply '", key, "': entries must be strings"));
        texts.push_back(*e.value<std::string>());
      }
    if (texts.empty()) error(v, cat("reply '", key, "' is empty"));
    // The key is "out_of_scope", a function, or the function followed by
    // parts that must all hold: a value, an argument, or "ARG?" (left out).
    std::string fn = key.substr(0, key.find('.'));
    const FunctionSpec* f = schema.find(fn);
    if (key != "out_of_scope" && !f) error(v, cat("reply '", key, "': unknown function '", fn, "'"));
    std::vector<std::string> parts;
    for (size_t a = fn.size() + 1, b; f && a <= key.size(); a = b + 1) {
      b = key.find('.', a);
      if (b == std::string::npos) b = key.size();
      parts.push_back(key.substr(a, b - a));
    }
    for (const auto& part : parts) {
      if (!part.empty() && part.back() == '?') {
        const ArgumentSpec* arg = f->find_argument(part.substr(0, part.size() - 1));
        if (!arg || !arg->optional || arg->default_value)
          error(v, cat("reply '", key, "': '", part, "' asks for an argument that ", fn,
                       " cannot leave out (an optional argument without a default)"));
        continue;
      }
      bool ok = f->find_argument(part) != nullptr;
      for (const auto& arg : f->arguments) {
        ok |= arg.type == ArgType::Enum && std::count(arg.values.begin(), arg.values.end(), part);
        ok |= arg.type == ArgType::Boolean && (part == "true" || part == "false");
      }
      if (!ok) error(v, cat("reply '", key, "': '", part, "' is neither an argument nor a value of ", fn));
    }
    for (const auto& text : texts) {
      if (std::string bad = utf8_problem(text); !bad.empty()) error(v, bad);
      for (size_t pos = text.find('{'); pos != std::string::npos; pos = text.find('{', pos + 1)) {
        size_t end = text.find('}', pos);
        if (end == std::string::npos) error(v, cat("reply '", key, "': unclosed '{'"));
        std::string name = text.substr(pos + 1, end - pos - 1);
        bool ok = std::count(schema.placeholders.begin(), schema.placeholders.end(), name) || (f && f->find_argument(name));
        if (!ok)
          error(v, cat("reply '", key, "': placeholder {", name, "} is neither a device value nor an argument of ", fn,
                       " (device placeholders are declared in device.toml)"));
      }
    }
    lang.replies[key] = texts;
  }

  // The values a slot bound to `a` can take: the value-slot keys that are
  // values of `a`, or one number standing for the whole range.
  std::vector<ArgValue> slot_candidates(const ArgumentSpec& a, const std::string& slot) const {
    std::vector<ArgValue> out;
    if (auto it = lang.values.find(slot); it != lang.values.end()) {
      for (const auto& [key, words] : it->second)
        if (std::optional<ArgValue> v = arg_from_text(a, key); v && a.accepts(*v)) out.push_back(*v);
    } else if (a.type == ArgType::Integer) {
      out.push_back(a.min);
    } else if (a.type == ArgType::Number) {
      out.push_back(a.min_number);
    }
    return out;
  }

  // Every call the intent can make has a reply: each combination of its
  // value-slot words (numbers do not choose replies, so one stands for all).
  // Returns whether every one of those replies asks for a left-out value.
  bool check_reply_exists(const toml::node& n, const CallTemplate& c) {
    const FunctionSpec* f = schema.find(c.function);
    std::vector<Call> calls(1);
    calls[0].name = c.function;
    for (const auto& [arg, v] : c.literal_args) calls[0].arguments[arg] = v;
    for (const auto& [arg, slot] : c.slot_args) {
      const ArgumentSpec& a = *f->find_argument(arg);
      std::vector<ArgValue> candidates = slot_candidates(a, slot);
      if (candidates.empty() && !lang.values.count(slot))
        error(n, cat("slot {", slot, "} is bound to ", c.function, "(", arg, "), a", a.type == ArgType::Enum ? "n " : " ",
                     arg_type_name(a.type), " argument, but has no [values.", slot, "] words"));
      if (candidates.empty()) error(n, cat("none of the words of [values.", slot, "] is a value of ", c.function, "(", arg, ")"));
      std::vector<Call> next;
      for (const auto& call : calls)
        for (const auto& v : candidates)
          if (next.size() < 4096) next.push_back(call), next.back().arguments[arg] = v;
      calls = std::move(next);
    }
    bool all_ask = true;
    for (const auto& call : calls) {
      bool asks = false;
      if (!find_reply(lang, *f, call, &asks))
        error(n, cat("no reply for ", call_to_string(call), " ([reply] '", c.function, "', or a key for its values)"));
      all_ask &= asks;
    }
    return all_ask;
  }

  void load_intents(const toml::table& root) {
    const toml::array* arr = root.get_as<toml::array>("intent");
    if (!arr) fail(lang.file, ": no [[intent]] entries");
    std::map<std::string, int> id_count;
    for (const auto& node : *arr) {
      const toml::table* t = node.as_table();
      if (!t) error(node, "each [[intent]] must be a table");
      for (const auto& [k, v] : *t) {
        static const std::set<std::string> known = {"id",   "type",    "calls",  "alt",   "text",        "chain",
                                                    "wrap", "last",    "library", "target", "value", "out_of_scope",
                                                    "reply"};
        if (!known.count(std::string(k.str()))) error(v, cat("unknown key '", k.str(), "' in an intent"));
      }
      Intent in;
      const toml::node* id = t->get("id");
      if (!id || !id->is_string()) error(node, "an intent needs id = \"...\"");
      in.id = *id->value<std::string>();
      const toml::node* type = t->get("type");
      // A question about a thing's state is a query unless the intent says otherwise.
      bool asks_state = false;
      if (const toml::node* lib = t->get("library")) {
        asks_state = lib->value<std::string>() == std::optional<std::string>("ask_state");
        if (const toml::array* a = lib->as_array())
          for (const auto& e : *a) asks_state |= e.value<std::string>() == std::optional<std::string>("ask_state");
      }
      in.type = type && type->is_string() ? *type->value<std::string>() : asks_state ? "query" : "direct";
      static const std::set<std::string> types = {"direct", "relative", "query", "indirect", "out_of_scope", "multi_call"};
      if (!types.count(in.type)) error(type ? *type : node, cat("unknown intent type '", in.type, "' (direct, relative, query, indirect, out_of_scope, multi_call)"));
      if (const toml::node* c = t->get("chain")) {
        if (!c->is_boolean()) error(*c, "'chain' must be true or false");
        in.chain = *c->value<bool>();
      }
      if (in.type == "out_of_scope" || in.type == "multi_call" || in.type == "indirect") in.chain = false;
      if (const toml::node* l = t->get("last")) {
        if (!l->is_boolean()) error(*l, "'last' must be true or false");
        in.last = *l->value<bool>();
      }
      in.wrap = in.type == "direct" || in.type == "relative" || in.type == "multi_call";
      if (const toml::node* w = t->get("wrap")) {
        if (!w->is_boolean()) error(*w, "'wrap' must be true or false");
        in.wrap = *w->value<bool>();
      }
      const toml::array* calls = t->get_as<toml::array>("calls");
      if (!calls) error(node, cat("intent '", in.id, "' needs calls = [...] (empty for out-of-scope)"));
      bool asks = true;
      for (const auto& c : *calls) in.calls.push_back(call_template(c)), asks &= check_reply_exists(c, in.calls.back());
      in.partial = in.type == "direct" && !in.calls.empty() && asks;
      if (in.partial && !t->get("chain")) in.chain = false;  // a request that asks back is not chained by default
      // An out-of-scope request gets no call, or a call that says so (intent_unclear(reason=off_topic)).
      if (in.calls.empty() && in.type != "out_of_scope")
        error(node, cat("intent '", in.id, "': only out_of_scope intents may have no calls"));
      if (in.calls.empty() && !lang.replies.count("out_of_scope"))
        error(node, cat("intent '", in.id, "' has no calls: [reply] needs 'out_of_scope'"));
      if (const toml::node* r = t->get("reply")) {
        if (in.type != "out_of_scope")
          error(*r, cat("intent '", in.id, "': 'reply' is only for out_of_scope intents (what the device says to a request it does not serve)"));
        const toml::array* ra = r->as_array();
        if (!ra || ra->empty()) error(*r, cat("intent '", in.id, "': reply must be a non-empty list of strings"));
        for (const auto& e : *ra) {
          const std::optional<std::string> s = e.value<std::string>();
          if (!s || s->empty()) error(e, cat("intent '", in.id, "': every reply must be a non-empty string"));
          if (s->find_first_of("{}") != std::string::npos)
            error(e, cat("intent '", in.id, "': reply \"", *s, "\" is said as written: no {placeholders}"));
          in.replies.push_back(*s);
        }
      }
      for (const auto& c : in.calls)
        for (const auto& [arg, slot] : c.slot_args)
          if (lang.values.count(slot)) slot_bindings[slot].push_back(schema.find(c.function)->find_argument(arg));
      if (const toml::array* alt = t->get_as<toml::array>("alt")) {
        for (const auto& a : *alt) {
          const toml::array* answer = a.as_array();
          if (!answer) error(a, "alt must be a list of call lists, e.g. [[\"adjust_fan_speed(direction=up)\"]]");
          std::vector<CallTemplate> calls_alt;
          for (const auto& c : *answer) {
            calls_alt.push_back(call_template(c));
            if (!calls_alt.back().slot_args.empty()) error(c, "alternative answers take literal arguments only");
          }
          in.alternatives.push_back(std::move(calls_alt));
        }
      }
      const toml::node* text = t->get("text");
      if (!text && !t->get("library") && !t->get("out_of_scope"))
        error(node, cat("intent '", in.id, "' needs text = [...], library = \"...\" or out_of_scope = [topics]"));
      std::set<std::string> bound;
      for (const auto& c : in.calls)
        for (const auto& [arg, slot] : c.slot_args) bound.insert(slot);
      // A query's targets without the library say what it asks about, for two questions asked as one.
      if (!t->get("library")) {
        if (const toml::node* x = t->get("value")) error(*x, "'value' is only for intents that use the library (library = \"...\")");
        if (const toml::node* x = t->get("target")) {
          if (in.type != "query")
            error(*x, "'target' is only for intents that use the library (library = \"...\") or queries (what they ask about)");
          in.targets = phrase_patterns(*x, "target", bound);
          const toml::array* arr = x->as_array();
          for (size_t i = 0; i < in.targets.size(); ++i) {
            const toml::node& e = arr ? *arr->get(i) : *x;
            std::set<std::string> used;
            check_pattern(in.targets[i], e, &in, &used);
            for (const auto& slot : bound)
              if (!used.count(slot)) error(e, cat("target \"", in.targets[i].source, "\" does not say {", slot, "}, which the calls need"));
          }
        }
      }
      int& n_before = id_count[in.id];
      std::vector<Expanded> sources;
      if (text) {
        const toml::array* text_arr = text->as_array();
        if (!text_arr && !text->is_string()) error(*text, cat("intent '", in.id, "' text must be a list of strings"));
        if (text_arr && text_arr->empty()) error(*text, cat("intent '", in.id, "' text is empty"));
        size_t n = text_arr ? text_arr->size() : 1;
        for (size_t i = 0; i < n; ++i) {
          const toml::node& tn = text_arr ? *text_arr->get(i) : *text;
          if (!tn.is_string()) error(tn, cat("intent '", in.id, "' text: every entry must be a string"));
          sources.push_back({*tn.value<std::string>(), cat(lang.lang, ".", in.id, ".", n_before + int(i)), &tn, ""});
        }
        n_before += int(n);
      }
      if (t->get("library")) {
        if (t->get("library") && id_count[in.id + "\x01lib"]++ > 0)
          error(*t->get("library"), cat("intent id '", in.id, "' uses the library twice: library template ids would repeat"));
        for (auto& x : library_templates(*t, in, bound)) sources.push_back(std::move(x));
      }
      if (const toml::node* topics = t->get("out_of_scope")) {
        if (id_count[in.id + "\x01oos"]++ > 0)
          error(*topics, cat("intent id '", in.id, "' takes out-of-scope topics twice: their template ids would repeat"));
        for (auto& x : out_of_scope_templates(*topics, in)) sources.push_back(std::move(x));
      }
      std::set<std::string> seen;
      for (const auto& src : sources) {
        const toml::node& tn = *src.node;
        Template tp;
        try {
          Pattern p = parse_pattern(src.text, where(tn), *lang.info);
          if (!seen.insert(p.source).second) {
            if (!src.origin.empty()) continue;  // the library says what the domain already does: one is enough
            error(tn, cat("template \"", p.source, "\" repeated in intent '", in.id, "'"));
          }
          std::set<std::string> used;
          check_pattern(p, tn, &in, &used);
          for (const auto& slot : bound)
            if (!used.count(slot)) error(tn, cat("template \"", p.source, "\" does not say {", slot, "}, which the calls need"));
          tp.pattern = std::move(p);
        } catch (const Error& e) {
          if (src.origin.empty()) throw;
          throw Error(cat(e.what(), src.origin));
        }
        tp.id = src.id;
        tp.line = line_of(tn);
        for (const auto& nd : tp.pattern.nodes) tp.has_verb |= nd.kind == PatternNode::Kind::Verb || says_verb(nd);
        tp.question = tp.pattern.source.find('?') != std::string::npos;
        tp.everyday = src.everyday;
        in.templates.push_back(std::move(tp));
      }
      in.asks_together = in.type == "query" && !in.targets.empty();
      for (const auto& slot : bound) in.asks_together = in.asks_together && says_slot(in.targets[0], slot);
      lang.intents.push_back(std::move(in));
    }
    // Every word list of a value slot names a value of an argument the slot is bound to.
    for (const auto& [slot, args] : slot_bindings)
      for (const auto& [key, words] : lang.values.at(slot)) {
        bool ok = false;
        for (const ArgumentSpec* a : args)
          if (std::optional<ArgValue> v = arg_from_text(*a, key)) ok |= a->accepts(*v);
        if (!ok) {
          const toml::node* words_node = root.get_as<toml::table>("values")->get_as<toml::table>(slot)->get(key);
          error(*words_node, cat("[values.", slot, "] '", key, "' is not a value of ", args[0]->name,
                                 ", the argument the slot is bound to"));
        }
      }
  }
  std::map<std::string, std::vector<const ArgumentSpec*>> slot_bindings;  // value slot -> the arguments binding it
};

// "fn" or "fn(arg=value, ...)" with literal values; nullopt with `why` set when malformed or outside the schema.
std::optional<Call> parse_literal_call(const DomainSchema& schema, const std::string& text, std::string& why) {
  CallText parts;
  if (why = split_call_text(text, parts); !why.empty()) return std::nullopt;
  Call c;
  c.name = parts.name;
  const FunctionSpec* f = schema.find(c.name);
  if (!f) return why = cat("unknown function '", c.name, "' in '", text, "'"), std::nullopt;
  for (const auto& [name, value] : parts.arguments) {
    const ArgumentSpec* a = f->find_argument(name);
    if (!a) return why = cat(c.name, " has no argument '", name, "'"), std::nullopt;
    std::optional<ArgValue> v = arg_from_text(*a, value);
    if (!v) return why = cat("'", value, "' is not a value of ", c.name, "(", name, ")"), std::nullopt;
    c.arguments[name] = *v;
  }
  if (why = validate_call(schema, c); !why.empty()) return std::nullopt;
  return c;
}

GenerationConfig load_config(const std::string& path, std::string& bytes, const DomainSchema& schema) {
  GenerationConfig c;
  for (const auto& l : known_languages()) c.languages.push_back(l.code);
  c.kind_targets = {{"direct", 0.34}, {"multi_call", 0.17}, {"relative", 0.07}, {"query", 0.11},
                    {"indirect", 0.08}, {"out_of_scope", 0.13}, {"numeric_conversion", 0.10}};
  c.language_targets[kMixedLanguage] = 0.16;
  for (const auto& l : c.languages) c.language_targets[l] = 0.84 / double(c.languages.size());
  if (!std::filesystem::exists(path)) return c;
  toml::table root = parse_toml_file(path, bytes);
  auto error = [&](const toml::node& n, const std::string& msg) { fail(path, " line ", line_of(n), ": ", msg); };
  for (const auto& [k, v] : root) {
    std::string key(k.str());
    if (key == "placeholders") {
      error(v, "reply placeholders are declared in device.toml ([placeholder.NAME], docs/DOMAIN_FORMAT.md)");
    } else if (key == "languages") {
      const toml::array* arr = v.as_array();
      if (!arr) error(v, cat("'", key, "' must be a list of strings"));
      std::vector<std::string> out;
      for (const auto& e : *arr) {
        if (!e.is_string()) error(e, cat("'", key, "' must be a list of strings"));
        out.push_back(*e.value<std::string>());
      }
      for (const auto& l : out)
        if (!find_language_info(l))
          error(v, cat("language '", l, "' has no language module (known: ", known_language_codes(), ")"));
      if (out.empty()) error(v, "'languages' is empty");
      c.languages = out;
      for (const auto& l : known_languages())
        if (!std::count(out.begin(), out.end(), std::string(l.code))) c.language_targets.erase(l.code);
      if (out.size() < 2) c.language_targets.erase(kMixedLanguage);
    } else if (key == "numbers") {
      const toml::table* t = v.as_table();
      if (!t) error(v, "[numbers] must be a table of \"function.argument\" = [values]");
      for (const auto& [name, list] : *t) {
        std::string n(name.str());
        std::string fn = n.substr(0, n.find('.')), arg = n.find('.') == std::string::npos ? "" : n.substr(n.find('.') + 1);
        const FunctionSpec* f = schema.find(fn);
        const ArgumentSpec* a = f ? f->find_argument(arg) : nullptr;
        if (!a || (a->type != ArgType::Integer && a->type != ArgType::Number))
          error(list, cat("numbers: '", n, "' is not an integer or number argument (function.argument)"));
        const toml::array* arr = list.as_array();
        if (!arr || arr->empty()) error(list, cat("numbers '", n, "' must be a non-empty list of numbers"));
        if (a->type == ArgType::Number) {
          for (const auto& e : *arr) {
            if (!e.is_number()) error(e, cat("numbers '", n, "': not a number"));
            ArgValue x = e.is_integer() ? double(*e.value<int64_t>()) : *e.value<double>();
            if (std::string why = a->check(x); !why.empty()) error(e, cat("numbers '", n, "': ", why));
            c.decimal_pools[n].push_back(std::get<double>(x));
          }
          continue;
        }
        for (const auto& e : *arr) {
          if (!e.is_integer()) error(e, cat("numbers '", n, "': not an integer"));
          int64_t x = *e.value<int64_t>();
          if (x < a->min || x > a->max) error(e, cat("numbers '", n, "': ", x, " is outside ", a->min, "..", a->max));
          c.number_pools[n].push_back(x);
        }
      }
    } else if (key == "targets") {
      const toml::table* t = v.as_table();
      if (!t) error(v, "[targets] must be a table");
      for (const auto& [group, tv] : *t) {
        std::string g(group.str());
        if (g != "kind" && g != "language") error(tv, cat("targets: unknown group '", g, "' (kind, language)"));
        auto& dst = g == "kind" ? c.kind_targets : c.language_targets;
        static const std::set<std::string> kinds = [] {
          std::set<std::string> k = {"direct", "multi_call", "relative", "query", "indirect", "out_of_scope", "numeric_conversion", "partial"};
          k.insert(std::begin(kDialogueKinds), std::end(kDialogueKinds));
          return k;
        }();
        if (!tv.is_table()) error(tv, cat("targets.", g, " must be a table"));
        for (const auto& [name, w] : *tv.as_table()) {
          std::string nm(name.str());
          bool known = g == "kind" ? kinds.count(nm) > 0
                                   : nm == kMixedLanguage || std::count(c.languages.begin(), c.languages.end(), nm) > 0;
          if (!known) error(w, cat("targets.", g, ": unknown name '", nm, "'", g == "language" ? " (not in 'languages')" : ""));
          if (!w.is_number() || *w.value<double>() < 0) error(w, cat("targets.", g, ".", nm, " must be a number >= 0"));
          dst[nm] = *w.value<double>();
        }
      }
    } else if (key == "undo") {
      // function = "call": what "cancel that" / "never mind" calls after it (conversations).
      const toml::table* t = v.as_table();
      if (!t) error(v, "[undo] must be a table of function = \"call(arg=value, ...)\"");
      for (const auto& [name, call] : *t) {
        if (!schema.find(std::string(name.str()))) error(call, cat("undo: unknown function '", name.str(), "'"));
        if (!call.is_string()) error(call, cat("undo.", name.str(), " must be a call such as \"cancel_timer()\""));
        std::string text = *call.value<std::string>(), why;
        std::optional<Call> parsed = parse_literal_call(schema, text, why);
        if (!parsed) error(call, cat("undo.", name.str(), ": ", why));
        c.undo[std::string(name.str())] = *parsed;
      }
    } else if (key == "dialogue") {
      const toml::table* t = v.as_table();
      if (!t) error(v, "[dialogue] must be a table");
      for (const auto& [name, w] : *t) {
        std::string nm(name.str());
        if (nm != "lead_in") error(w, cat("dialogue: unknown key '", nm, "' (lead_in)"));
        if (!w.is_number() || *w.value<double>() < 0 || *w.value<double>() > 1)
          error(w, "dialogue.lead_in must be a share between 0 and 1");
        c.lead_in = *w.value<double>();
      }
    } else if (key == "report_targets") {
      const toml::table* t = v.as_table();
      if (!t) error(v, "[report_targets] must be a table");
      ReportTargets& r = c.report_targets;
      for (const auto& [name, w] : *t) {
        std::string nm(name.str());
        static const std::pair<const char*, double ReportTargets::*> shares[] = {
            {"functional_success", &ReportTargets::functional_success},
            {"every_language", &ReportTargets::every_language},
            {"out_of_scope", &ReportTargets::out_of_scope},
            {"out_of_scope_acted", &ReportTargets::out_of_scope_acted}};
        auto share = std::find_if(std::begin(shares), std::end(shares), [&](const auto& p) { return nm == p.first; });
        if (share != std::end(shares)) {
          double* dst = &(r.*(share->second));
          if (!w.is_number() || *w.value<double>() < 0 || *w.value<double>() > 1)
            error(w, cat("report_targets.", nm, " must be a share between 0 and 1"));
          *dst = *w.value<double>();
        } else if (nm == "models") {
          const toml::array* arr = w.as_array();
          if (!arr || arr->empty()) error(w, "report_targets.models must be a non-empty list of model names (model, model-q8_0, ...)");
          r.models.clear();
          for (const auto& e : *arr) {
            if (!e.is_string() || e.value<std::string>()->empty()) error(e, "report_targets.models: every entry must be a model name");
            r.models.push_back(*e.value<std::string>());
          }
        } else if (nm == "max_params") {
          if (!w.is_integer() || *w.value<int64_t>() < 1) error(w, "report_targets.max_params must be a positive integer");
          r.max_params = *w.value<int64_t>();
        } else if (nm == "max_minutes") {
          if (!w.is_number() || !(*w.value<double>() > 0)) error(w, "report_targets.max_minutes must be a number > 0");
          r.max_minutes = *w.value<double>();
        } else {
          error(w, cat("report_targets: unknown key '", nm,
                       "' (functional_success, every_language, out_of_scope, out_of_scope_acted, models, max_params, max_minutes)"));
        }
      }
    } else {
      error(v, cat("unknown key '", key, "' in generate.toml"));
    }
  }
  return c;
}

}  // namespace

const std::vector<std::string>* find_reply(const Language& lang, const FunctionSpec& f, const Call& call, bool* asks) {
  const std::vector<std::string>* best = nullptr;
  int best_score = -1;
  for (const auto& [key, texts] : lang.replies) {
    if (key.compare(0, f.name.size(), f.name) != 0 || (key.size() > f.name.size() && key[f.name.size()] != '.')) continue;
    // A value counts more than an argument, a question for a left-out value most.
    int score = 0;
    bool holds = true;
    for (size_t a = f.name.size() + 1, b; holds && a <= key.size(); a = b + 1) {
      b = key.find('.', a);
      if (b == std::string::npos) b = key.size();
      std::string part = key.substr(a, b - a);
      if (!part.empty() && part.back() == '?') {
        part.pop_back();
        holds = f.find_argument(part) && !call.arguments.count(part);
        score += 100;
        continue;
      }
      int s = call.arguments.count(part) ? 1 : 0;
      for (const auto& [arg, v] : call.arguments)
        if (!std::holds_alternative<int64_t>(v) && !std::holds_alternative<double>(v) && arg_text(v) == part) s = 2;
      holds = s > 0;
      score += s;
    }
    if (holds && score > best_score) best = &texts, best_score = score;
  }
  if (asks) *asks = best_score >= 100;
  return best;
}

Phrasebook load_phrasebook(const std::string& domain_dir) {
  namespace fs = std::filesystem;
  Phrasebook pb;
  pb.dir = domain_dir;
  std::string bytes;
  for (const char* name : {"functions.toml", "device.toml"}) {
    std::string path = (fs::path(domain_dir) / name).string();
    if (!fs::exists(path)) continue;
    std::string text = read_file(path);
    if (std::string bad = utf8_problem(text); !bad.empty()) fail(path, ": ", bad);
    bytes += text;
  }
  const DeviceSpec device = load_device(domain_dir);
  pb.schema = device.schema;
  for (const auto& e : device.effects) {
    auto note = [&](const FieldRef& r) {
      if (!r.key_arg.empty()) pb.place_args[e.function].insert(r.key_arg);
    };
    for (const auto& [r, v] : e.set) note(r);
    for (const auto& [r, v] : e.step) note(r);
    for (const auto& r : e.reset) note(r);
    for (const auto& r : e.read) note(r);
  }
  pb.config = load_config((fs::path(domain_dir) / "generate.toml").string(), bytes, pb.schema);
  for (const auto& lang : pb.config.languages) {
    std::string path = (fs::path(domain_dir) / (lang + ".toml")).string();
    toml::table root = parse_toml_file(path, bytes);
    LanguageLoader loader{pb.schema, pb.config, {}, &bytes};
    loader.lang.lang = lang;
    loader.lang.info = &language_info(lang);
    loader.lang.file = path;
    loader.load(root);
    pb.languages.push_back(std::move(loader.lang));
  }
  if (pb.languages.empty()) fail(domain_dir, ": no phrasing files");
  pb.content_hash = fnv1a_hex(bytes);
  return pb;
}

}  // namespace edgelm::data
