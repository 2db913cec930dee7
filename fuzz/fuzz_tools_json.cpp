// The tools-list importer on arbitrary bytes: an Error is fine, any other
// exception or a crash is not. A list that imports must also survive both
// round trips (tools JSON and functions.toml) unchanged.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "domain/tools_json.h"
#include "platform/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  edgelm::DomainSchema schema;
  try {
    schema = edgelm::schema_from_tools_json(text, "fuzz.json");
  } catch (const edgelm::Error&) {
    return 0;
  }
  schema.name = "fuzz";
  // An imported schema is valid, so neither round trip may throw or differ.
  edgelm::DomainSchema from_json = edgelm::schema_from_tools_json(edgelm::schema_to_tools_json(schema).dump(), "export.json");
  from_json.name = schema.name;
  if (!(from_json == schema)) std::abort();
  if (!(edgelm::parse_schema(edgelm::schema_to_toml(schema), "functions.toml") == schema)) std::abort();
  return 0;
}
