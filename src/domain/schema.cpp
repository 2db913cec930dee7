#include "domain/schema.h"

#include <cstdlib>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm {

bool ArgumentSpec::accepts(const ArgValue& v) const {
  if (type == ArgType::Enum) {
    const auto* s = std::get_if<std::string>(&v);
    return s && std::find(values.begin(), values.end(), *s) != values.end();
  }
  const auto* i = std::get_if<int64_t>(&v);
  return i && *i >= min && *i <= max;
}

const ArgumentSpec* FunctionSpec::find_argument(const std::string& n) const {
  for (const auto& a : arguments)
    if (a.name == n) return &a;
  return nullptr;
}

const FunctionSpec* DomainSchema::find(const std::string& n) const {
  for (const auto& f : functions)
    if (f.name == n) return &f;
  return nullptr;
}

size_t DomainSchema::index_of(const std::string& n) const {
  for (size_t i = 0; i < functions.size(); ++i)
    if (functions[i].name == n) return i;
  return functions.size();
}

namespace {

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_')) return false;
  return true;
}

struct SchemaParser {
  const std::string& source;
  [[noreturn]] void error(const toml::node& node, const std::string& msg) const {
    fail(source, " line ", node.source().begin.line, ": ", msg);
  }
  [[noreturn]] void error(const toml::table& t, const std::string& msg) const {
    fail(source, " line ", t.source().begin.line, ": ", msg);
  }
  std::string string_field(const toml::table& t, const char* key, bool required) const {
    const toml::node* n = t.get(key);
    if (!n) {
      if (required) error(t, cat("missing '", key, "'"));
      return "";
    }
    if (!n->is_string()) error(*n, cat("'", key, "' must be a string"));
    return std::string(*n->value<std::string>());
  }
  void check_keys(const toml::table& t, std::initializer_list<const char*> allowed, const char* what) const {
    for (const auto& [k, v] : t) {
      bool ok = false;
      for (const char* a : allowed) ok |= (k.str() == a);
      if (!ok) error(v, cat("unknown key '", k.str(), "' in ", what));
    }
  }

  ArgumentSpec argument(const toml::table& t, const std::string& fn) const {
    check_keys(t, {"name", "type", "values", "min", "max", "optional", "default", "description"}, "an argument");
    ArgumentSpec a;
    a.name = string_field(t, "name", true);
    if (!is_identifier(a.name)) error(t, cat("argument name '", a.name, "' of ", fn, " is not an identifier"));
    a.description = string_field(t, "description", false);
    std::string type = string_field(t, "type", true);
    if (type == "enum") {
      a.type = ArgType::Enum;
      const toml::array* values = t.get_as<toml::array>("values");
      if (!values || values->empty()) error(t, cat("enum argument '", a.name, "' of ", fn, " needs a non-empty 'values' list"));
      std::set<std::string> seen;
      for (const auto& v : *values) {
        if (!v.is_string()) error(v, cat("enum value of '", a.name, "' must be a string"));
        std::string s(*v.value<std::string>());
        if (s.empty()) error(v, cat("empty enum value in '", a.name, "'"));
        if (!seen.insert(s).second) error(v, cat("enum value '", s, "' repeated in argument '", a.name, "' of ", fn));
        a.values.push_back(s);
      }
    } else if (type == "integer") {
      a.type = ArgType::Integer;
      auto min = t.get("min"), max = t.get("max");
      if (!min || !min->is_integer() || !max || !max->is_integer())
        error(t, cat("integer argument '", a.name, "' of ", fn, " needs integer 'min' and 'max'"));
      a.min = *min->value<int64_t>();
      a.max = *max->value<int64_t>();
      if (a.min > a.max) error(t, cat("argument '", a.name, "': min ", a.min, " is above max ", a.max));
    } else {
      error(*t.get("type"), cat("unknown argument type '", type, "' (known: enum, integer)"));
    }
    if (const toml::node* o = t.get("optional")) {
      if (!o->is_boolean()) error(*o, "'optional' must be true or false");
      a.optional = *o->value<bool>();
    }
    if (const toml::node* d = t.get("default")) {
      if (!a.optional) error(*d, cat("argument '", a.name, "' has a default but is not optional"));
      if (a.type == ArgType::Enum && d->is_string()) a.default_value = std::string(*d->value<std::string>());
      else if (a.type == ArgType::Integer && d->is_integer()) a.default_value = *d->value<int64_t>();
      else error(*d, cat("default of '", a.name, "' has the wrong type"));
      if (!a.accepts(*a.default_value)) error(*d, cat("default of '", a.name, "' is outside its values"));
    } else if (a.optional) {
      error(t, cat("optional argument '", a.name, "' of ", fn, " needs a 'default'"));
    }
    return a;
  }

  DomainSchema parse(const toml::table& root) const {
    check_keys(root, {"domain", "description", "function"}, "functions.toml");
    DomainSchema s;
    s.name = string_field(root, "domain", true);
    s.description = string_field(root, "description", false);
    const toml::array* fns = root.get_as<toml::array>("function");
    if (!fns || fns->empty()) fail(source, ": no [[function]] entries");
    std::set<std::string> names;
    for (const auto& node : *fns) {
      const toml::table* t = node.as_table();
      if (!t) error(node, "each [[function]] must be a table");
      check_keys(*t, {"name", "description", "argument"}, "a function");
      FunctionSpec f;
      f.name = string_field(*t, "name", true);
      if (!is_identifier(f.name)) error(*t, cat("function name '", f.name, "' is not an identifier"));
      if (!names.insert(f.name).second) error(*t, cat("function '", f.name, "' defined twice"));
      f.description = string_field(*t, "description", false);
      if (const toml::node* args = t->get("argument")) {
        const toml::array* arr = args->as_array();
        if (!arr) error(*args, "'argument' must be an array of tables ([[function.argument]])");
        std::set<std::string> arg_names;
        for (const auto& a : *arr) {
          if (!a.is_table()) error(a, "each argument must be a table");
          ArgumentSpec spec = argument(*a.as_table(), f.name);
          if (!arg_names.insert(spec.name).second) error(a, cat("argument '", spec.name, "' of ", f.name, " defined twice"));
          f.arguments.push_back(std::move(spec));
        }
      }
      s.functions.push_back(std::move(f));
    }
    return s;
  }
};

}  // namespace

DomainSchema parse_schema(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    fail(source, " line ", e.source().begin.line, ": ", e.description());
  }
  return SchemaParser{source}.parse(root);
}

DomainSchema load_schema(const std::string& path) { return parse_schema(read_file(path), path); }

std::string resolve_domain_dir(const std::string& name_or_path) {
  namespace fs = std::filesystem;
  if (fs::is_directory(name_or_path)) return name_or_path;
  if (name_or_path.find('/') == std::string::npos) {
    if (const char* home = std::getenv("EDGELM_HOME")) {
      fs::path p = fs::path(home) / "domains" / name_or_path;
      if (fs::is_directory(p)) return p.string();
    }
    fs::path p = fs::path(EDGELM_SOURCE_DIR) / "domains" / name_or_path;
    if (fs::is_directory(p)) return p.string();
  }
  fail("domain '", name_or_path, "' not found (neither a folder nor a built-in domain)");
}

std::string validate_call(const DomainSchema& schema, const Call& call) {
  const FunctionSpec* f = schema.find(call.name);
  if (!f) return cat("unknown function '", call.name, "'");
  for (const auto& [name, value] : call.arguments) {
    const ArgumentSpec* a = f->find_argument(name);
    if (!a) return cat(call.name, ": unknown argument '", name, "'");
    if (!a->accepts(value)) return cat(call.name, ": value ", arg_to_string(value), " is not allowed for '", name, "'");
  }
  for (const auto& a : f->arguments)
    if (!a.optional && !call.arguments.count(a.name)) return cat(call.name, ": missing argument '", a.name, "'");
  return "";
}

Call with_defaults(const DomainSchema& schema, const Call& call) {
  Call out = call;
  if (const FunctionSpec* f = schema.find(call.name))
    for (const auto& a : f->arguments)
      if (a.optional && !out.arguments.count(a.name) && a.default_value) out.arguments[a.name] = *a.default_value;
  return out;
}

nlohmann::json arg_to_json(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return std::get<int64_t>(v);
}

std::string arg_to_string(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return cat('"', *s, '"');
  return std::to_string(std::get<int64_t>(v));
}

nlohmann::json call_to_json(const Call& call) {
  nlohmann::json args = nlohmann::json::object();
  for (const auto& [k, v] : call.arguments) args[k] = arg_to_json(v);
  return {{"name", call.name}, {"arguments", args}};
}

Call call_from_json(const nlohmann::json& j) {
  if (!j.is_object() || !j.contains("name") || !j["name"].is_string()) fail("a call needs a string 'name'");
  Call c;
  c.name = j["name"].get<std::string>();
  if (j.contains("arguments")) {
    const auto& args = j["arguments"];
    if (!args.is_object()) fail("call '", c.name, "': 'arguments' must be an object");
    for (auto it = args.begin(); it != args.end(); ++it) {
      if (it->is_string()) c.arguments[it.key()] = it->get<std::string>();
      else if (it->is_number_integer()) c.arguments[it.key()] = it->get<int64_t>();
      else if (it->is_number_float() && it->get<double>() == double(int64_t(it->get<double>())))
        c.arguments[it.key()] = int64_t(it->get<double>());
      else fail("call '", c.name, "': argument '", it.key(), "' must be a string or an integer");
    }
  }
  return c;
}

std::string call_to_string(const Call& call) {
  std::string s = call.name + "(";
  bool first = true;
  for (const auto& [k, v] : call.arguments) {
    if (!first) s += ", ";
    first = false;
    s += k + "=" + arg_to_string(v);
  }
  return s + ")";
}

}  // namespace edgelm
