// Model buffers through the C API, as firmware hands them over: load (copied),
// open a session on the model's domain, answer a command, read the state, free.
// Every failure must be a status with a message; a crash, a leak or an
// exception crossing the interface is a bug (the C API catches everything, so
// an escaping exception would terminate here).
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "edgelm.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  edgelm_model* model = nullptr;
  if (edgelm_model_load_buffer(data, size, EDGELM_BUFFER_COPY, &model) != EDGELM_OK) {
    if (model || edgelm_last_error()[0] == '\0') std::abort();  // a failure leaves no model and says why
    return 0;
  }
  edgelm_session_options options = edgelm_session_default_options();
  options.n_threads = 1;
  options.max_context = 128;  // the file's context_length must not size the KV cache here
  options.max_reply_tokens = 8;
  edgelm_session* session = nullptr;
  if (edgelm_session_open(model, nullptr, &options, &session) == EDGELM_OK) {
    edgelm_turn turn;
    if (edgelm_session_turn(session, "turn it on in sleep mode", nullptr, nullptr, &turn) == EDGELM_OK &&
        (!turn.calls_json || !turn.reply || !turn.answer_error))
      std::abort();
    if (!edgelm_session_state_json(session)) std::abort();
    edgelm_session_free(session);
  } else if (session || edgelm_last_error()[0] == '\0') {
    std::abort();
  }
  edgelm_model_free(model);
  return 0;
}
