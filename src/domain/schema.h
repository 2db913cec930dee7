#pragma once
// A device's function schema: its functions and their typed arguments, loaded
// from a domain folder's functions.toml (see docs/DOMAIN_FORMAT.md), and the
// function call value that data generation, decoding, the simulator and the
// evaluation all exchange.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgelm {

// An argument's value: a string (enum value or free text), an integer, a
// number or a boolean. A number is stored as a double with at most
// kNumberDecimals decimals, so that its text form is exact.
using ArgValue = std::variant<std::string, int64_t, double, bool>;

enum class ArgType { Enum, Integer, Number, Boolean, String };
const char* arg_type_name(ArgType t);  // "enum", "integer", "number", "boolean", "string"

inline constexpr int kNumberDecimals = 3;
inline constexpr int64_t kDefaultStringMaxLength = 32;

struct ArgumentSpec {
  std::string name;
  ArgType type = ArgType::Enum;
  std::vector<std::string> values;  // Enum: the allowed values, in declared order
  int64_t min = 0, max = 0;         // Integer: the inclusive range
  double min_number = 0, max_number = 0;  // Number: the inclusive range
  int64_t max_length = kDefaultStringMaxLength;  // String: at most this many characters (code points)
  bool optional = false;            // may be left out of a call (a partial call)
  // Integer: the value is a number the command says ("set a timer for 30 minutes"), never one
  // computed from the device's state: when the command holds numbers in the argument's range,
  // decoding chooses among them (AnswerConstraint). Off for values a command implies
  // ("two degrees warmer" from the current setting).
  bool from_command = false;
  std::optional<ArgValue> default_value;  // an optional argument's value when left out (none: it stays out)
  std::string description;
  bool accepts(const ArgValue& v) const;
  // Empty if `v` is a valid value, else why not ("74.5 is not an integer", "'x' is not one of on, off").
  std::string check(const ArgValue& v) const;
  bool operator==(const ArgumentSpec& other) const = default;
};

struct FunctionSpec {
  std::string name;
  std::string description;
  std::vector<ArgumentSpec> arguments;  // in declared order
  const ArgumentSpec* find_argument(const std::string& name) const;
  bool operator==(const FunctionSpec& other) const = default;
};

struct DomainSchema {
  std::string name;
  std::string description;
  std::vector<FunctionSpec> functions;
  // Values the device fills into a reply from its state ({pm25}, {status}),
  // declared in the domain's device.toml; empty for a schema read alone.
  std::vector<std::string> placeholders;
  const FunctionSpec* find(const std::string& name) const;
  size_t index_of(const std::string& name) const;  // functions.size() if absent
  bool operator==(const DomainSchema& other) const = default;
};

// Function and argument names: ASCII letters, digits and '_', not starting with a digit.
bool is_identifier(const std::string& s);

// Whether an enum value can be written in the agent format's compact call
// syntax, where ',' separates arguments, '{' '}' mark placeholders and '<|'
// starts a special token. kEnumValueRule says what is ruled out, for messages.
bool enum_value_writable(const std::string& value);
inline constexpr const char* kEnumValueRule = "no spaces, ',', '{', '}', '<|' or control characters";

struct Call {
  std::string name;
  std::map<std::string, ArgValue> arguments;  // by argument name
  bool operator==(const Call& other) const = default;
  auto operator<=>(const Call& other) const = default;
};

// Parses functions.toml; errors name the file, the line and the problem.
DomainSchema load_schema(const std::string& path);
DomainSchema parse_schema(const std::string& toml_text, const std::string& source_name);

// The built-in device the command line uses when none is named.
inline constexpr const char* kDefaultDomain = "air-purifier";

// The GGUF metadata key under which an agent model names the domain it was trained for.
inline constexpr const char* kModelDomainKey = "edgelm.domain";

// The folder of a built-in domain ("air-purifier"): $EDGELM_HOME/domains/NAME,
// else the source tree's domains/NAME. A path that exists is returned as is.
std::string resolve_domain_dir(const std::string& name_or_path);

// Empty if the call is valid for the schema, else the reason.
std::string validate_call(const DomainSchema& schema, const Call& call);
// The call with each value in its argument's type: an integral number for an
// integer argument becomes int64_t, an integer for a number argument double.
// Values that do not convert are left for validate_call to report.
Call canonical_call(const DomainSchema& schema, Call call);
// The call with every omitted optional argument set to its default.
Call with_defaults(const DomainSchema& schema, const Call& call);

// {"name": ..., "arguments": {...}} with integers and numbers as JSON numbers, booleans as true/false.
nlohmann::json call_to_json(const Call& call);
// Throws Error on a malformed call. With a schema, values are made canonical (canonical_call).
Call call_from_json(const nlohmann::json& j);
Call call_from_json(const nlohmann::json& j, const DomainSchema& schema);
std::string call_to_string(const Call& call);   // set_timer(minutes=90)
nlohmann::json arg_to_json(const ArgValue& v);
std::optional<ArgValue> arg_from_json(const nlohmann::json& j);  // none for arrays, objects and null
std::string arg_to_string(const ArgValue& v);   // "on" (quoted), 90, 21.5, true
std::string arg_text(const ArgValue& v);        // on (unquoted), 90, 21.5, true: keys, labels, state summaries
// A value of `a` as a domain file writes it (a literal call argument, a
// value-slot key): true / false, 72, 21.5, or text (quotes optional). None
// when the text is not of the argument's type; the range is not checked here.
std::optional<ArgValue> arg_from_text(const ArgumentSpec& a, std::string_view text);
// A number as the agent format writes it: at most kNumberDecimals decimals, no trailing zeros ("21.5", "-3", "0.125").
std::string number_text(double v);

}  // namespace edgelm
