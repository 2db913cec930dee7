#include "device/device.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include <toml++/toml.h>

#include "domain/language.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm {

const StateField* DeviceSpec::find_field(const std::string& name) const {
  for (const auto& f : fields)
    if (f.name == name) return &f;
  return nullptr;
}

const Placeholder* DeviceSpec::find_placeholder(const std::string& name) const {
  for (const auto& p : placeholders)
    if (p.name == name) return &p;
  return nullptr;
}

bool DeviceSpec::writes_state(const std::string& function) const {
  if (effects.empty()) return true;
  auto acts = [&](const FieldRef& r) { return !fields[r.field].reply_only; };
  for (const auto& e : effects) {
    if (e.function != function) continue;
    for (const auto& [r, v] : e.set)
      if (acts(r)) return true;
    for (const auto& [r, v] : e.step)
      if (acts(r)) return true;
    for (const auto& r : e.reset)
      if (acts(r)) return true;
  }
  return false;
}

DeviceSpec DeviceSpec::stateless(DomainSchema schema) {
  DeviceSpec d;
  d.schema = std::move(schema);
  return d;
}

namespace {

double numeric(const ArgValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return double(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return 0;
}

// A value of a field's type, or why not.
std::string check_field_value(const StateField& f, const ArgValue& v) {
  switch (f.type) {
    case ArgType::Enum:
      if (const auto* s = std::get_if<std::string>(&v); s && std::count(f.values.begin(), f.values.end(), *s)) return "";
      return cat(arg_text(v), " is not a value of ", f.name);
    case ArgType::Integer:
      return std::holds_alternative<int64_t>(v) ? "" : cat(arg_text(v), " is not an integer (", f.name, ")");
    case ArgType::Number:
      return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v)
                 ? ""
                 : cat(arg_text(v), " is not a number (", f.name, ")");
    case ArgType::Boolean:
      return std::holds_alternative<bool>(v) ? "" : cat(arg_text(v), " is not true or false (", f.name, ")");
    case ArgType::String:
      return std::holds_alternative<std::string>(v) ? "" : cat(arg_text(v), " is not a string (", f.name, ")");
  }
  return "unknown type";
}

ArgValue to_field_type(const StateField& f, ArgValue v) {
  if (f.type == ArgType::Number)
    if (const auto* i = std::get_if<int64_t>(&v)) return double(*i);
  return v;
}

std::optional<ArgValue> toml_value(const toml::node& n) {
  if (n.is_string()) return ArgValue(std::string(*n.value<std::string>()));
  if (n.is_integer()) return ArgValue(*n.value<int64_t>());
  if (n.is_floating_point()) return ArgValue(*n.value<double>());
  if (n.is_boolean()) return ArgValue(*n.value<bool>());
  return std::nullopt;
}

// "{name}" -> name, else empty.
std::string braced(const std::string& s) {
  if (s.size() > 2 && s.front() == '{' && s.back() == '}') return s.substr(1, s.size() - 2);
  return "";
}

// A table's entries in the order the file declares them (toml++ keeps keys
// sorted): placeholders become special tokens in this order, and state fields
// show in this order, as written.
std::vector<std::pair<std::string, const toml::node*>> in_file_order(const toml::table& t) {
  std::vector<std::pair<std::string, const toml::node*>> out;
  for (const auto& [k, v] : t) out.emplace_back(std::string(k.str()), &v);
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) {
    const auto &sa = a.second->source().begin, &sb = b.second->source().begin;
    return sa.line != sb.line ? sa.line < sb.line : sa.column < sb.column;
  });
  return out;
}

struct DeviceParser {
  const std::string& source;
  DeviceSpec& spec;

  [[noreturn]] void error(const toml::node& node, const std::string& msg) const {
    fail(source, " line ", node.source().begin.line, ": ", msg);
  }
  void check_keys(const toml::table& t, std::initializer_list<const char*> allowed, const char* what) const {
    for (const auto& [k, v] : t) {
      bool ok = false;
      for (const char* a : allowed) ok |= (k.str() == a);
      if (!ok) {
        std::string known;
        for (const char* a : allowed) known += (known.empty() ? "" : ", ") + std::string(a);
        error(v, cat("unknown key '", k.str(), "' in ", what, " (known: ", known, ")"));
      }
    }
  }

  StateField field(const std::string& name, const toml::node& node) const {
    const toml::table* t = node.as_table();
    if (!t) error(node, cat("state field '", name, "' must be a table ({ type = ..., initial = ... })"));
    check_keys(*t, {"type", "values", "min", "max", "keys", "initial", "reply_only"}, cat("state field '", name, "'").c_str());
    StateField f;
    f.name = name;
    const toml::node* type = t->get("type");
    if (!type || !type->is_string()) error(node, cat("state field '", name, "' needs a 'type'"));
    std::string ty(*type->value<std::string>());
    if (ty == "enum") f.type = ArgType::Enum;
    else if (ty == "integer") f.type = ArgType::Integer;
    else if (ty == "number") f.type = ArgType::Number;
    else if (ty == "boolean") f.type = ArgType::Boolean;
    else if (ty == "string") f.type = ArgType::String;
    else error(*type, cat("unknown type '", ty, "' (known: enum, integer, number, boolean, string)"));
    if (const toml::node* v = t->get("values")) {
      const toml::array* arr = v->as_array();
      if (f.type != ArgType::Enum || !arr || arr->empty()) error(*v, "'values' is a non-empty list, for an enum field");
      for (const auto& x : *arr) {
        if (!x.is_string()) error(x, "enum values are strings");
        std::string s(*x.value<std::string>());
        if (std::count(f.values.begin(), f.values.end(), s)) error(x, cat("value '", s, "' repeated"));
        f.values.push_back(s);
      }
    } else if (f.type == ArgType::Enum) {
      error(node, cat("enum field '", name, "' needs 'values'"));
    }
    for (const char* k : {"min", "max"})
      if (const toml::node* v = t->get(k)) {
        if (!v->is_number() || (f.type != ArgType::Integer && f.type != ArgType::Number))
          error(*v, cat("'", k, "' is a number, for an integer or number field"));
        double d = v->is_integer() ? double(*v->value<int64_t>()) : *v->value<double>();
        (std::string(k) == "min" ? f.min : f.max) = d;
      }
    if (f.min && f.max && *f.min > *f.max) error(node, cat("field '", name, "': min is above max"));
    if (const toml::node* v = t->get("keys")) {
      const toml::array* arr = v->as_array();
      if (!arr || arr->empty()) error(*v, "'keys' is a non-empty list of strings");
      for (const auto& x : *arr) {
        if (!x.is_string()) error(x, "keys are strings");
        std::string s(*x.value<std::string>());
        if (s.empty() || s == "*" || s.find('.') != std::string::npos) error(x, cat("key '", s, "' is empty or holds '.' or is '*'"));
        if (std::count(f.keys.begin(), f.keys.end(), s)) error(x, cat("key '", s, "' repeated"));
        f.keys.push_back(s);
      }
    }
    const toml::node* init = t->get("initial");
    if (!init) error(node, cat("state field '", name, "' needs an 'initial' value"));
    std::optional<ArgValue> v = toml_value(*init);
    if (!v) error(*init, "'initial' must be a string, a number or a boolean");
    f.initial = to_field_type(f, *v);
    if (std::string why = check_field_value(f, f.initial); !why.empty()) error(*init, why);
    if (const toml::node* r = t->get("reply_only")) {
      if (!r->is_boolean()) error(*r, "'reply_only' must be true or false");
      f.reply_only = *r->value<bool>();
    }
    return f;
  }

  // "lights.{room}", "lights.*", "lights.bedroom", "power"
  FieldRef field_ref(const std::string& text, const toml::node& where, const FunctionSpec& fn) const {
    FieldRef r;
    std::string name = text, key;
    if (size_t dot = text.find('.'); dot != std::string::npos) name = text.substr(0, dot), key = text.substr(dot + 1);
    const StateField* f = spec.find_field(name);
    if (!f) error(where, cat("unknown state field '", name, "'"));
    r.field = size_t(f - spec.fields.data());
    if (f->keys.empty()) {
      if (!key.empty()) error(where, cat("field '", name, "' has no keys"));
      return r;
    }
    if (key.empty()) error(where, cat("field '", name, "' is keyed: say ", name, ".KEY, ", name, ".{ARGUMENT} or ", name, ".*"));
    if (std::string arg = braced(key); !arg.empty()) {
      if (!fn.find_argument(arg)) error(where, cat(fn.name, " has no argument '", arg, "'"));
      r.key_arg = arg;
    } else if (key == "*" || std::count(f->keys.begin(), f->keys.end(), key)) {
      r.key = key;
    } else {
      error(where, cat("'", key, "' is not a key of ", name));
    }
    return r;
  }

  EffectValue effect_value(const toml::node& n, const StateField& f, const FunctionSpec& fn, bool is_step) const {
    EffectValue v;
    if (n.is_string()) {
      std::string s(*n.value<std::string>());
      if (std::string arg = braced(s); !arg.empty()) {
        const ArgumentSpec* a = fn.find_argument(arg);
        if (!a) error(n, cat(fn.name, " has no argument '", arg, "'"));
        if (is_step) error(n, "a step is a literal amount");
        bool compatible = a->type == f.type || (f.type == ArgType::Number && a->type == ArgType::Integer) ||
                          (f.type == ArgType::Enum && a->type == ArgType::String) ||
                          (f.type == ArgType::String && a->type == ArgType::Enum);
        if (!compatible)
          error(n, cat("argument '", arg, "' (", arg_type_name(a->type), ") cannot set field '", f.name, "' (",
                       arg_type_name(f.type), ")"));
        if (f.type == ArgType::Enum && a->type == ArgType::Enum)
          for (const auto& x : a->values)
            if (!std::count(f.values.begin(), f.values.end(), x))
              error(n, cat("value '", x, "' of argument '", arg, "' is not a value of field '", f.name, "'"));
        v.arg = arg;
        return v;
      }
    }
    std::optional<ArgValue> lit = toml_value(n);
    if (!lit) error(n, "a value is a string, a number, a boolean or \"{ARGUMENT}\"");
    if (is_step) {
      if (!std::holds_alternative<int64_t>(*lit) && !std::holds_alternative<double>(*lit))
        error(n, "a step is a number (+1, -1, 0.5)");
      if (f.type != ArgType::Enum && f.type != ArgType::Integer && f.type != ArgType::Number)
        error(n, cat("field '", f.name, "' cannot be stepped (enum, integer or number fields can)"));
      if (f.type != ArgType::Number && !std::holds_alternative<int64_t>(*lit)) error(n, "an enum or integer steps by whole numbers");
      v.literal = *lit;
      return v;
    }
    v.literal = to_field_type(f, *lit);
    if (std::string why = check_field_value(f, v.literal); !why.empty()) error(n, why);
    return v;
  }

  void assignments(const toml::node& node, const FunctionSpec& fn, bool is_step,
                   std::vector<std::pair<FieldRef, EffectValue>>& out) const {
    const toml::table* t = node.as_table();
    if (!t) error(node, "'set' and 'step' are tables: { field = value, ... }");
    for (const auto& [k, v] : *t) {
      FieldRef r = field_ref(std::string(k.str()), v, fn);
      out.emplace_back(r, effect_value(v, spec.fields[r.field], fn, is_step));
    }
  }

  std::vector<FieldRef> refs(const toml::node& node, const FunctionSpec& fn) const {
    const toml::array* arr = node.as_array();
    if (!arr) error(node, "'read' and 'reset' are lists of fields");
    std::vector<FieldRef> out;
    for (const auto& x : *arr) {
      if (!x.is_string()) error(x, "a field is a string");
      out.push_back(field_ref(std::string(*x.value<std::string>()), x, fn));
    }
    return out;
  }

  Effect effect(const toml::node& node) const {
    const toml::table* t = node.as_table();
    if (!t) error(node, "each [[effect]] is a table");
    check_keys(*t, {"function", "when", "set", "step", "reset", "read"}, "an effect");
    const toml::node* fn_node = t->get("function");
    if (!fn_node || !fn_node->is_string()) error(node, "an effect needs 'function'");
    Effect e;
    e.function = std::string(*fn_node->value<std::string>());
    e.line = int(node.source().begin.line);
    const FunctionSpec* fn = spec.schema.find(e.function);
    if (!fn) error(*fn_node, cat("unknown function '", e.function, "'"));
    if (const toml::node* w = t->get("when")) {
      const toml::table* wt = w->as_table();
      if (!wt) error(*w, "'when' is a table: { argument = value }");
      for (const auto& [k, v] : *wt) {
        const ArgumentSpec* a = fn->find_argument(std::string(k.str()));
        if (!a) error(v, cat(fn->name, " has no argument '", k.str(), "'"));
        std::optional<ArgValue> val = toml_value(v);
        if (!val) error(v, "a 'when' value is a string, a number or a boolean");
        if (a->type == ArgType::Number)
          if (const auto* i = std::get_if<int64_t>(&*val)) val = double(*i);
        if (std::string why = a->check(*val); !why.empty()) error(v, cat("when ", k.str(), ": ", why));
        e.when[std::string(k.str())] = *val;
      }
    }
    if (const toml::node* n = t->get("set")) assignments(*n, *fn, false, e.set);
    if (const toml::node* n = t->get("step")) assignments(*n, *fn, true, e.step);
    if (const toml::node* n = t->get("reset")) e.reset = refs(*n, *fn);
    if (const toml::node* n = t->get("read")) e.read = refs(*n, *fn);
    if (e.set.empty() && e.step.empty() && e.reset.empty() && e.read.empty())
      error(node, "an effect needs at least one of 'set', 'step', 'reset', 'read'");
    return e;
  }

  Placeholder placeholder(const std::string& name, const toml::node& node) const {
    const toml::table* t = node.as_table();
    if (!t) error(node, cat("placeholder '", name, "' must be a table"));
    check_keys(*t, {"field", "read", "bands", "above", "words"}, cat("placeholder '", name, "'").c_str());
    Placeholder p;
    p.name = name;
    if (name.empty() || name.find_first_of("{}<> ,\"") != std::string::npos)
      error(node, cat("placeholder name '", name, "' may not hold spaces, braces, quotes or commas"));
    const toml::node* field = t->get("field");
    const toml::node* read = t->get("read");
    if (!!field == !!read) error(node, cat("placeholder '", name, "' needs exactly one of 'field' or 'read = true'"));
    if (field) {
      if (!field->is_string()) error(*field, "'field' is a field name");
      static const FunctionSpec none;
      FieldRef r = field_ref(std::string(*field->value<std::string>()), *field, none);
      if (!spec.fields[r.field].keys.empty() && (r.key.empty() || r.key == "*"))
        error(*field, "a placeholder shows one value: name the key (field.KEY)");
      p.field = r;
    } else if (!read->is_boolean() || !*read->value<bool>()) {
      error(*read, "'read' is true: the values the last query read");
    }
    if (const toml::node* b = t->get("bands")) {
      const toml::array* arr = b->as_array();
      if (!arr || arr->empty()) error(*b, "'bands' is a list of [upper bound, label] pairs");
      for (const auto& x : *arr) {
        const toml::array* pair = x.as_array();
        if (!pair || pair->size() != 2 || !(*pair)[0].is_number() || !(*pair)[1].is_string())
          error(x, "a band is [upper bound, \"label\"]");
        double bound = (*pair)[0].is_integer() ? double(*(*pair)[0].value<int64_t>()) : *(*pair)[0].value<double>();
        if (!p.bands.empty() && bound <= p.bands.back().first) error(x, "band bounds must rise");
        p.bands.emplace_back(bound, std::string(*(*pair)[1].value<std::string>()));
      }
      const toml::node* above = t->get("above");
      if (!above || !above->is_string()) error(*b, "banded placeholder needs 'above' (the label past the last band)");
      p.above = std::string(*above->value<std::string>());
    }
    if (const toml::node* w = t->get("words")) {
      const toml::table* wt = w->as_table();
      if (!wt) error(*w, "'words' is a table: words.LANG = { value = \"words\" }");
      for (const auto& [lang, m] : *wt) {
        if (!find_language_info(lang.str()))
          error(m, cat("unknown language '", lang.str(), "' (known: ", known_language_codes(), ")"));
        const toml::table* mt = m.as_table();
        if (!mt) error(m, "words.LANG is a table: { value = \"words\" }");
        for (const auto& [k, v] : *mt) {
          if (!v.is_string()) error(v, "words are strings");
          p.words[std::string(lang.str())][std::string(k.str())] = std::string(*v.value<std::string>());
        }
      }
    }
    return p;
  }

  void parse(const toml::table& root) {
    check_keys(root, {"state", "effect", "placeholder"}, "device.toml");
    if (const toml::node* s = root.get("state")) {
      const toml::table* t = s->as_table();
      if (!t) error(*s, "[state] is a table of fields");
      for (const auto& [k, v] : in_file_order(*t)) spec.fields.push_back(field(k, *v));
    }
    if (const toml::node* e = root.get("effect")) {
      const toml::array* arr = e->as_array();
      if (!arr) error(*e, "effects are [[effect]] tables");
      for (const auto& x : *arr) spec.effects.push_back(effect(x));
    }
    if (const toml::node* p = root.get("placeholder")) {
      const toml::table* t = p->as_table();
      if (!t) error(*p, "[placeholder.NAME] tables");
      for (const auto& [k, v] : in_file_order(*t)) spec.placeholders.push_back(placeholder(k, *v));
    }
    for (const auto& p : spec.placeholders) {
      for (const auto& f : spec.schema.functions)
        if (f.find_argument(p.name))
          fail(source, ": placeholder '", p.name, "' has the name of an argument of ", f.name,
               " ({", p.name, "} already means that argument's value)");
      spec.schema.placeholders.push_back(p.name);
    }
  }
};

}  // namespace

DeviceSpec parse_device(DomainSchema schema, const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    fail(source, " line ", e.source().begin.line, ": ", e.description());
  }
  DeviceSpec spec;
  spec.schema = std::move(schema);
  spec.schema.placeholders.clear();
  DeviceParser{source, spec}.parse(root);
  return spec;
}

DeviceSpec load_device(const std::string& domain_dir) {
  namespace fs = std::filesystem;
  DomainSchema schema = load_schema((fs::path(domain_dir) / "functions.toml").string());
  fs::path device = fs::path(domain_dir) / "device.toml";
  if (!fs::exists(device)) return DeviceSpec::stateless(std::move(schema));
  return parse_device(std::move(schema), read_file(device.string()), device.string());
}

// ------------------------------------------------------------------- Device

Device::Device(std::shared_ptr<const DeviceSpec> spec) : spec_(std::move(spec)) {
  if (!spec_) fail("Device: no device description");
  reset();
}

void Device::reset() {
  values_.clear();
  for (const auto& f : spec_->fields) values_.emplace_back(f.n_slots(), f.initial);
  last_args_.clear();
  last_read_.clear();
}

std::string Device::slot_name(size_t field, size_t slot) const {
  const StateField& f = spec_->fields[field];
  return f.keys.empty() ? f.name : cat(f.name, ".", f.keys[slot]);
}

// The slots a reference names for this call. A key from an argument the call
// left out: every key when reading ("any light on?"), none when writing (the
// device asks which one; `missing` names the argument).
std::vector<size_t> Device::slots(const FieldRef& ref, const Call& call, bool for_read, std::string* missing) const {
  const StateField& f = spec_->fields[ref.field];
  std::vector<size_t> out;
  if (f.keys.empty()) return {0};
  auto all = [&] {
    for (size_t i = 0; i < f.keys.size(); ++i) out.push_back(i);
  };
  if (ref.key == "*") {
    all();
  } else if (!ref.key_arg.empty()) {
    auto it = call.arguments.find(ref.key_arg);
    if (it == call.arguments.end()) {
      if (for_read) all();
      else if (missing) *missing = ref.key_arg;
    } else {
      std::string key = arg_text(it->second);
      auto k = std::find(f.keys.begin(), f.keys.end(), key);
      if (k != f.keys.end()) out.push_back(size_t(k - f.keys.begin()));
    }
  } else {
    out.push_back(size_t(std::find(f.keys.begin(), f.keys.end(), ref.key) - f.keys.begin()));
  }
  return out;
}

Execution Device::execute(const Call& raw_call) {
  const DomainSchema& schema = spec_->schema;
  Call canonical = canonical_call(schema, raw_call);
  if (std::string why = validate_call(schema, canonical); !why.empty())
    fail("device '", schema.name, "' cannot execute ", call_to_string(raw_call), ": ", why);
  Call call = with_defaults(schema, canonical);

  Execution ex;
  std::vector<std::vector<ArgValue>> next = values_;
  std::vector<std::string> changes;
  std::vector<std::pair<size_t, size_t>> reads;
  std::set<std::string> missing;
  bool queried = false;
  auto write = [&](size_t field, size_t slot, ArgValue v) {
    if (next[field][slot] == v) return;
    next[field][slot] = std::move(v);
    changes.push_back(slot_name(field, slot));
  };

  for (const Effect& e : spec_->effects) {
    if (e.function != call.name) continue;
    bool applies = true;
    for (const auto& [arg, v] : e.when) {
      auto it = call.arguments.find(arg);
      applies &= it != call.arguments.end() && it->second == v;
    }
    if (!applies) continue;
    // An effect needs the arguments a partial call left out only when it
    // could apply none of its argument-dependent assignments: a thermostat
    // call with a mode and no temperature is complete, a light switch
    // without a room is not.
    std::set<std::string> needs;
    bool used_argument = false;
    auto note = [&](const FieldRef& ref, const std::string& need, bool from_argument, bool wrote) {
      if (!need.empty()) needs.insert(need);
      used_argument |= wrote && (from_argument || !ref.key_arg.empty());
    };
    for (const auto& [ref, value] : e.set) {
      std::string need;
      std::vector<size_t> where = slots(ref, call, false, &need);
      const StateField& f = spec_->fields[ref.field];
      ArgValue v = value.literal;
      if (!value.arg.empty()) {
        auto it = call.arguments.find(value.arg);
        if (it == call.arguments.end()) {
          needs.insert(value.arg);
          if (!need.empty()) needs.insert(need);
          continue;
        }
        v = to_field_type(f, it->second);
        if (!check_field_value(f, v).empty()) continue;  // a free-text value the field does not have
      }
      note(ref, need, !value.arg.empty(), !where.empty());
      for (size_t s : where) write(ref.field, s, v);
    }
    for (const auto& [ref, amount] : e.step) {
      std::string need;
      std::vector<size_t> where = slots(ref, call, false, &need);
      note(ref, need, false, !where.empty());
      const StateField& f = spec_->fields[ref.field];
      for (size_t s : where) {
        const ArgValue& cur = next[ref.field][s];
        if (f.type == ArgType::Enum) {
          auto it = std::find(f.values.begin(), f.values.end(), std::get<std::string>(cur));
          int64_t i = int64_t(it - f.values.begin()) + std::get<int64_t>(amount.literal);
          write(ref.field, s, f.values[size_t(std::clamp<int64_t>(i, 0, int64_t(f.values.size()) - 1))]);
        } else {
          double x = numeric(cur) + numeric(amount.literal);
          if (f.min) x = std::max(x, *f.min);
          if (f.max) x = std::min(x, *f.max);
          write(ref.field, s, f.type == ArgType::Integer ? ArgValue(int64_t(std::llround(x))) : ArgValue(x));
        }
      }
    }
    for (const auto& ref : e.reset) {
      std::string need;
      std::vector<size_t> where = slots(ref, call, false, &need);
      note(ref, need, false, !where.empty());
      for (size_t s : where) write(ref.field, s, spec_->fields[ref.field].initial);
    }
    if (!used_argument) missing.insert(needs.begin(), needs.end());
    queried |= !e.read.empty();
    for (const auto& ref : e.read)
      for (size_t s : slots(ref, call, true, nullptr)) reads.emplace_back(ref.field, s);
  }

  values_ = std::move(next);
  for (const auto& [name, value] : call.arguments) last_args_[name] = value;
  if (queried) last_read_ = reads;

  std::string summary;
  for (const auto& name : changes) {
    size_t dot = name.find('.');
    const StateField* f = spec_->find_field(name.substr(0, dot));
    size_t slot = dot == std::string::npos ? 0
                                           : size_t(std::find(f->keys.begin(), f->keys.end(), name.substr(dot + 1)) -
                                                    f->keys.begin());
    summary += (summary.empty() ? "" : ", ") + name + " " + arg_text(values_[size_t(f - spec_->fields.data())][slot]);
  }
  for (const auto& [f, s] : reads)
    summary += (summary.empty() ? "" : ", ") + slot_name(f, s) + " " + arg_text(values_[f][s]);
  if (!missing.empty()) {
    ex.missing.assign(missing.begin(), missing.end());
    std::string names;
    for (const auto& m : ex.missing) names += (names.empty() ? "" : ", ") + m;
    summary += (summary.empty() ? "" : "; ") + cat("needs ", names);
  }
  if (summary.empty()) summary = "no change";
  ex.summary = summary;
  ex.changed = !changes.empty();
  return ex;
}

const ArgValue& Device::value(const std::string& field, const std::string& key) const {
  const StateField* f = spec_->find_field(field);
  if (!f) fail("device '", schema().name, "' has no state field '", field, "'");
  size_t i = size_t(f - spec_->fields.data());
  if (f->keys.empty()) return values_[i][0];
  auto k = std::find(f->keys.begin(), f->keys.end(), key);
  if (k == f->keys.end()) fail("field '", field, "' has no key '", key, "'");
  return values_[i][size_t(k - f->keys.begin())];
}

std::string Device::fill_placeholders(const std::string& reply, const std::string& lang_in) const {
  std::vector<std::string> codes;
  for (const auto& l : known_languages()) codes.push_back(l.code);
  std::string lang = lang_in;
  if (lang.empty()) {  // the reply's language, from its text without the {placeholders}
    std::string text;
    for (size_t i = 0; i < reply.size(); ++i) {
      size_t close = reply[i] == '{' ? reply.find('}', i) : std::string::npos;
      if (close != std::string::npos) i = close;
      else text += reply[i];
    }
    lang = language_of_text(text, codes);
  }
  auto say = [&](const Placeholder& p, const std::string& v) {
    auto w = p.words.find(lang);
    if (w == p.words.end()) return v;
    auto it = w->second.find(v);
    return it == w->second.end() ? v : it->second;
  };
  auto placeholder_text = [&](const Placeholder& p) -> std::string {
    auto one = [&](size_t field, size_t slot) {
      const ArgValue& v = values_[field][slot];
      if (p.bands.empty()) return say(p, arg_text(v));
      double x = numeric(v);
      for (const auto& [bound, label] : p.bands)
        if (x <= bound) return say(p, label);
      return say(p, p.above);
    };
    if (p.field) {
      const StateField& f = spec_->fields[p.field->field];
      size_t slot = f.keys.empty() ? 0 : size_t(std::find(f.keys.begin(), f.keys.end(), p.field->key) - f.keys.begin());
      return one(p.field->field, slot);
    }
    // The last query's values: one value alone, several as "key value" pairs.
    if (last_read_.empty()) return say(p, "unknown");
    if (last_read_.size() == 1) return one(last_read_[0].first, last_read_[0].second);
    std::string s;
    for (const auto& [f, slot] : last_read_) {
      const StateField& field = spec_->fields[f];
      std::string label = field.keys.empty() ? field.name : field.keys[slot];
      s += (s.empty() ? "" : ", ") + say(p, label) + " " + one(f, slot);
    }
    return s;
  };

  std::string out;
  size_t pos = 0;
  while (pos < reply.size()) {
    size_t open = reply.find('{', pos);
    size_t close = open == std::string::npos ? std::string::npos : reply.find('}', open);
    if (close == std::string::npos) {
      out += reply.substr(pos);
      break;
    }
    out += reply.substr(pos, open - pos);
    std::string name = reply.substr(open + 1, close - open - 1);
    if (const Placeholder* p = spec_->find_placeholder(name)) out += placeholder_text(*p);
    else if (auto it = last_args_.find(name); it != last_args_.end()) out += arg_text(it->second);
    else out += reply.substr(open, close - open + 1);
    pos = close + 1;
  }
  return out;
}

nlohmann::json Device::state_json() const {
  nlohmann::json j = nlohmann::json::object();
  for (size_t i = 0; i < spec_->fields.size(); ++i) {
    const StateField& f = spec_->fields[i];
    if (f.keys.empty()) {
      j[f.name] = arg_to_json(values_[i][0]);
    } else {
      nlohmann::json m = nlohmann::json::object();
      for (size_t k = 0; k < f.keys.size(); ++k) m[f.keys[k]] = arg_to_json(values_[i][k]);
      j[f.name] = m;
    }
  }
  return j;
}

std::string domain_dir_for_model(const std::string& domain, const std::string& model_path) {
  std::string named;
  if (!model_path.empty()) {
    GgufFile file = GgufFile::open(model_path);
    if (const GgufValue* v = file.metadata().find(kModelDomainKey)) named = v->as_string(kModelDomainKey);
  }
  if (domain.empty()) return resolve_domain_dir(named.empty() ? kDefaultDomain : named);
  const std::string dir = resolve_domain_dir(domain);
  if (!named.empty()) {
    const std::string given = load_schema(dir + "/functions.toml").name;
    if (given != named)
      fail("model '", model_path, "' was trained for the domain '", named, "', not '", given, "' (", dir,
           "): leave out --domain, or give that domain's folder");
  }
  return dir;
}

}  // namespace edgelm
