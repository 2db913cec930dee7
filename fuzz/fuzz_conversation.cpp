// The conversation reader (OpenAI `messages`, as predict lines, evaluation
// cases, training data and the server carry them) on arbitrary bytes against a
// schema with every argument type: an Error is fine; any other exception or a
// crash is a bug. A conversation that reads must render back and read again
// to the same turns, and its calls replay on a device.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "device/device.h"
#include "domain/conversation.h"
#include "platform/error.h"

namespace {

const edgelm::DomainSchema& schema() {
  static const edgelm::DomainSchema s = edgelm::parse_schema(R"(
domain = "fuzz"
[[function]]
name = "toggle"
  [[function.argument]]
  name = "room"
  type = "enum"
  values = ["hall", "kitchen"]
  optional = true
  [[function.argument]]
  name = "on"
  type = "boolean"
  optional = true
[[function]]
name = "set"
  [[function.argument]]
  name = "level"
  type = "number"
  min = -5
  max = 5.5
  [[function.argument]]
  name = "count"
  type = "integer"
  min = 1
  max = 9
  optional = true
  default = 3
  [[function.argument]]
  name = "note"
  type = "string"
  optional = true
)", "fuzz.toml");
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return 0;
  try {
    edgelm::Conversation c = edgelm::parse_conversation(j, schema());
    edgelm::Conversation again =
        edgelm::parse_conversation(edgelm::conversation_to_messages(c.history, c.last_user), schema());
    if (again.history != c.history || again.last_user != c.last_user) std::abort();
    // Replayed on a device, as predict and edgelm_session_turn_messages do.
    static const auto spec = std::make_shared<const edgelm::DeviceSpec>(edgelm::DeviceSpec::stateless(schema()));
    edgelm::Device device(spec);
    for (const edgelm::Turn& t : c.history)
      for (const edgelm::Call& call : t.calls) device.execute(call);
  } catch (const edgelm::Error&) {
  }
  return 0;
}
