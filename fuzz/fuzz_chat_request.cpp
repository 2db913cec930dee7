// The server's request reader (a chat-completions body -> the conversation
// and options the agent takes, or an HTTP error) on arbitrary bytes, against
// the built-in air purifier: an exception of any kind or a crash is a bug; an
// error must be a 4xx with a message. A request that reads must give answers
// that read back: the calls of its history, written as OpenAI tool calls
// (whole and streamed), parse to the same calls.
#include <cstdint>
#include <cstdlib>
#include <string>

#include "device/device.h"
#include "server/openai_api.h"

namespace {

const edgelm::DomainSchema& schema() {
  static const edgelm::DomainSchema s = edgelm::load_device(edgelm::resolve_domain_dir("air-purifier")).schema;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  server::RequestLimits limits;
  limits.max_body_bytes = 64 * 1024;
  server::ParsedRequest p = server::parse_chat_request(body, schema(), limits);
  if (p.error) {
    if (p.error->status < 400 || p.error->status > 499 || p.error->message.empty()) std::abort();
    (void)p.error->body();
    return 0;
  }
  if (p.request.text.empty()) std::abort();
  (void)server::request_agent_options(AgentOptions{}, p.request);
  server::Completion c;
  c.id = "chatcmpl-fuzz";
  c.model = p.request.model;
  c.call_id_prefix = "call_";
  c.reply = p.request.text;
  for (const Turn& t : p.request.history) c.calls.insert(c.calls.end(), t.calls.begin(), t.calls.end());
  nlohmann::json j = nlohmann::json::parse(server::completion_json(c).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  const nlohmann::json& message = j["choices"][0]["message"];
  for (size_t i = 0; i < c.calls.size(); ++i)
    if (call_from_tool_call(message["tool_calls"][i], schema()) != c.calls[i]) std::abort();
  std::vector<std::string> events = server::completion_events(c, true);
  if (events.empty() || events.back() != "data: [DONE]\n\n") std::abort();
  return 0;
}
