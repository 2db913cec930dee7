#pragma once
// A domain's function schema to and from an OpenAI-style tools list, the form
// OpenAI's API, llama.cpp's server and Hugging Face chat templates take:
//
//   [{"type": "function", "function": {"name": ..., "description": ...,
//                                      "parameters": <JSON Schema object>}}]
//
// and functions.toml text, so that `edgelm domain import` can start a domain
// folder from a tools list and `edgelm domain export` can hand one back. The
// mapping and what is rejected are in docs/DOMAIN_FORMAT.md.
#include <string>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

// Reads a tools list: a JSON array of {"type": "function", "function": {...}}
// items or of bare function objects ({"name", "description", "parameters"}),
// or an object {"tools": [...]}. Argument order is the order of "properties".
// Throws Error for malformed JSON (with line and column) and for anything the
// device format cannot express, naming `source` and the JSON path:
//   tools.json: $[2].function.parameters.properties.filter: nested objects are not supported
// The schema's name is left empty for the caller to set.
DomainSchema schema_from_tools_json(const std::string& text, const std::string& source);

// The tools list for a schema, every argument as JSON Schema. Ordered, because
// argument order is positional in the agent format and must survive a round trip.
nlohmann::ordered_json schema_to_tools_json(const DomainSchema& schema);

// functions.toml text that parse_schema reads back to the same schema.
std::string schema_to_toml(const DomainSchema& schema);

}  // namespace edgelm
