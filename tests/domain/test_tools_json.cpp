// Tools lists (OpenAI-style JSON) to and from the domain schema: round trips,
// the accepted spellings, and one rejection per construct the device format
// cannot express. tests/fixtures/domain/smart-home.tools.json is a verbatim
// copy of the smart-home domain's tools list (shared/domain/smart-home.tools.json).
#include <gtest/gtest.h>

#include <string>

#include "domain/tools_json.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const std::string kToolsFixture = std::string(EDGELM_TEST_DIR) + "/fixtures/domain/smart-home.tools.json";

// Equal modulo key order: nlohmann::json keeps object keys sorted.
nlohmann::json unordered(const nlohmann::ordered_json& j) { return nlohmann::json::parse(j.dump()); }

std::string error_of(const std::string& text) {
  try {
    schema_from_tools_json(text, "t.json");
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A tools list with one function f whose only argument x has the schema `property`.
std::string with_property(const std::string& property, const std::string& extra = "") {
  return R"([{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"x": )" +
         property + "}" + extra + "}}}]";
}

// Every type, required and optional arguments, defaults and descriptions, in
// exactly the form schema_to_tools_json writes: it must come back unchanged.
const char* kCanonical = R"([
  {"type": "function", "function": {"name": "set_fan", "description": "Fan speed and oscillation.",
    "parameters": {"type": "object", "properties": {
      "speed": {"type": "string", "enum": ["low", "medium", "high"], "description": "How fast."},
      "oscillate": {"type": "boolean", "default": false},
      "minutes": {"type": "integer", "minimum": 1, "maximum": 720, "x-edgelm-from-command": true, "default": 30, "description": "Off after."},
      "target": {"type": "number", "minimum": -10.5, "maximum": 40.25, "description": "Degrees.", "default": 21.5},
      "label": {"type": "string", "maxLength": 12, "description": "Tab\tquote\" backslash\\ new\nline ünï 한"}
    }, "required": ["speed", "label"]}}},
  {"type": "function", "function": {"name": "reset",
    "parameters": {"type": "object", "properties": {}, "required": []}}}
])";

TEST(ToolsJson, ReadsTheSmartHomeFixture) {
  DomainSchema s = schema_from_tools_json(read_file(kToolsFixture), kToolsFixture);
  ASSERT_EQ(s.functions.size(), 6u);
  EXPECT_EQ(s.functions[0].name, "toggle_lights");
  EXPECT_EQ(s.functions[0].description, "Switch the lights of one room on or off.");
  const ArgumentSpec& room = s.functions[0].arguments[0];
  EXPECT_EQ(room.name, "room");
  EXPECT_EQ(room.type, ArgType::Enum);
  EXPECT_EQ(room.values.size(), 6u);
  EXPECT_TRUE(room.optional);  // "required": []
  EXPECT_EQ(room.description, "Which room.");
  const ArgumentSpec* temperature = s.find("set_thermostat")->find_argument("temperature");
  ASSERT_TRUE(temperature);
  EXPECT_EQ(temperature->type, ArgType::Integer);
  EXPECT_EQ(temperature->min, 60);
  EXPECT_EQ(temperature->max, 80);
  const ArgumentSpec* free_room = s.find("get_device_status")->find_argument("room");
  ASSERT_TRUE(free_room);
  EXPECT_EQ(free_room->type, ArgType::String);
  EXPECT_EQ(free_room->max_length, kDefaultStringMaxLength);
}

TEST(ToolsJson, CanonicalListRoundTripsExactly) {
  DomainSchema s = schema_from_tools_json(kCanonical, "canonical.json");
  ASSERT_EQ(s.functions.size(), 2u);
  const FunctionSpec& f = s.functions[0];
  ASSERT_EQ(f.arguments.size(), 5u);
  EXPECT_FALSE(f.arguments[0].optional);
  EXPECT_TRUE(f.arguments[1].optional);
  EXPECT_FALSE(f.arguments[4].optional);
  EXPECT_TRUE(f.arguments[2].from_command);
  EXPECT_EQ(f.arguments[1].default_value, ArgValue(false));
  EXPECT_EQ(f.arguments[2].default_value, ArgValue(int64_t(30)));
  EXPECT_EQ(f.arguments[3].type, ArgType::Number);
  EXPECT_EQ(f.arguments[3].min_number, -10.5);
  EXPECT_EQ(f.arguments[3].default_value, ArgValue(21.5));
  EXPECT_EQ(f.arguments[4].max_length, 12);
  EXPECT_EQ(unordered(schema_to_tools_json(s)), nlohmann::json::parse(kCanonical));
}

TEST(ToolsJson, SmartHomeRoundTripAddsOnlyTheDefaultMaxLength) {
  std::string text = read_file(kToolsFixture);
  DomainSchema s = schema_from_tools_json(text, kToolsFixture);
  nlohmann::json expected = nlohmann::json::parse(text);
  // A string without maxLength holds at most 32 characters on the device; the export says so.
  expected[3]["function"]["parameters"]["properties"]["room"]["maxLength"] = kDefaultStringMaxLength;
  EXPECT_EQ(unordered(schema_to_tools_json(s)), expected);
  // And the export reads back as the same schema.
  EXPECT_EQ(schema_from_tools_json(schema_to_tools_json(s).dump(), "export.json"), s);
}

TEST(ToolsJson, ArgumentOrderIsPropertyOrder) {
  DomainSchema s = schema_from_tools_json(
      R"([{"name": "f", "parameters": {"properties": {"zeta": {"type": "boolean"}, "alpha": {"type": "boolean"}}}}])", "t.json");
  ASSERT_EQ(s.functions[0].arguments.size(), 2u);
  EXPECT_EQ(s.functions[0].arguments[0].name, "zeta");
  std::string exported = schema_to_tools_json(s).dump();
  EXPECT_LT(exported.find("zeta"), exported.find("alpha"));
}

TEST(ToolsJson, SchemaToTomlReadsBackTheSameSchema) {
  for (const std::string& text : {std::string(kCanonical), read_file(kToolsFixture)}) {
    DomainSchema s = schema_from_tools_json(text, "t.json");
    s.name = "round-trip";
    s.description = "with \"quotes\", a \\ and a \x01 control";
    EXPECT_EQ(parse_schema(schema_to_toml(s), "functions.toml"), s) << schema_to_toml(s);
  }
}

TEST(ToolsJson, BuiltInDomainRoundTripsThroughJsonAndToml) {
  DomainSchema s = load_schema(resolve_domain_dir("air-purifier") + "/functions.toml");
  DomainSchema from_json = schema_from_tools_json(schema_to_tools_json(s).dump(2), "export.json");
  from_json.name = s.name, from_json.description = s.description;
  EXPECT_EQ(from_json, s);
  EXPECT_EQ(parse_schema(schema_to_toml(s), "functions.toml"), s);
}

TEST(ToolsJson, AcceptsBareFunctionsAndAToolsObject) {
  DomainSchema wrapped = schema_from_tools_json(with_property(R"({"type": "boolean"})"), "t.json");
  DomainSchema bare = schema_from_tools_json(
      R"([{"name": "f", "parameters": {"type": "object", "properties": {"x": {"type": "boolean"}}}}])", "t.json");
  DomainSchema object = schema_from_tools_json(cat(R"({"tools": )", with_property(R"({"type": "boolean"})"), "}"), "t.json");
  EXPECT_EQ(bare, wrapped);
  EXPECT_EQ(object, wrapped);
  // Some writers leave out "type": "function" but keep the wrapper.
  DomainSchema untyped = schema_from_tools_json(
      R"([{"function": {"name": "f", "parameters": {"properties": {"x": {"type": "boolean"}}}}}])", "t.json");
  EXPECT_EQ(untyped, wrapped);
}

TEST(ToolsJson, MissingParametersMeansNoArguments) {
  DomainSchema s = schema_from_tools_json(R"([{"type": "function", "function": {"name": "stop"}},
                                              {"type": "function", "function": {"name": "go", "parameters": null}}])",
                                          "t.json");
  ASSERT_EQ(s.functions.size(), 2u);
  EXPECT_TRUE(s.functions[0].arguments.empty());
  EXPECT_TRUE(s.functions[1].arguments.empty());
}

TEST(ToolsJson, ExclusiveBoundsBecomeInclusive) {
  auto arg = [](const std::string& property) {
    return schema_from_tools_json(with_property(property, R"(, "required": ["x"])"), "t.json").functions[0].arguments[0];
  };
  ArgumentSpec i = arg(R"({"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10})");
  EXPECT_EQ(i.min, 1);
  EXPECT_EQ(i.max, 9);
  ArgumentSpec fractional = arg(R"({"type": "integer", "minimum": 0.5, "exclusiveMaximum": 9.5})");
  EXPECT_EQ(fractional.min, 1);
  EXPECT_EQ(fractional.max, 9);
  ArgumentSpec draft4 = arg(R"({"type": "integer", "minimum": 0, "exclusiveMinimum": true, "maximum": 5, "exclusiveMaximum": false})");
  EXPECT_EQ(draft4.min, 1);
  EXPECT_EQ(draft4.max, 5);
  ArgumentSpec draft4_fractional = arg(R"({"type": "integer", "minimum": 0.5, "exclusiveMinimum": true, "maximum": 5})");
  EXPECT_EQ(draft4_fractional.min, 1);
  ArgumentSpec both = arg(R"({"type": "integer", "minimum": 3, "exclusiveMinimum": 0, "maximum": 5})");
  EXPECT_EQ(both.min, 3);  // the tighter bound wins
  // A number's values have at most kNumberDecimals decimals: the next one is 0.001 away.
  ArgumentSpec n = arg(R"({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1.1})");
  EXPECT_EQ(n.min_number, 0.001);
  EXPECT_EQ(n.max_number, 1.099);
  ArgumentSpec step = arg(R"({"type": "integer", "minimum": 1, "maximum": 9, "multipleOf": 1})");
  EXPECT_EQ(step.max, 9);
}

TEST(ToolsJson, TypeCanBeOneElementListOrLeftOutForAnEnum) {
  ArgumentSpec listed = schema_from_tools_json(with_property(R"({"type": ["boolean"]})"), "t.json").functions[0].arguments[0];
  EXPECT_EQ(listed.type, ArgType::Boolean);
  ArgumentSpec untyped = schema_from_tools_json(with_property(R"({"enum": ["a", "b"]})"), "t.json").functions[0].arguments[0];
  EXPECT_EQ(untyped.type, ArgType::Enum);
  EXPECT_EQ(untyped.values, (std::vector<std::string>{"a", "b"}));
}

TEST(ToolsJson, AnnotationsAreIgnored) {
  ArgumentSpec a = schema_from_tools_json(
      with_property(R"({"type": "string", "title": "X", "examples": ["a"], "minLength": 1, "nullable": false, "x-vendor": 1})"),
      "t.json").functions[0].arguments[0];
  EXPECT_EQ(a.type, ArgType::String);
}

// --- rejections: each names the file, the JSON path and the construct ---

struct Rejection {
  const char* name;
  std::string json;
  std::string message;  // the whole message
};

const std::string kX = "t.json: $[0].function.parameters.properties.x: ";

std::vector<Rejection> rejections() {
  return {
      {"nested_object", with_property(R"({"type": "object", "properties": {"a": {"type": "string"}}})"),
       kX + "nested objects are not supported"},
      {"object_without_properties", with_property(R"({"type": "object"})"), kX + "nested objects are not supported"},
      {"array", with_property(R"({"type": "array", "items": {"type": "string"}})"), kX + "arrays are not supported"},
      {"array_without_items", with_property(R"({"type": "array"})"), kX + "arrays are not supported"},
      {"any_of", with_property(R"({"anyOf": [{"type": "string"}, {"type": "integer"}]})"), kX + "anyOf is not supported"},
      {"one_of", with_property(R"({"oneOf": [{"type": "string"}]})"), kX + "oneOf is not supported"},
      {"all_of", with_property(R"({"allOf": [{"type": "string"}]})"), kX + "allOf is not supported"},
      {"not", with_property(R"({"type": "string", "not": {"enum": ["a"]}})"), kX + "not is not supported"},
      {"ref", with_property(R"({"$ref": "#/$defs/room"})"), kX + "$ref is not supported (inline the definition)"},
      {"if_then", with_property(R"({"type": "string", "if": {}, "then": {}})"), kX + "if/then/else is not supported"},
      {"const", with_property(R"({"const": "a"})"), kX + "const is not supported (use a one-value enum)"},
      {"pattern", with_property(R"({"type": "string", "pattern": "^a"})"), kX + "pattern is not supported"},
      {"format", with_property(R"({"type": "string", "format": "date-time"})"), kX + "format is not supported"},
      {"type_list", with_property(R"({"type": ["string", "null"]})"), kX + "type lists are not supported (one type per argument)"},
      {"type_not_string", with_property(R"({"type": 3})"), kX + "type must be a string, not 3"},
      {"null_type", with_property(R"({"type": "null"})"), kX + "null arguments are not supported"},
      {"nullable", with_property(R"({"type": "string", "nullable": true})"), kX + "nullable is not supported"},
      {"unknown_type", with_property(R"({"type": "float"})"), kX + "unknown type \"float\" (known: string, integer, number, boolean)"},
      {"missing_type", with_property(R"({"description": "x"})"), kX + "missing \"type\""},
      {"schema_not_object", with_property("true"), kX + "must be a JSON Schema object, not true"},
      {"integer_enum", with_property(R"({"type": "integer", "enum": [1, 2]})"),
       kX + "enums of non-strings are not supported (type \"integer\")"},
      {"mixed_enum", with_property(R"({"enum": ["a", 1]})"), kX.substr(0, kX.size() - 2) + ".enum[1]: enums of non-strings are not supported (1)"},
      {"empty_enum", with_property(R"({"type": "string", "enum": []})"), kX.substr(0, kX.size() - 2) + ".enum: must be a non-empty list"},
      {"enum_value_space", with_property(R"({"type": "string", "enum": ["on", "living room"]})"),
       kX.substr(0, kX.size() - 2) + ".enum[1]: enum value \"living room\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_comma", with_property(R"({"enum": ["a,b"]})"),
       kX.substr(0, kX.size() - 2) + ".enum[0]: enum value \"a,b\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_brace", with_property(R"({"enum": ["{a}"]})"),
       kX.substr(0, kX.size() - 2) + ".enum[0]: enum value \"{a}\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_special_token", with_property(R"({"enum": ["a<|end|>"]})"),
       kX.substr(0, kX.size() - 2) + ".enum[0]: enum value \"a<|end|>\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_control", with_property(R"({"enum": ["a\u0001"]})"),
       kX.substr(0, kX.size() - 2) + ".enum[0]: enum value \"a\\u0001\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_empty", with_property(R"({"enum": [""]})"),
       kX.substr(0, kX.size() - 2) + ".enum[0]: enum value \"\" cannot be written in the agent format (" + kEnumValueRule + ")"},
      {"enum_value_repeated", with_property(R"({"enum": ["a", "b", "a"]})"), kX.substr(0, kX.size() - 2) + ".enum[2]: enum value \"a\" repeated"},
      {"integer_without_maximum", with_property(R"({"type": "integer", "minimum": 0})"),
       kX + "an integer argument needs \"minimum\" and \"maximum\" (the device format needs a range)"},
      {"integer_without_bounds", with_property(R"({"type": "integer"})"),
       kX + "an integer argument needs \"minimum\" and \"maximum\" (the device format needs a range)"},
      {"number_without_minimum", with_property(R"({"type": "number", "maximum": 1})"),
       kX + "a number argument needs \"minimum\" and \"maximum\" (the device format needs a range)"},
      {"bound_not_number", with_property(R"({"type": "integer", "minimum": "0", "maximum": 1})"), kX + "minimum must be a number, not \"0\""},
      {"empty_range", with_property(R"({"type": "integer", "minimum": 5, "maximum": 3})"), kX + "empty range: minimum 5 is above maximum 3"},
      {"integer_range_too_wide", with_property(R"({"type": "integer", "minimum": 0, "maximum": 1e13})"),
       kX + "the range must lie within -999999999999..999999999999"},
      {"number_range_too_wide", with_property(R"({"type": "number", "minimum": -1e300, "maximum": 0})"),
       kX + "the range must lie within -1e12..1e12"},
      {"exclusive_flag_without_bound", with_property(R"({"type": "integer", "exclusiveMinimum": true, "maximum": 3})"),
       kX + "exclusiveMinimum true needs minimum"},
      {"multiple_of", with_property(R"({"type": "number", "minimum": 0, "maximum": 1, "multipleOf": 0.5})"),
       kX + "multipleOf is not supported (the device format has no step)"},
      {"max_length_too_long", with_property(R"({"type": "string", "maxLength": 1000})"),
       kX + "maxLength 1000 is outside 1..256, the lengths the device format allows"},
      {"min_length", with_property(R"({"type": "string", "minLength": 3})"), kX + "minLength above 1 is not supported"},
      {"from_command_not_integer", with_property(R"({"type": "string", "x-edgelm-from-command": true})"),
       kX + "x-edgelm-from-command applies to integer properties only"},
      {"from_command_not_boolean", with_property(R"({"type": "integer", "minimum": 1, "maximum": 5, "x-edgelm-from-command": 1})"),
       kX + "x-edgelm-from-command must be true or false"},
      {"default_on_required", with_property(R"({"type": "boolean", "default": true})", R"(, "required": ["x"])"),
       kX + "a required argument with a default is not supported (the device format keeps defaults for optional arguments)"},
      {"default_wrong_type", with_property(R"({"type": "integer", "minimum": 1, "maximum": 5, "default": "3"})"),
       kX + "default \"3\": \"3\" is not an integer"},
      {"default_out_of_range", with_property(R"({"type": "integer", "minimum": 1, "maximum": 5, "default": 9})"),
       kX + "default 9: 9 is outside 1..5"},
      {"default_not_in_enum", with_property(R"({"enum": ["a"], "default": "b"})"), kX + "default \"b\": 'b' is not one of a"},
      {"default_list", with_property(R"({"type": "string", "default": ["a"]})"), kX + "default a list is not a string, a number or a boolean"},
      {"argument_name", R"([{"name": "f", "parameters": {"properties": {"fan speed": {"type": "boolean"}}}}])",
       "t.json: $[0].parameters.properties[\"fan speed\"]: argument name \"fan speed\" is not an identifier (letters, digits and '_', not starting with a digit)"},
      {"function_name", R"([{"type": "function", "function": {"name": "set-mode"}}])",
       "t.json: $[0].function.name: \"set-mode\" is not an identifier (letters, digits and '_', not starting with a digit)"},
      {"function_name_missing", R"([{"type": "function", "function": {"description": "x"}}])", "t.json: $[0].function: missing \"name\""},
      {"function_name_not_string", R"([{"name": 7}])", "t.json: $[0].name: must be a string, not 7"},
      {"duplicate_function", R"([{"name": "f"}, {"name": "g"}, {"name": "f"}])", "t.json: $[2]: function \"f\" is already defined at $[0]"},
      {"parameters_not_object", R"([{"type": "function", "function": {"name": "f", "parameters": "none"}}])",
       "t.json: $[0].function.parameters: must be a JSON Schema object, not \"none\""},
      {"parameters_not_type_object", R"([{"name": "f", "parameters": {"type": "array"}}])",
       "t.json: $[0].parameters: parameters must have type \"object\", not \"array\""},
      {"parameters_any_of", R"([{"name": "f", "parameters": {"anyOf": [{"type": "object"}]}}])", "t.json: $[0].parameters: anyOf is not supported"},
      {"properties_not_object", R"([{"name": "f", "parameters": {"properties": []}}])", "t.json: $[0].parameters.properties: must be an object, not a list"},
      {"required_unknown", R"([{"name": "f", "parameters": {"properties": {}, "required": ["y"]}}])",
       "t.json: $[0].parameters.required[0]: \"y\" is not a property"},
      {"required_not_list", R"([{"name": "f", "parameters": {"properties": {}, "required": "y"}}])",
       "t.json: $[0].parameters.required: must be a list of names, not \"y\""},
      {"tool_type", R"([{"type": "code_interpreter"}])", "t.json: $[0].type: only \"function\" tools are supported, not \"code_interpreter\""},
      {"tool_without_function", R"([{"type": "function", "name": "f"}])", "t.json: $[0]: missing \"function\""},
      {"function_not_object", R"([{"type": "function", "function": []}])", "t.json: $[0].function: must be an object, not a list"},
      {"tool_not_object", "[1]", "t.json: $[0]: a tool must be an object, not 1"},
      {"top_level_object", R"({"functions": []})", "t.json: $: expected a list of tools or an object with a \"tools\" list"},
      {"top_level_string", R"("tools")", "t.json: $: expected a list of tools or an object with a \"tools\" list"},
      {"tools_not_list", R"({"tools": {}})", "t.json: $.tools: must be a list of tools, not an object"},
      {"no_tools", "[]", "t.json: $: no tools"},
      {"path_under_tools", cat(R"({"tools": )", with_property(R"({"type": "object"})"), "}"),
       "t.json: $.tools[0].function.parameters.properties.x: nested objects are not supported"},
  };
}

class ToolsJsonRejects : public testing::TestWithParam<Rejection> {};

TEST_P(ToolsJsonRejects, WithPathAndConstruct) { EXPECT_EQ(error_of(GetParam().json), GetParam().message); }

INSTANTIATE_TEST_SUITE_P(Constructs, ToolsJsonRejects, testing::ValuesIn(rejections()),
                         [](const testing::TestParamInfo<Rejection>& info) { return std::string(info.param.name); });

TEST(ToolsJson, MalformedJsonGivesFileLineAndColumn) {
  std::string e = error_of("[\n  {\"type\": \"function\",\n   \"function\": {\"name\": \"f\",}}\n]");
  EXPECT_EQ(e.rfind("t.json: invalid JSON: parse error at line 3, column 29: ", 0), 0u) << e;
  EXPECT_EQ(error_of("").rfind("t.json: invalid JSON: parse error at line 1, column 1: ", 0), 0u) << error_of("");
  EXPECT_EQ(error_of("[\"\xff\"]").rfind("t.json: invalid JSON: parse error at line 1, column 3: ", 0), 0u) << error_of("[\"\xff\"]");
  EXPECT_EQ(error_of("[1e400]"), "t.json: invalid JSON: number overflow parsing '1e400'");  // found by fuzz_tools_json
  EXPECT_EQ(error_of("[] x").rfind("t.json: invalid JSON: parse error at line 1, column 4: ", 0), 0u) << error_of("[] x");
}

TEST(ToolsJson, DeepNestingIsAnErrorNotACrash) {
  std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(error_of(deep), "t.json: $[0]: a tool must be an object, not a list");
  std::string deep_default = with_property(R"({"type": "string", "default": )" + deep + "}");
  EXPECT_EQ(error_of(deep_default), kX + "default a list is not a string, a number or a boolean");
  EXPECT_EQ(error_of(std::string(100000, '[')).rfind("t.json: invalid JSON: ", 0), 0u);
}

}  // namespace
}  // namespace edgelm

namespace edgelm {
namespace {

// The built-in smart home's functions.toml is its tools list (the device's API
// as it was handed to us, domains/smart-home/tools.json) imported: the same
// functions, arguments, types, ranges, values and optionality, in order.
TEST(ToolsJson, SmartHomeFunctionsAreItsImportedToolsList) {
  std::string dir = resolve_domain_dir("smart-home");
  DomainSchema imported = schema_from_tools_json(read_file(dir + "/tools.json"), "tools.json");
  DomainSchema shipped = load_schema(dir + "/functions.toml");
  EXPECT_EQ(imported.functions, shipped.functions);
}

}  // namespace
}  // namespace edgelm
