#include "domain/schema.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm {

const char* arg_type_name(ArgType t) {
  switch (t) {
    case ArgType::Enum: return "enum";
    case ArgType::Integer: return "integer";
    case ArgType::Number: return "number";
    case ArgType::Boolean: return "boolean";
    case ArgType::String: return "string";
  }
  return "?";
}

namespace {

// Whether v has at most kNumberDecimals decimals (so its text form is exact).
bool has_few_decimals(double v) {
  double scaled = v * 1000.0;
  return std::isfinite(v) && std::fabs(scaled - std::round(scaled)) <= 1e-6 * std::max(1.0, std::fabs(scaled));
}

// Characters a free-text value may not hold: the agent format quotes it with
// '"', and '{' '}' '<' '>' would read as placeholders or special tokens.
bool string_char_allowed(uint32_t cp) {
  return cp >= 0x20 && cp != 0x7F && !(cp >= 0x80 && cp < 0xA0) && cp != '"' && cp != '\\' && cp != '{' && cp != '}' &&
         cp != '<' && cp != '>';
}

}  // namespace

std::string ArgumentSpec::check(const ArgValue& v) const {
  switch (type) {
    case ArgType::Enum: {
      const auto* s = std::get_if<std::string>(&v);
      if (!s) return cat(arg_to_string(v), " is not a string");
      if (std::find(values.begin(), values.end(), *s) == values.end()) {
        std::string known;
        for (const auto& x : values) known += (known.empty() ? "" : ", ") + x;
        return cat("'", *s, "' is not one of ", known);
      }
      return "";
    }
    case ArgType::Integer: {
      const auto* i = std::get_if<int64_t>(&v);
      if (!i) return cat(arg_to_string(v), " is not an integer");
      if (*i < min || *i > max) return cat(*i, " is outside ", min, "..", max);
      return "";
    }
    case ArgType::Number: {
      double x = 0;
      if (const auto* d = std::get_if<double>(&v)) x = *d;
      else if (const auto* i = std::get_if<int64_t>(&v)) x = double(*i);
      else return cat(arg_to_string(v), " is not a number");
      if (!(x >= min_number && x <= max_number))
        return cat(number_text(x), " is outside ", number_text(min_number), "..", number_text(max_number));
      if (!has_few_decimals(x)) return cat(x, " has more than ", kNumberDecimals, " decimals");
      return "";
    }
    case ArgType::Boolean:
      return std::holds_alternative<bool>(v) ? "" : cat(arg_to_string(v), " is not true or false");
    case ArgType::String: {
      const auto* s = std::get_if<std::string>(&v);
      if (!s) return cat(arg_to_string(v), " is not a string");
      if (s->empty()) return "an empty string";
      if (std::string bad = utf8_problem(*s); !bad.empty()) return bad;
      if (utf8_length(*s) > max_length) return cat("'", *s, "' is longer than ", max_length, " characters");
      size_t i = 0;
      uint32_t cp = 0;
      while (utf8_next(*s, i, cp))
        if (!string_char_allowed(cp)) return cat("'", *s, "' holds a character a value may not have (\", \\ { } < > or a control)");
      if (s->front() == ' ' || s->back() == ' ') return cat("'", *s, "' starts or ends with a space");
      return "";
    }
  }
  return "unknown type";
}

bool ArgumentSpec::accepts(const ArgValue& v) const { return check(v).empty(); }

bool enum_value_writable(const std::string& v) {
  return !v.empty() && v.find_first_of(" ,{}") == std::string::npos && v.find("<|") == std::string::npos &&
         std::none_of(v.begin(), v.end(), [](char c) { return uint8_t(c) < 0x20; });
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

bool is_identifier(const std::string& s) {
  if (s.empty() || !(std::isalpha((unsigned char)s[0]) || s[0] == '_')) return false;
  for (char c : s)
    if (!(std::isalnum((unsigned char)c) || c == '_')) return false;
  return true;
}

namespace {

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
    check_keys(t, {"name", "type", "values", "min", "max", "max_length", "optional", "default", "from_command", "description"},
               "an argument");
    ArgumentSpec a;
    a.name = string_field(t, "name", true);
    if (!is_identifier(a.name)) error(t, cat("argument name '", a.name, "' of ", fn, " is not an identifier"));
    a.description = string_field(t, "description", false);
    std::string type = string_field(t, "type", true);
    auto reject = [&](const char* key) {
      if (const toml::node* n = t.get(key)) error(*n, cat("'", key, "' does not apply to a ", type, " argument"));
    };
    if (type == "enum") {
      a.type = ArgType::Enum;
      reject("min"), reject("max"), reject("max_length");
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
      reject("values"), reject("max_length");
      auto min = t.get("min"), max = t.get("max");
      if (!min || !min->is_integer() || !max || !max->is_integer())
        error(t, cat("integer argument '", a.name, "' of ", fn, " needs integer 'min' and 'max'"));
      a.min = *min->value<int64_t>();
      a.max = *max->value<int64_t>();
      if (a.min > a.max) error(t, cat("argument '", a.name, "': min ", a.min, " is above max ", a.max));
      if (a.min < -999999999999 || a.max > 999999999999)
        error(t, cat("argument '", a.name, "': the range must lie within -999999999999..999999999999"));
    } else if (type == "number") {
      a.type = ArgType::Number;
      reject("values"), reject("max_length");
      auto min = t.get("min"), max = t.get("max");
      if (!min || !(min->is_number()) || !max || !max->is_number())
        error(t, cat("number argument '", a.name, "' of ", fn, " needs numeric 'min' and 'max'"));
      a.min_number = min->is_integer() ? double(*min->value<int64_t>()) : *min->value<double>();
      a.max_number = max->is_integer() ? double(*max->value<int64_t>()) : *max->value<double>();
      if (!std::isfinite(a.min_number) || !std::isfinite(a.max_number) || std::fabs(a.min_number) > 1e12 ||
          std::fabs(a.max_number) > 1e12)
        error(t, cat("argument '", a.name, "': the range must lie within -1e12..1e12"));
      if (a.min_number > a.max_number) error(t, cat("argument '", a.name, "': min is above max"));
    } else if (type == "boolean") {
      a.type = ArgType::Boolean;
      reject("values"), reject("min"), reject("max"), reject("max_length");
    } else if (type == "string") {
      a.type = ArgType::String;
      reject("values"), reject("min"), reject("max");
      if (const toml::node* n = t.get("max_length")) {
        if (!n->is_integer() || *n->value<int64_t>() < 1 || *n->value<int64_t>() > 256)
          error(*n, cat("'max_length' of '", a.name, "' must be an integer in 1..256"));
        a.max_length = *n->value<int64_t>();
      }
    } else {
      error(*t.get("type"), cat("unknown argument type '", type, "' (known: enum, integer, number, boolean, string)"));
    }
    if (const toml::node* n = t.get("from_command")) {
      if (a.type != ArgType::Integer) error(*n, cat("'from_command' applies to integer arguments, not to '", a.name, "' (", type, ")"));
      if (!n->is_boolean()) error(*n, "'from_command' must be true or false");
      a.from_command = *n->value<bool>();
    }
    if (const toml::node* o = t.get("optional")) {
      if (!o->is_boolean()) error(*o, "'optional' must be true or false");
      a.optional = *o->value<bool>();
    }
    if (const toml::node* d = t.get("default")) {
      if (!a.optional) error(*d, cat("argument '", a.name, "' has a default but is not optional"));
      std::optional<ArgValue> v;
      if (d->is_string()) v = std::string(*d->value<std::string>());
      else if (d->is_integer()) v = *d->value<int64_t>();
      else if (d->is_floating_point()) v = *d->value<double>();
      else if (d->is_boolean()) v = *d->value<bool>();
      if (!v) error(*d, cat("default of '", a.name, "' has the wrong type"));
      if (a.type == ArgType::Number)
        if (const auto* i = std::get_if<int64_t>(&*v)) v = double(*i);
      if (std::string why = a.check(*v); !why.empty()) error(*d, cat("default of '", a.name, "': ", why));
      a.default_value = v;
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
    if (std::string why = a->check(value); !why.empty()) return cat(call.name, ": argument '", name, "': ", why);
  }
  for (const auto& a : f->arguments)
    if (!a.optional && !call.arguments.count(a.name)) return cat(call.name, ": missing argument '", a.name, "'");
  return "";
}

Call canonical_call(const DomainSchema& schema, Call call) {
  const FunctionSpec* f = schema.find(call.name);
  if (!f) return call;
  for (auto& [name, value] : call.arguments) {
    const ArgumentSpec* a = f->find_argument(name);
    if (!a) continue;
    if (a->type == ArgType::Number) {
      if (const auto* i = std::get_if<int64_t>(&value)) value = double(*i);
    } else if (a->type == ArgType::Integer) {
      if (const auto* d = std::get_if<double>(&value); d && std::fabs(*d) < 9e15 && *d == std::floor(*d))
        value = int64_t(*d);
    }
  }
  return call;
}

Call with_defaults(const DomainSchema& schema, const Call& call) {
  Call out = call;
  if (const FunctionSpec* f = schema.find(call.name))
    for (const auto& a : f->arguments)
      if (a.optional && !out.arguments.count(a.name) && a.default_value) out.arguments[a.name] = *a.default_value;
  return out;
}

std::string number_text(double v) {
  if (!std::isfinite(v)) return "nan";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", kNumberDecimals, v);
  std::string s = buf;
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

nlohmann::json arg_to_json(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::get<bool>(v);
}

std::optional<ArgValue> arg_from_json(const nlohmann::json& j) {
  if (j.is_string()) return ArgValue(j.get<std::string>());
  if (j.is_boolean()) return ArgValue(j.get<bool>());
  if (j.is_number_integer()) {
    if (j.is_number_unsigned() && j.get<uint64_t>() > uint64_t(INT64_MAX)) return ArgValue(double(j.get<uint64_t>()));
    return ArgValue(j.get<int64_t>());
  }
  if (j.is_number_float()) {
    double d = j.get<double>();
    if (std::fabs(d) < 9e15 && d == std::floor(d)) return ArgValue(int64_t(d));  // 90.0 is the integer 90
    return ArgValue(d);
  }
  return std::nullopt;
}

std::string arg_to_string(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return cat('"', *s, '"');
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return number_text(*d);
  return std::get<bool>(v) ? "true" : "false";
}

std::string arg_text(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  return arg_to_string(v);
}

std::optional<ArgValue> arg_from_text(const ArgumentSpec& a, std::string_view text) {
  std::string t(text);
  switch (a.type) {
    case ArgType::Enum:
      return ArgValue(t);
    case ArgType::String:
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"') t = t.substr(1, t.size() - 2);
      return ArgValue(t);
    case ArgType::Boolean:
      if (t == "true") return ArgValue(true);
      if (t == "false") return ArgValue(false);
      return std::nullopt;
    case ArgType::Integer: {
      int64_t i = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), i);
      if (ec != std::errc() || end != t.data() + t.size()) return std::nullopt;
      return ArgValue(i);
    }
    case ArgType::Number: {
      double d = 0;
      auto [end, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec != std::errc() || end != t.data() + t.size() || !std::isfinite(d)) return std::nullopt;
      return ArgValue(d);
    }
  }
  return std::nullopt;
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
      std::optional<ArgValue> v = arg_from_json(*it);
      if (!v) fail("call '", c.name, "': argument '", it.key(), "' must be a string, a number or a boolean");
      c.arguments[it.key()] = std::move(*v);
    }
  }
  return c;
}

Call call_from_json(const nlohmann::json& j, const DomainSchema& schema) { return canonical_call(schema, call_from_json(j)); }

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
