// The C API (include/edgelm.h) over the agent: every entry point catches what
// the C++ below it throws and turns it into a status and a per-thread message.
#include "edgelm.h"

#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>
#include <new>
#include <optional>
#include <string>

#include "agent/agent.h"
#include "agent/format.h"
#include "device/device.h"
#include "domain/conversation.h"
#include "domain/schema.h"
#include "model/lora.h"
#include "model/model.h"
#include "platform/aligned_buffer.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer.h"

struct edgelm_model {
  edgelm::AlignedArray<uint8_t> bytes;  // the copy, in EDGELM_BUFFER_COPY mode
  std::string domain;                   // edgelm.domain, "" when absent
  std::shared_ptr<const edgelm::Model> model;
  ~edgelm_model() { model.reset(); }  // before the bytes it points into
};

struct edgelm_adapter {
  const edgelm_model* model = nullptr;  // the model it was checked against
  std::shared_ptr<const edgelm::LoraAdapter> adapter;
};

struct edgelm_session {
  const edgelm_model* model = nullptr;
  std::shared_ptr<const edgelm::DeviceSpec> spec;
  std::unique_ptr<edgelm::ThreadPool> pool;  // the session's own: sessions decode in parallel
  std::optional<edgelm::Device> device;
  std::unique_ptr<edgelm::Agent> agent;
  edgelm_turn_mode mode = EDGELM_TURN_COMMAND;
  // The last turn's strings, which edgelm_turn points into.
  std::string calls_json, reply, answer_error, state_json;
  // Streaming: the reply's bytes decoded so far and how many went to the callback.
  std::string stream_text;
  size_t stream_sent = 0;
  int stream_tokens = 0;  // reply tokens consumed
  bool stream_held = false;  // a placeholder came: the rest waits for the whole answer
  edgelm_reply_callback on_reply = nullptr;
  void* user_data = nullptr;
};

namespace {

thread_local std::string t_last_error;

edgelm_status failed(edgelm_status status, std::string message) {
  try {
    t_last_error = std::move(message);
  } catch (...) {
    // No memory for the message: the status still says what happened.
  }
  return status;
}

// Runs `body`, mapping exceptions: edgelm::Error to `on_error`, allocation
// failure to EDGELM_ERR_OUT_OF_MEMORY, anything else to EDGELM_ERR_INTERNAL.
template <class Body>
edgelm_status guarded(edgelm_status on_error, Body&& body) {
  try {
    return body();
  } catch (const edgelm::Error& e) {
    return failed(on_error, e.what());
  } catch (const std::bad_alloc&) {
    return failed(EDGELM_ERR_OUT_OF_MEMORY, "out of memory");
  } catch (const std::exception& e) {
    return failed(EDGELM_ERR_INTERNAL, std::string("internal error: ") + e.what());
  } catch (...) {
    return failed(EDGELM_ERR_INTERNAL, "internal error: unknown exception");
  }
}

// EDGELM_ERR_IO naming the file when `path` is not a regular file (a `kind` file: "model", "adapter").
edgelm_status check_regular_file(const char* kind, const char* path) {
  std::error_code ec;
  if (std::filesystem::is_regular_file(path, ec)) return EDGELM_OK;
  return failed(EDGELM_ERR_IO, std::string(kind) + " file '" + path + "' not found or not a regular file");
}

edgelm_status null_argument(const char* function, const char* name) {
  return failed(EDGELM_ERR_INVALID_ARGUMENT, std::string(function) + ": " + name + " is NULL");
}

std::string model_domain(const edgelm::GgufFile& file) {
  if (const edgelm::GgufValue* v = file.metadata().find(edgelm::kModelDomainKey))
    return v->as_string(edgelm::kModelDomainKey);
  return "";
}

edgelm_status finish_load(std::unique_ptr<edgelm_model> m, edgelm::GgufFile file, edgelm_model** out) {
  m->domain = model_domain(file);
  m->model = edgelm::Model::load(std::move(file));
  if (!m->model->tokenizer())
    edgelm::fail("the model file carries no tokenizer (tokenizer.ggml.* keys); the agent needs one");
  *out = m.release();
  return EDGELM_OK;
}

edgelm::AgentOptions agent_options(const edgelm_session_options& o, edgelm::ThreadPool* pool) {
  edgelm::AgentOptions a;
  a.constrained = o.constrained != 0;
  a.max_reply_tokens = o.max_reply_tokens;
  a.max_history_tokens = o.history_tokens;
  a.sampler.temperature = o.temperature;
  a.sampler.seed = o.seed;
  a.max_context = o.max_context;
  a.min_action_probability = o.min_action_probability;
  a.pool = pool;
  return a;
}

std::string check_options(const edgelm_session_options& o) {
  if (o.n_threads < 0 || o.n_threads > 1024) return "n_threads must be in [0, 1024]";
  if (o.max_reply_tokens < 1 || o.max_reply_tokens > 4096) return "max_reply_tokens must be in [1, 4096]";
  if (o.history_tokens < 0) return "history_tokens must not be negative";
  if (o.constrained != 0 && o.constrained != 1) return "constrained must be 0 or 1";
  if (o.max_context < 0) return "max_context must not be negative";
  if (!(o.temperature >= 0 && o.temperature <= 100)) return "temperature must be in [0, 100]";
  if (std::string problem = edgelm::min_action_probability_problem(o.min_action_probability); !problem.empty())
    return "min_action_probability " + problem;  // the Agent's own rule
  return "";
}

// The length of the longest prefix of s that ends on a whole UTF-8 character.
size_t whole_utf8_prefix(const std::string& s) {
  size_t n = s.size(), i = n;
  while (i > 0 && (static_cast<unsigned char>(s[i - 1]) & 0xC0) == 0x80 && n - i < 3) --i;
  if (i == 0) return 0;
  const unsigned char lead = static_cast<unsigned char>(s[i - 1]);
  const size_t need = lead < 0x80 ? 1 : (lead >> 5) == 0x6 ? 2 : (lead >> 4) == 0xE ? 3 : (lead >> 3) == 0x1E ? 4 : 1;
  return n - (i - 1) >= need ? n : i - 1;
}

// The decoding hook: appends the reply's new tokens and passes on whole characters.
void stream_step(edgelm_session& s, std::span<const int32_t> generated, int reply_tokens) {
  if (!s.on_reply || s.stream_held || reply_tokens <= s.stream_tokens) return;
  const edgelm::Tokenizer& tok = s.agent->tokenizer();
  for (size_t i = generated.size() - size_t(reply_tokens - s.stream_tokens); i < generated.size(); ++i) {
    const int32_t id = generated[i];
    if (tok.is_special(id)) {  // a placeholder, or the end
      s.stream_held = true;
      break;
    }
    const std::string& bytes = tok.token_bytes(id);
    // The space between the calls and the reply is the format's, not the reply's.
    const size_t skip = s.stream_text.empty() && s.stream_sent == 0 && !bytes.empty() && bytes[0] == ' ' ? 1 : 0;
    s.stream_text.append(bytes, skip, std::string::npos);
  }
  s.stream_tokens = reply_tokens;
  const size_t whole = whole_utf8_prefix(s.stream_text);
  if (whole > s.stream_sent) {
    s.on_reply(s.stream_text.data() + s.stream_sent, whole - s.stream_sent, s.user_data);
    s.stream_sent = whole;
  }
}

edgelm_status open_session(const edgelm_model* model, std::shared_ptr<const edgelm::DeviceSpec> spec,
                           const edgelm_session_options& options, edgelm_session** out) {
  if (!model->domain.empty() && spec->schema.name != model->domain)
    return failed(EDGELM_ERR_DEVICE, "the model was trained for the domain '" + model->domain + "', not '" +
                                         spec->schema.name + "': give that domain's description");
  auto s = std::make_unique<edgelm_session>();
  s->model = model;
  s->spec = spec;
  s->pool = std::make_unique<edgelm::ThreadPool>(options.n_threads);
  s->device.emplace(spec);
  edgelm::AgentOptions a = agent_options(options, s->pool.get());
  edgelm_session* raw = s.get();
  a.on_step = [raw](std::span<const int32_t> generated, int reply_tokens) { stream_step(*raw, generated, reply_tokens); };
  s->agent = std::make_unique<edgelm::Agent>(model->model, spec, a);
  // Room for a long reply, so that streaming does not grow it token by token.
  s->stream_text.reserve(4096);
  *out = s.release();
  return EDGELM_OK;
}

}  // namespace

extern "C" {

const char* edgelm_version(void) { return "0.1.0"; }

const char* edgelm_status_name(edgelm_status status) {
  switch (status) {
    case EDGELM_OK: return "ok";
    case EDGELM_ERR_INVALID_ARGUMENT: return "invalid argument";
    case EDGELM_ERR_IO: return "cannot read file";
    case EDGELM_ERR_MODEL: return "bad model";
    case EDGELM_ERR_DEVICE: return "bad device description";
    case EDGELM_ERR_INPUT: return "bad command";
    case EDGELM_ERR_OUT_OF_MEMORY: return "out of memory";
    case EDGELM_ERR_INTERNAL: return "internal error";
  }
  return "unknown status";
}

const char* edgelm_last_error(void) { return t_last_error.c_str(); }

edgelm_status edgelm_model_load_file(const char* path, edgelm_model** out_model) {
  if (out_model) *out_model = nullptr;
  if (!path) return null_argument("edgelm_model_load_file", "path");
  if (!out_model) return null_argument("edgelm_model_load_file", "out_model");
  return guarded(EDGELM_ERR_MODEL, [&] {
    if (edgelm_status s = check_regular_file("model", path); s != EDGELM_OK) return s;
    return finish_load(std::make_unique<edgelm_model>(), edgelm::GgufFile::open(path), out_model);
  });
}

edgelm_status edgelm_model_load_buffer(const void* data, size_t size, edgelm_buffer_mode mode,
                                       edgelm_model** out_model) {
  if (out_model) *out_model = nullptr;
  if (!data) return null_argument("edgelm_model_load_buffer", "data");
  if (!out_model) return null_argument("edgelm_model_load_buffer", "out_model");
  if (mode != EDGELM_BUFFER_COPY && mode != EDGELM_BUFFER_BORROW)
    return failed(EDGELM_ERR_INVALID_ARGUMENT, "edgelm_model_load_buffer: mode must be EDGELM_BUFFER_COPY or _BORROW");
  if (mode == EDGELM_BUFFER_BORROW && reinterpret_cast<uintptr_t>(data) % 64 != 0)
    return failed(EDGELM_ERR_INVALID_ARGUMENT,
                  "edgelm_model_load_buffer: a borrowed buffer must start at a 64-byte boundary (or use EDGELM_BUFFER_COPY)");
  return guarded(EDGELM_ERR_MODEL, [&] {
    auto m = std::make_unique<edgelm_model>();
    const uint8_t* bytes = static_cast<const uint8_t*>(data);
    if (mode == EDGELM_BUFFER_COPY) {
      m->bytes = edgelm::aligned_array<uint8_t>(size);
      if (size) std::memcpy(m->bytes.get(), data, size);
      bytes = m->bytes.get();
    }
    return finish_load(std::move(m), edgelm::GgufFile::parse(bytes, size, "model buffer"), out_model);
  });
}

const char* edgelm_model_domain(const edgelm_model* model) { return model ? model->domain.c_str() : ""; }

int64_t edgelm_model_weight_bytes(const edgelm_model* model) { return model ? model->model->weight_bytes() : 0; }

void edgelm_model_free(edgelm_model* model) { delete model; }

edgelm_session_options edgelm_session_default_options(void) {
  edgelm_session_options o;
  o.n_threads = 0;
  o.max_reply_tokens = 48;
  o.history_tokens = 256;
  o.constrained = 1;
  o.temperature = 0.0f;
  o.seed = 0;
  o.max_context = 0;
  o.min_action_probability = edgelm::kDefaultMinActionProbability;
  return o;
}

edgelm_status edgelm_session_open(const edgelm_model* model, const char* domain_dir,
                                  const edgelm_session_options* options, edgelm_session** out_session) {
  if (out_session) *out_session = nullptr;
  if (!model) return null_argument("edgelm_session_open", "model");
  if (!out_session) return null_argument("edgelm_session_open", "out_session");
  const edgelm_session_options o = options ? *options : edgelm_session_default_options();
  if (std::string why = check_options(o); !why.empty()) return failed(EDGELM_ERR_INVALID_ARGUMENT, "options: " + why);
  return guarded(EDGELM_ERR_DEVICE, [&] {
    std::string dir = domain_dir ? domain_dir : model->domain.empty() ? edgelm::kDefaultDomain : model->domain;
    auto spec = std::make_shared<const edgelm::DeviceSpec>(edgelm::load_device(edgelm::resolve_domain_dir(dir)));
    return open_session(model, std::move(spec), o, out_session);
  });
}

edgelm_status edgelm_session_open_text(const edgelm_model* model, const char* functions_toml, const char* device_toml,
                                       const char* source_name, const edgelm_session_options* options,
                                       edgelm_session** out_session) {
  if (out_session) *out_session = nullptr;
  if (!model) return null_argument("edgelm_session_open_text", "model");
  if (!functions_toml) return null_argument("edgelm_session_open_text", "functions_toml");
  if (!out_session) return null_argument("edgelm_session_open_text", "out_session");
  const edgelm_session_options o = options ? *options : edgelm_session_default_options();
  if (std::string why = check_options(o); !why.empty()) return failed(EDGELM_ERR_INVALID_ARGUMENT, "options: " + why);
  return guarded(EDGELM_ERR_DEVICE, [&] {
    const std::string name = source_name ? source_name : "device";
    edgelm::DomainSchema schema = edgelm::parse_schema(functions_toml, name + "/functions.toml");
    auto spec = std::make_shared<const edgelm::DeviceSpec>(
        device_toml ? edgelm::parse_device(std::move(schema), device_toml, name + "/device.toml")
                    : edgelm::DeviceSpec::stateless(std::move(schema)));
    return open_session(model, std::move(spec), o, out_session);
  });
}

void edgelm_session_free(edgelm_session* session) { delete session; }

edgelm_status edgelm_session_set_mode(edgelm_session* session, edgelm_turn_mode mode) {
  if (!session) return null_argument("edgelm_session_set_mode", "session");
  // A C caller may pass any int: read its bits, as reading an enum outside its values is undefined in C++.
  int raw = 0;
  static_assert(sizeof raw == sizeof mode);
  std::memcpy(&raw, &mode, sizeof raw);
  if (raw != EDGELM_TURN_COMMAND && raw != EDGELM_TURN_CONVERSATION)
    return failed(EDGELM_ERR_INVALID_ARGUMENT, "edgelm_session_set_mode: unknown mode");
  return guarded(EDGELM_ERR_INTERNAL, [&] {
    if (mode != session->mode) session->agent->reset_conversation();
    session->mode = mode;
    return EDGELM_OK;
  });
}

}  // extern "C"

namespace {

// A turn of a session whose command was checked: answers it (converse in
// conversation mode) and fills *out_turn.
edgelm_status answer_turn(edgelm_session& s, const std::string& text, edgelm_reply_callback on_reply, void* user_data,
                          edgelm_turn* out_turn) {
  s.on_reply = on_reply;
  s.user_data = user_data;
  s.stream_text.clear();
  s.stream_sent = 0;
  s.stream_tokens = 0;
  s.stream_held = false;
  edgelm::AgentAnswer a;
  try {
    a = s.mode == EDGELM_TURN_CONVERSATION ? s.agent->converse(text, *s.device) : s.agent->respond(text, &*s.device);
  } catch (...) {
    s.on_reply = nullptr;
    throw;
  }
  s.on_reply = nullptr;
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& c : a.calls) calls.push_back(edgelm::call_to_json(c));
  s.calls_json = calls.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  s.reply = a.reply;
  s.answer_error = a.error;
  // The rest of the reply: from a placeholder on, or all of it under free decoding.
  if (on_reply && s.reply.size() > s.stream_sent && s.reply.compare(0, s.stream_sent, s.stream_text, 0, s.stream_sent) == 0)
    on_reply(s.reply.data() + s.stream_sent, s.reply.size() - s.stream_sent, user_data);
  *out_turn = edgelm_turn{s.calls_json.c_str(), s.reply.c_str(), s.answer_error.c_str(), a.tokens_generated,
                          a.latency_ms};
  return EDGELM_OK;
}

}  // namespace

extern "C" {

edgelm_status edgelm_session_turn(edgelm_session* session, const char* text, edgelm_reply_callback on_reply,
                                  void* user_data, edgelm_turn* out_turn) {
  if (out_turn) *out_turn = edgelm_turn{"[]", "", "", 0, 0.0};
  if (!session) return null_argument("edgelm_session_turn", "session");
  if (!text) return null_argument("edgelm_session_turn", "text");
  if (!out_turn) return null_argument("edgelm_session_turn", "out_turn");
  if (std::string why = edgelm::check_user_text(text); !why.empty())
    return failed(EDGELM_ERR_INPUT, "command: " + why);
  return guarded(EDGELM_ERR_INPUT, [&] { return answer_turn(*session, text, on_reply, user_data, out_turn); });
}

edgelm_status edgelm_session_turn_messages(edgelm_session* session, const char* messages_json,
                                           edgelm_reply_callback on_reply, void* user_data, edgelm_turn* out_turn) {
  if (out_turn) *out_turn = edgelm_turn{"[]", "", "", 0, 0.0};
  if (!session) return null_argument("edgelm_session_turn_messages", "session");
  if (!messages_json) return null_argument("edgelm_session_turn_messages", "messages_json");
  if (!out_turn) return null_argument("edgelm_session_turn_messages", "out_turn");
  edgelm_session& s = *session;
  return guarded(EDGELM_ERR_INPUT, [&] {
    nlohmann::json messages;
    try {
      messages = nlohmann::json::parse(messages_json);
    } catch (const nlohmann::json::exception& e) {
      return failed(EDGELM_ERR_INPUT, std::string("messages: not JSON: ") + e.what());
    }
    edgelm::Conversation conv;
    try {
      conv = edgelm::parse_conversation(messages, s.spec->schema);
    } catch (const edgelm::Error& e) {
      return failed(EDGELM_ERR_INPUT, std::string("messages: ") + e.what());
    }
    if (conv.answer) return failed(EDGELM_ERR_INPUT, "messages: the last message is the assistant's; nothing to answer");
    if (std::string why = edgelm::check_user_text(conv.last_user); !why.empty())
      return failed(EDGELM_ERR_INPUT, "messages: the last user message: " + why);
    // Replayed on a device in its initial state; only a whole replay replaces the session's.
    edgelm::Device device(s.spec);
    for (size_t t = 0; t < conv.history.size(); ++t)
      for (const edgelm::Call& c : conv.history[t].calls) {
        try {
          device.execute(c);
        } catch (const edgelm::Error& e) {
          return failed(EDGELM_ERR_INPUT, edgelm::cat("messages: turn ", t + 1, ": ", e.what()));
        }
      }
    s.agent->set_conversation(std::move(conv.history));
    s.device.emplace(std::move(device));
    s.mode = EDGELM_TURN_CONVERSATION;
    return answer_turn(s, conv.last_user, on_reply, user_data, out_turn);
  });
}

const char* edgelm_session_state_json(edgelm_session* session) {
  if (!session) return "{}";
  try {
    session->state_json = session->device->state_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return session->state_json.c_str();
  } catch (...) {
    failed(EDGELM_ERR_OUT_OF_MEMORY, "edgelm_session_state_json: out of memory");
    return "{}";
  }
}

namespace {

edgelm_status finish_adapter(const edgelm_model* model, const edgelm::GgufFile& file, edgelm_adapter** out) {
  auto a = std::make_unique<edgelm_adapter>();
  a->model = model;
  a->adapter = std::make_shared<const edgelm::LoraAdapter>(edgelm::lora_adapter_from_gguf(file, model->model->config()));
  *out = a.release();
  return EDGELM_OK;
}

}  // namespace

edgelm_status edgelm_adapter_load_file(const edgelm_model* model, const char* path, edgelm_adapter** out_adapter) {
  if (out_adapter) *out_adapter = nullptr;
  if (!model) return null_argument("edgelm_adapter_load_file", "model");
  if (!path) return null_argument("edgelm_adapter_load_file", "path");
  if (!out_adapter) return null_argument("edgelm_adapter_load_file", "out_adapter");
  return guarded(EDGELM_ERR_MODEL, [&] {
    if (edgelm_status s = check_regular_file("adapter", path); s != EDGELM_OK) return s;
    return finish_adapter(model, edgelm::GgufFile::open(path), out_adapter);
  });
}

edgelm_status edgelm_adapter_load_buffer(const edgelm_model* model, const void* data, size_t size,
                                         edgelm_adapter** out_adapter) {
  if (out_adapter) *out_adapter = nullptr;
  if (!model) return null_argument("edgelm_adapter_load_buffer", "model");
  if (!data) return null_argument("edgelm_adapter_load_buffer", "data");
  if (!out_adapter) return null_argument("edgelm_adapter_load_buffer", "out_adapter");
  return guarded(EDGELM_ERR_MODEL, [&] {
    // The adapter's matrices are copied out of the file, so the bytes need not outlive the call.
    auto bytes = edgelm::aligned_array<uint8_t>(size);
    if (size) std::memcpy(bytes.get(), data, size);
    return finish_adapter(model, edgelm::GgufFile::parse(bytes.get(), size, "adapter buffer"), out_adapter);
  });
}

int64_t edgelm_adapter_bytes(const edgelm_adapter* adapter) {
  if (!adapter) return 0;
  return adapter->adapter->n_params() * 4;
}

void edgelm_adapter_free(edgelm_adapter* adapter) { delete adapter; }

edgelm_status edgelm_session_set_adapter(edgelm_session* session, const edgelm_adapter* adapter, float scale) {
  if (!session) return null_argument("edgelm_session_set_adapter", "session");
  if (adapter && adapter->model != session->model)
    return failed(EDGELM_ERR_INVALID_ARGUMENT,
                  "edgelm_session_set_adapter: the adapter was loaded for another model than the session's");
  if (!std::isfinite(scale))
    return failed(EDGELM_ERR_INVALID_ARGUMENT, "edgelm_session_set_adapter: scale must be a finite number");
  return guarded(EDGELM_ERR_INVALID_ARGUMENT, [&] {
    session->agent->set_adapter(adapter ? adapter->adapter : nullptr, scale);
    return EDGELM_OK;
  });
}

edgelm_status edgelm_session_reset(edgelm_session* session) {
  if (!session) return null_argument("edgelm_session_reset", "session");
  return guarded(EDGELM_ERR_INTERNAL, [&] {
    session->device->reset();
    session->agent->reset_conversation();
    return EDGELM_OK;
  });
}

}  // extern "C"
