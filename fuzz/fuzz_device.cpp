// The device.toml reader on arbitrary bytes against a fixed schema: an Error is
// fine; any other exception or a crash is a bug. A device that loads must also
// execute every function with no arguments or a few literal ones without
// crashing, and fill a reply with each of its placeholders.
#include <cstdint>
#include <memory>
#include <string>

#include "device/device.h"
#include "platform/error.h"

namespace {

const edgelm::DomainSchema& schema() {
  static const edgelm::DomainSchema s = edgelm::parse_schema(R"(
domain = "fuzz"
[[function]]
name = "light"
  [[function.argument]]
  name = "room"
  type = "enum"
  values = ["hall", "kitchen"]
  optional = true
  [[function.argument]]
  name = "state"
  type = "enum"
  values = ["on", "off"]
  optional = true
[[function]]
name = "level"
  [[function.argument]]
  name = "to"
  type = "number"
  min = 0
  max = 10
  optional = true
[[function]]
name = "status"
  [[function.argument]]
  name = "where"
  type = "string"
  optional = true
)", "fuzz.toml");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    auto spec = std::make_shared<const edgelm::DeviceSpec>(edgelm::parse_device(schema(), text, "device.toml"));
    edgelm::Device d(spec);
    using edgelm::ArgValue;
    const edgelm::Call calls[] = {
        {"light", {}},
        {"light", {{"room", ArgValue(std::string("hall"))}, {"state", ArgValue(std::string("on"))}}},
        {"level", {{"to", ArgValue(7.5)}}},
        {"status", {{"where", ArgValue(std::string("kitchen"))}}},
        {"status", {}},
    };
    for (const auto& c : calls) d.execute(c);
    std::string reply;
    for (const auto& p : spec->schema.placeholders) reply += "{" + p + "} ";
    d.fill_placeholders(reply);
    d.state_json().dump();
  } catch (const edgelm::Error&) {
  }
  return 0;
}
