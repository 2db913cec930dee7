#pragma once
// A device's function schema: its functions and their typed arguments, loaded
// from a domain folder's functions.toml (see docs/DOMAIN_FORMAT.md), and the
// function call value that data generation, decoding, the simulator and the
// evaluation all exchange.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgelm {

using ArgValue = std::variant<std::string, int64_t>;  // an enum value or an integer

enum class ArgType { Enum, Integer };

struct ArgumentSpec {
  std::string name;
  ArgType type = ArgType::Enum;
  std::vector<std::string> values;  // Enum: the allowed values, in declared order
  int64_t min = 0, max = 0;         // Integer: the inclusive range
  bool optional = false;
  std::optional<ArgValue> default_value;  // set when optional
  std::string description;
  bool accepts(const ArgValue& v) const;
};

struct FunctionSpec {
  std::string name;
  std::string description;
  std::vector<ArgumentSpec> arguments;  // in declared order
  const ArgumentSpec* find_argument(const std::string& name) const;
};

struct DomainSchema {
  std::string name;
  std::string description;
  std::vector<FunctionSpec> functions;
  const FunctionSpec* find(const std::string& name) const;
  size_t index_of(const std::string& name) const;  // functions.size() if absent
};

struct Call {
  std::string name;
  std::map<std::string, ArgValue> arguments;  // by argument name
  bool operator==(const Call& other) const = default;
  auto operator<=>(const Call& other) const = default;
};

// Parses functions.toml; errors name the file, the line and the problem.
DomainSchema load_schema(const std::string& path);
DomainSchema parse_schema(const std::string& toml_text, const std::string& source_name);

// The folder of a built-in domain ("air-purifier"): $EDGELM_HOME/domains/NAME,
// else the source tree's domains/NAME. A path that exists is returned as is.
std::string resolve_domain_dir(const std::string& name_or_path);

// Empty if the call is valid for the schema, else the reason.
std::string validate_call(const DomainSchema& schema, const Call& call);
// The call with every omitted optional argument set to its default.
Call with_defaults(const DomainSchema& schema, const Call& call);

// {"name": ..., "arguments": {...}} with integers as JSON numbers.
nlohmann::json call_to_json(const Call& call);
Call call_from_json(const nlohmann::json& j);  // throws Error on a malformed call
std::string call_to_string(const Call& call);   // set_timer(minutes=90)
nlohmann::json arg_to_json(const ArgValue& v);
std::string arg_to_string(const ArgValue& v);

}  // namespace edgelm
