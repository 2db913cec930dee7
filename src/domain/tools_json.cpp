#include "domain/tools_json.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <optional>

#include "platform/error.h"

namespace edgelm {

namespace {

// edgelm's own keyword on an integer property: ArgumentSpec::from_command (JSON Schema
// ignores keywords it does not know, so other tools still read the file).
constexpr const char* kFromCommandKey = "x-edgelm-from-command";

using ojson = nlohmann::ordered_json;

// A string as JSON writes it, for messages; the replacement handler keeps a
// message from throwing on bytes that are not UTF-8.
std::string json_quoted(const std::string& s) { return ojson(s).dump(-1, ' ', false, ojson::error_handler_t::replace); }

// A JSON value for a message. Only scalars are written out: a list or an
// object may be nested deeply enough to exhaust the stack of a recursive dump.
std::string value_text(const ojson& j) {
  if (j.is_string()) return json_quoted(j.get<std::string>());
  if (j.is_number() || j.is_boolean()) return j.dump();
  if (j.is_null()) return "null";
  return j.is_array() ? "a list" : "an object";
}

// $.tools[0].function.parameters.properties.room, or ...properties["fan speed"].
std::string key_path(const std::string& parent, const std::string& key) {
  return is_identifier(key) ? cat(parent, ".", key) : cat(parent, "[", json_quoted(key), "]");
}

const ojson* member(const ojson& object, const char* key) {
  auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

// JSON Schema keywords that constrain a value in a way the device format
// cannot, each with what to tell the user.
constexpr std::pair<const char*, const char*> kUnsupportedKeywords[] = {
    {"anyOf", "anyOf is not supported"},
    {"oneOf", "oneOf is not supported"},
    {"allOf", "allOf is not supported"},
    {"not", "not is not supported"},
    {"$ref", "$ref is not supported (inline the definition)"},
    {"if", "if/then/else is not supported"},
    {"const", "const is not supported (use a one-value enum)"},
    {"pattern", "pattern is not supported"},
    {"format", "format is not supported"},
    {"properties", "nested objects are not supported"},
    {"patternProperties", "nested objects are not supported"},
    {"items", "arrays are not supported"},
    {"prefixItems", "arrays are not supported"},
};

// Reads the parsed tools list; every error names the source and a JSON path.
struct ToolsReader {
  const std::string& source;

  [[noreturn]] void error(const std::string& path, const std::string& message) const {
    fail(source, ": ", path, ": ", message);
  }

  std::string string_member(const ojson& object, const char* key, const std::string& path) const {
    const ojson* j = member(object, key);
    if (!j) return "";
    if (!j->is_string()) error(cat(path, ".", key), cat("must be a string, not ", value_text(*j)));
    return j->get<std::string>();
  }

  // A bound as a double, rejecting what is not a finite number.
  double number_value(const ojson& j, const std::string& path, const char* key) const {
    if (!j.is_number()) error(path, cat(key, " must be a number, not ", value_text(j)));
    double v = j.get<double>();
    if (!std::isfinite(v)) error(path, cat(key, " ", value_text(j), " is not a finite number"));
    return v;
  }

  // The inclusive bounds of an integer or number argument. An exclusive bound
  // converts exactly on the grid of the argument's values (steps of 1 / scale:
  // 1 for an integer, 10^-kNumberDecimals for a number): exclusiveMinimum 0 is
  // minimum 1 for an integer, 0.001 for a number.
  void bounds(const ojson& p, const std::string& path, double scale, std::optional<double>& lo,
              std::optional<double>& hi) const {
    auto on_grid_above = [&](double x) {  // the least grid value above x
      double scaled = x * scale, r = std::round(scaled);
      return (std::fabs(scaled - r) <= 1e-9 * std::max(1.0, std::fabs(scaled)) ? r + 1 : std::ceil(scaled)) / scale;
    };
    auto on_grid_below = [&](double x) { return -on_grid_above(-x); };
    if (const ojson* m = member(p, "minimum")) lo = number_value(*m, path, "minimum");
    if (const ojson* m = member(p, "maximum")) hi = number_value(*m, path, "maximum");
    for (auto [key, is_min] : {std::pair{"exclusiveMinimum", true}, std::pair{"exclusiveMaximum", false}}) {
      const ojson* e = member(p, key);
      if (!e) continue;
      std::optional<double>& bound = is_min ? lo : hi;
      if (e->is_boolean()) {  // draft 4: a flag on minimum / maximum
        if (!e->get<bool>()) continue;
        if (!bound) error(path, cat(key, " true needs ", is_min ? "minimum" : "maximum"));
        bound = is_min ? on_grid_above(*bound) : on_grid_below(*bound);
        continue;
      }
      double x = number_value(*e, path, key);
      if (std::fabs(x) > 1e15) error(path, cat(key, " ", value_text(*e), " is out of range"));
      double inclusive = is_min ? on_grid_above(x) : on_grid_below(x);
      bound = !bound ? inclusive : is_min ? std::max(*bound, inclusive) : std::min(*bound, inclusive);
    }
    if (scale == 1) {  // an integer argument's bounds need not be integers: minimum 0.5 is 1
      if (lo && std::fabs(*lo) < 1e15) lo = std::ceil(*lo);
      if (hi && std::fabs(*hi) < 1e15) hi = std::floor(*hi);
    }
  }

  ArgumentSpec argument(const std::string& name, const ojson& p, const std::string& path, bool required) const {
    ArgumentSpec a;
    a.name = name;
    if (!is_identifier(name))
      error(path, cat("argument name ", json_quoted(name), " is not an identifier (letters, digits and '_', not starting with a digit)"));
    if (!p.is_object()) error(path, cat("must be a JSON Schema object, not ", value_text(p)));
    for (const auto& [keyword, message] : kUnsupportedKeywords)
      if (p.contains(keyword)) error(path, message);
    if (const ojson* n = member(p, "nullable"); n && !(n->is_boolean() && !n->get<bool>()))
      error(path, "nullable is not supported");
    a.description = string_member(p, "description", path);
    a.optional = !required;

    // The type: a string, a one-element list, or (with a string enum) left out.
    std::string type;
    if (const ojson* t = member(p, "type")) {
      const ojson* one = t;
      if (t->is_array()) {
        if (t->size() != 1) error(path, "type lists are not supported (one type per argument)");
        one = &(*t)[0];
      }
      if (!one->is_string()) error(path, cat("type must be a string, not ", value_text(*one)));
      type = one->get<std::string>();
    } else if (!p.contains("enum")) {
      error(path, "missing \"type\"");
    }
    if (type == "object") error(path, "nested objects are not supported");
    if (type == "array") error(path, "arrays are not supported");
    if (type == "null") error(path, "null arguments are not supported");

    if (const ojson* e = member(p, "enum")) {
      if (!type.empty() && type != "string") error(path, cat("enums of non-strings are not supported (type \"", type, "\")"));
      if (!e->is_array() || e->empty()) error(cat(path, ".enum"), "must be a non-empty list");
      a.type = ArgType::Enum;
      for (size_t i = 0; i < e->size(); ++i) {
        const ojson& v = (*e)[i];
        std::string vpath = cat(path, ".enum[", i, "]");
        if (!v.is_string()) error(vpath, cat("enums of non-strings are not supported (", value_text(v), ")"));
        std::string s = v.get<std::string>();
        if (!enum_value_writable(s))
          error(vpath, cat("enum value ", json_quoted(s), " cannot be written in the agent format (", kEnumValueRule, ")"));
        if (std::find(a.values.begin(), a.values.end(), s) != a.values.end())
          error(vpath, cat("enum value ", json_quoted(s), " repeated"));
        a.values.push_back(std::move(s));
      }
    } else if (type == "integer" || type == "number") {
      bool integer = type == "integer";
      if (const ojson* m = member(p, "multipleOf"); m && !(integer && m->is_number() && m->get<double>() == 1))
        error(path, "multipleOf is not supported (the device format has no step)");
      std::optional<double> lo, hi;
      bounds(p, path, integer ? 1 : std::pow(10.0, kNumberDecimals), lo, hi);
      if (!lo || !hi)
        error(path, cat(integer ? "an " : "a ", type, " argument needs \"minimum\" and \"maximum\" (the device format needs a range)"));
      if (*lo > *hi) error(path, cat("empty range: minimum ", *lo, " is above maximum ", *hi));
      if (integer) {
        if (*lo < -999999999999.0 || *hi > 999999999999.0)
          error(path, "the range must lie within -999999999999..999999999999");
        a.type = ArgType::Integer;
        a.min = int64_t(*lo), a.max = int64_t(*hi);
        if (const ojson* m = member(p, kFromCommandKey)) {
          if (!m->is_boolean()) error(path, cat(kFromCommandKey, " must be true or false"));
          a.from_command = m->get<bool>();
        }
      } else {
        if (std::fabs(*lo) > 1e12 || std::fabs(*hi) > 1e12) error(path, "the range must lie within -1e12..1e12");
        a.type = ArgType::Number;
        a.min_number = *lo, a.max_number = *hi;
      }
    } else if (type == "boolean") {
      a.type = ArgType::Boolean;
    } else if (type == "string") {
      a.type = ArgType::String;
      if (const ojson* m = member(p, "maxLength")) {
        if (!m->is_number_integer() || m->get<int64_t>() < 1 || m->get<int64_t>() > 256)
          error(path, cat("maxLength ", value_text(*m), " is outside 1..256, the lengths the device format allows"));
        a.max_length = m->get<int64_t>();
      }
      if (const ojson* m = member(p, "minLength"); m && !(m->is_number_integer() && m->get<int64_t>() <= 1))
        error(path, "minLength above 1 is not supported");
    } else {
      error(path, cat("unknown type ", json_quoted(type), " (known: string, integer, number, boolean)"));
    }

    if (member(p, kFromCommandKey) && a.type != ArgType::Integer)
      error(path, cat(kFromCommandKey, " applies to integer properties only"));
    if (const ojson* d = member(p, "default")) {
      if (required)
        error(path, "a required argument with a default is not supported (the device format keeps defaults for optional arguments)");
      std::optional<ArgValue> v;
      if (d->is_string()) v = d->get<std::string>();
      else if (d->is_boolean()) v = d->get<bool>();
      else if (d->is_number() && a.type == ArgType::Number) v = d->get<double>();
      else if (d->is_number() && std::fabs(d->get<double>()) < 1e15 && d->get<double>() == std::floor(d->get<double>()))
        v = int64_t(d->get<double>());
      else if (d->is_number()) v = d->get<double>();
      if (!v) error(path, cat("default ", value_text(*d), " is not a string, a number or a boolean"));
      if (std::string why = a.check(*v); !why.empty()) error(path, cat("default ", value_text(*d), ": ", why));
      a.default_value = std::move(v);
    }
    return a;
  }

  FunctionSpec function(const ojson& item, const std::string& path) const {
    if (!item.is_object()) error(path, cat("a tool must be an object, not ", value_text(item)));
    const ojson* f = &item;
    std::string fpath = path;
    const ojson* type = member(item, "type");
    if (type && !(type->is_string() && type->get<std::string>() == "function"))
      error(cat(path, ".type"), cat("only \"function\" tools are supported, not ", value_text(*type)));
    if (const ojson* wrapped = member(item, "function")) {
      f = wrapped;
      fpath = cat(path, ".function");
      if (!f->is_object()) error(fpath, cat("must be an object, not ", value_text(*f)));
    } else if (type) {
      error(path, "missing \"function\"");
    }

    FunctionSpec fn;
    const ojson* name = member(*f, "name");
    if (!name) error(fpath, "missing \"name\"");
    fn.name = string_member(*f, "name", fpath);
    if (!is_identifier(fn.name))
      error(cat(fpath, ".name"), cat(json_quoted(fn.name), " is not an identifier (letters, digits and '_', not starting with a digit)"));
    fn.description = string_member(*f, "description", fpath);

    const ojson* params = member(*f, "parameters");
    if (!params || params->is_null()) return fn;  // no arguments
    std::string ppath = cat(fpath, ".parameters");
    if (!params->is_object()) error(ppath, cat("must be a JSON Schema object, not ", value_text(*params)));
    for (const auto& [keyword, message] : kUnsupportedKeywords)
      if (std::string_view(keyword) != "properties" && params->contains(keyword)) error(ppath, message);
    if (const ojson* t = member(*params, "type"); t && !(t->is_string() && t->get<std::string>() == "object"))
      error(ppath, cat("parameters must have type \"object\", not ", value_text(*t)));
    const ojson* props = member(*params, "properties");
    if (props && !props->is_object()) error(cat(ppath, ".properties"), cat("must be an object, not ", value_text(*props)));

    std::vector<std::string> required;
    if (const ojson* r = member(*params, "required")) {
      if (!r->is_array()) error(cat(ppath, ".required"), cat("must be a list of names, not ", value_text(*r)));
      for (size_t i = 0; i < r->size(); ++i) {
        const ojson& n = (*r)[i];
        std::string rpath = cat(ppath, ".required[", i, "]");
        if (!n.is_string()) error(rpath, cat("must be a property name, not ", value_text(n)));
        if (!props || !props->contains(n.get<std::string>())) error(rpath, cat(value_text(n), " is not a property"));
        required.push_back(n.get<std::string>());
      }
    }
    if (props)
      for (auto it = props->begin(); it != props->end(); ++it) {
        bool is_required = std::find(required.begin(), required.end(), it.key()) != required.end();
        fn.arguments.push_back(argument(it.key(), it.value(), key_path(cat(ppath, ".properties"), it.key()), is_required));
      }
    return fn;
  }

  DomainSchema read(const ojson& root) const {
    const ojson* list = &root;
    std::string path = "$";
    if (const ojson* tools = root.is_object() ? member(root, "tools") : nullptr) {
      list = tools;
      path = "$.tools";
    } else if (!root.is_array()) {
      error("$", "expected a list of tools or an object with a \"tools\" list");
    }
    if (!list->is_array()) error(path, cat("must be a list of tools, not ", value_text(*list)));
    if (list->empty()) error(path, "no tools");
    DomainSchema schema;
    std::map<std::string, std::string> first_path;  // function name -> where it was defined
    for (size_t i = 0; i < list->size(); ++i) {
      std::string ipath = cat(path, "[", i, "]");
      FunctionSpec fn = function((*list)[i], ipath);
      auto [it, fresh] = first_path.emplace(fn.name, ipath);
      if (!fresh) error(ipath, cat("function ", json_quoted(fn.name), " is already defined at ", it->second));
      schema.functions.push_back(std::move(fn));
    }
    return schema;
  }
};

// A TOML basic string: quotes, backslashes and control characters escaped.
std::string toml_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04X", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out + '"';
}

// The shortest text that reads back as the same double, always a TOML float.
std::string toml_float(double v) {
  char buf[64];
  auto end = std::to_chars(buf, buf + sizeof buf, v).ptr;
  std::string s(buf, end);
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

std::string toml_value(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return toml_string(*s);
  if (const auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&v)) return toml_float(*d);
  return std::get<bool>(v) ? "true" : "false";
}

ojson value_json(const ArgValue& v) {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* i = std::get_if<int64_t>(&v)) return *i;
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::get<bool>(v);
}

}  // namespace

DomainSchema schema_from_tools_json(const std::string& text, const std::string& source) {
  ojson root;
  try {
    root = ojson::parse(text);
  } catch (const nlohmann::json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 3, column 5: ..." without the bracketed id;
    // a number too large for a double is an out_of_range error ("number overflow parsing '1e400'").
    std::string what = e.what();
    if (size_t close = what.find("] "); what.starts_with("[json.exception") && close != std::string::npos)
      what = what.substr(close + 2);
    fail(source, ": invalid JSON: ", what);
  }
  try {
    return ToolsReader{source}.read(root);
  } catch (const nlohmann::json::exception& e) {
    // The reader checks every type before it converts, so this is a bug; still
    // the caller gets an Error naming the file rather than a library exception.
    fail(source, ": ", e.what());
  }
}

nlohmann::ordered_json schema_to_tools_json(const DomainSchema& schema) {
  ojson tools = ojson::array();
  for (const auto& f : schema.functions) {
    ojson properties = ojson::object(), required = ojson::array();
    for (const auto& a : f.arguments) {
      ojson p = ojson::object();
      switch (a.type) {
        case ArgType::Enum:
          p["type"] = "string";
          p["enum"] = a.values;
          break;
        case ArgType::Integer:
          p["type"] = "integer";
          p["minimum"] = a.min;
          p["maximum"] = a.max;
          if (a.from_command) p[kFromCommandKey] = true;
          break;
        case ArgType::Number:
          p["type"] = "number";
          p["minimum"] = a.min_number;
          p["maximum"] = a.max_number;
          break;
        case ArgType::Boolean: p["type"] = "boolean"; break;
        case ArgType::String:
          p["type"] = "string";
          p["maxLength"] = a.max_length;
          break;
      }
      if (!a.description.empty()) p["description"] = a.description;
      if (a.default_value) p["default"] = value_json(*a.default_value);
      properties[a.name] = std::move(p);
      if (!a.optional) required.push_back(a.name);
    }
    ojson parameters = ojson::object();
    parameters["type"] = "object";
    parameters["properties"] = std::move(properties);
    parameters["required"] = std::move(required);
    ojson fn = ojson::object();
    fn["name"] = f.name;
    if (!f.description.empty()) fn["description"] = f.description;
    fn["parameters"] = std::move(parameters);
    ojson tool = ojson::object();
    tool["type"] = "function";
    tool["function"] = std::move(fn);
    tools.push_back(std::move(tool));
  }
  return tools;
}

std::string schema_to_toml(const DomainSchema& schema) {
  std::string out = cat("domain = ", toml_string(schema.name), "\n");
  if (!schema.description.empty()) out += cat("description = ", toml_string(schema.description), "\n");
  for (const auto& f : schema.functions) {
    out += cat("\n[[function]]\nname = ", toml_string(f.name), "\n");
    if (!f.description.empty()) out += cat("description = ", toml_string(f.description), "\n");
    for (const auto& a : f.arguments) {
      out += cat("  [[function.argument]]\n  name = ", toml_string(a.name), "\n  type = \"", arg_type_name(a.type), "\"\n");
      switch (a.type) {
        case ArgType::Enum: {
          std::string values;
          for (const auto& v : a.values) values += cat(values.empty() ? "" : ", ", toml_string(v));
          out += cat("  values = [", values, "]\n");
          break;
        }
        case ArgType::Integer:
          out += cat("  min = ", a.min, "\n  max = ", a.max, "\n");
          if (a.from_command) out += "  from_command = true\n";
          break;
        case ArgType::Number:
          out += cat("  min = ", toml_float(a.min_number), "\n  max = ", toml_float(a.max_number), "\n");
          break;
        case ArgType::Boolean: break;
        case ArgType::String: out += cat("  max_length = ", a.max_length, "\n"); break;
      }
      if (a.optional) out += "  optional = true\n";
      if (a.default_value) out += cat("  default = ", toml_value(*a.default_value), "\n");
      if (!a.description.empty()) out += cat("  description = ", toml_string(a.description), "\n");
    }
  }
  return out;
}

}  // namespace edgelm
