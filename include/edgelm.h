/*
 * edgelm.h: the C API of the edgelm runtime (C99; usable from C and C++).
 *
 * An agent model turns a user's command into calls of a device's functions and
 * a short reply. This API loads such a model, opens an agent session for a
 * device, answers commands, and shows the device's state:
 *
 *   edgelm_model* model = NULL;
 *   edgelm_session* session = NULL;
 *   if (edgelm_model_load_file("model.gguf", &model) != EDGELM_OK ||
 *       edgelm_session_open(model, NULL, NULL, &session) != EDGELM_OK) {
 *     fprintf(stderr, "%s\n", edgelm_last_error());
 *     ...
 *   }
 *   edgelm_turn turn;
 *   if (edgelm_session_turn(session, "turn it on in sleep mode", NULL, NULL, &turn) == EDGELM_OK)
 *     printf("%s / %s\n", turn.calls_json, turn.reply);  // [{"name":"set_power",...},...] / Sleep mode on.
 *   edgelm_session_free(session);
 *   edgelm_model_free(model);
 *
 * The device. A model file names the domain it was trained for (GGUF key
 * "edgelm.domain"); it does not carry the device's description. The caller
 * gives the description: a domain folder (functions.toml, device.toml; see
 * docs/DOMAIN_FORMAT.md), or the two files' text from memory for firmware
 * without a file system. The description must be the model's domain: a
 * schema named differently is refused (EDGELM_ERR_DEVICE), as the model's
 * function tokens would mean other functions.
 *
 * Errors. Every function returns an edgelm_status; on failure,
 * edgelm_last_error() gives a message naming the problem (the file, the line,
 * the value). No C++ exception crosses this interface; a failed call leaves
 * its output pointers NULL and changes nothing else.
 *
 * Untrusted input. Model files and buffers, device descriptions and command
 * text are checked: bad ones give an error, never a crash (a libFuzzer target
 * feeds fuzzed model buffers through edgelm_model_load_buffer).
 *
 * Threads. A model is read-only once loaded: any number of sessions on any
 * threads may share it, and it must outlive them. A session belongs to one
 * thread at a time (calls on one session must not overlap); each session
 * computes on a thread pool of its own, so sessions on different threads run
 * in parallel. edgelm_last_error() is per thread.
 *
 * Memory. Loading maps the model file (or uses the caller's buffer in place);
 * opening a session allocates its KV cache and scratch; answering a command
 * then allocates nothing per decoded token (only a little per turn: the
 * calls' JSON and the reply).
 */
#ifndef EDGELM_H
#define EDGELM_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#define EDGELM_API __declspec(dllexport)
#elif defined(__GNUC__)
#define EDGELM_API __attribute__((visibility("default")))
#else
#define EDGELM_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The version of this header; edgelm_version() gives the library's. */
#define EDGELM_VERSION_MAJOR 0
#define EDGELM_VERSION_MINOR 1
#define EDGELM_VERSION_PATCH 0

typedef enum edgelm_status {
  EDGELM_OK = 0,
  EDGELM_ERR_INVALID_ARGUMENT = 1, /* a NULL pointer, an option out of range, a misaligned borrowed buffer */
  EDGELM_ERR_IO = 2,               /* a file cannot be read */
  EDGELM_ERR_MODEL = 3,            /* not a model edgelm can run (malformed GGUF, missing tensor or tokenizer) */
  EDGELM_ERR_DEVICE = 4,           /* a bad device description, or one the model was not trained for */
  EDGELM_ERR_INPUT = 5,            /* a command that cannot be answered (invalid UTF-8, control characters, too long) */
  EDGELM_ERR_OUT_OF_MEMORY = 6,
  EDGELM_ERR_INTERNAL = 7 /* a bug in edgelm: please report the message */
} edgelm_status;

typedef struct edgelm_model edgelm_model;
typedef struct edgelm_session edgelm_session;
typedef struct edgelm_adapter edgelm_adapter;

/* "0.1.0" */
EDGELM_API const char* edgelm_version(void);
/* "ok", "invalid argument", ... (never NULL) */
EDGELM_API const char* edgelm_status_name(edgelm_status status);
/* The message of the last failed call on this thread ("" if none). Valid until
 * the next failing call on this thread. */
EDGELM_API const char* edgelm_last_error(void);

/* ---- Models ---------------------------------------------------------------- */

/* Maps a GGUF model file (F32/F16/BF16/Q8_0/Q5_0/Q4_0 with its tokenizer). */
EDGELM_API edgelm_status edgelm_model_load_file(const char* path, edgelm_model** out_model);

/* How edgelm_model_load_buffer treats the caller's bytes. */
typedef enum edgelm_buffer_mode {
  EDGELM_BUFFER_COPY = 0,  /* copied: the caller may free the buffer when the call returns */
  EDGELM_BUFFER_BORROW = 1 /* used in place (e.g. a model in memory-mapped flash): the bytes must stay
                              unchanged until edgelm_model_free, and start at a 64-byte boundary */
} edgelm_buffer_mode;

/* A GGUF model held in memory. */
EDGELM_API edgelm_status edgelm_model_load_buffer(const void* data, size_t size, edgelm_buffer_mode mode,
                                                  edgelm_model** out_model);

/* The domain the model was trained for ("air-purifier"), or "" when the file names none. */
EDGELM_API const char* edgelm_model_domain(const edgelm_model* model);
/* Bytes of weights one decoded token reads. */
EDGELM_API int64_t edgelm_model_weight_bytes(const edgelm_model* model);

/* NULL is allowed. Every session on the model must be freed first. */
EDGELM_API void edgelm_model_free(edgelm_model* model);

/* ---- Adapters -------------------------------------------------------------- */

/* A LoRA adapter in llama.cpp's GGUF form (general.type "adapter", what
 * `edgelm train` writes for a [lora] run), checked against `model`'s shape.
 * One model in memory serves any number of adapters (one per device or
 * product line): each session applies its own with edgelm_session_set_adapter.
 * EDGELM_ERR_MODEL when the file is not such an adapter or fits another model. */
EDGELM_API edgelm_status edgelm_adapter_load_file(const edgelm_model* model, const char* path,
                                                  edgelm_adapter** out_adapter);
/* The same from bytes in memory (copied: the caller may free them when the call returns). */
EDGELM_API edgelm_status edgelm_adapter_load_buffer(const edgelm_model* model, const void* data, size_t size,
                                                    edgelm_adapter** out_adapter);
/* Adapter tensors' bytes (what an adapter adds to a model in memory). */
EDGELM_API int64_t edgelm_adapter_bytes(const edgelm_adapter* adapter);
/* NULL is allowed. Sessions that apply the adapter keep their own reference:
 * freeing it here does not change them. */
EDGELM_API void edgelm_adapter_free(edgelm_adapter* adapter);

/* ---- Sessions -------------------------------------------------------------- */

typedef struct edgelm_session_options {
  int32_t n_threads;          /* threads of the session's pool; 0: EDGELM_THREADS or every core */
  int32_t max_reply_tokens;   /* reply tokens at most (default 48) */
  int32_t history_tokens;     /* EDGELM_TURN_CONVERSATION keeps its history within this many tokens (default 256) */
  int32_t constrained;        /* 1 (default): decode under the grammar of the device's functions; 0: free decoding */
  float temperature;          /* 0 (default): greedy */
  uint64_t seed;              /* sampling seed (default 0) */
  int32_t max_context;        /* positions the KV cache holds, which bounds the session's memory;
                                 0 (default): the model's context length */
  float min_action_probability; /* under the grammar, an answer begins with a call that changes the
                                   device's state only when the model gives such calls at least this
                                   probability, all of them together; an answer held back so calls
                                   nothing that changes state (default 0.8; 0: as decoded; at most 1;
                                   start from edgelm_session_default_options(), as a zeroed struct
                                   turns it off) */
} edgelm_session_options;

/* The defaults above; pass NULL for them. */
EDGELM_API edgelm_session_options edgelm_session_default_options(void);

/* Opens a session on the device described in `domain_dir` (a folder with
 * functions.toml and device.toml, or the name of a built-in domain found
 * under $EDGELM_HOME/domains); NULL: the domain the model names. The device
 * starts in its initial state. Evaluates the fixed system prompt once. */
EDGELM_API edgelm_status edgelm_session_open(const edgelm_model* model, const char* domain_dir,
                                             const edgelm_session_options* options, edgelm_session** out_session);

/* The same from the description's text: functions.toml and device.toml
 * (device_toml NULL: a device without state, whose replies are filled from
 * the calls' arguments). `source_name` names the description in errors (NULL: "device"). */
EDGELM_API edgelm_status edgelm_session_open_text(const edgelm_model* model, const char* functions_toml,
                                                  const char* device_toml, const char* source_name,
                                                  const edgelm_session_options* options,
                                                  edgelm_session** out_session);

/* NULL is allowed. */
EDGELM_API void edgelm_session_free(edgelm_session* session);

/* ---- Turns ----------------------------------------------------------------- */

typedef enum edgelm_turn_mode {
  /* Each command stands alone (what `edgelm predict` does for a `text` line):
   * the model sees no earlier turns; the calls run on the session's device. */
  EDGELM_TURN_COMMAND = 0,
  /* A conversation: earlier turns stay in the KV cache as context ("and the
   * fan too"), so a turn costs only its new tokens. */
  EDGELM_TURN_CONVERSATION = 1
} edgelm_turn_mode;

/* Default: EDGELM_TURN_COMMAND. Changing the mode forgets the conversation. */
EDGELM_API edgelm_status edgelm_session_set_mode(edgelm_session* session, edgelm_turn_mode mode);

/* Called with pieces of the reply as it is decoded (constrained decoding only;
 * with free decoding, one piece at the end). Pieces end on whole UTF-8
 * characters; text from the first device placeholder ("{pm25}") on arrives
 * once the answer is complete and the value is known. Their concatenation is
 * the turn's reply. `text` is not NUL-terminated and valid during the call only.
 * Do not call into the same session from the callback. */
typedef void (*edgelm_reply_callback)(const char* text, size_t length, void* user_data);

typedef struct edgelm_turn {
  /* The calls, executed on the session's device in order, as a JSON array:
   * [{"name": "set_fan_speed", "arguments": {"speed": "high"}}]; "[]" for none. */
  const char* calls_json;
  /* The reply, with the device's values filled in. */
  const char* reply;
  /* "" when the answer was valid and every call ran; else why not (a call the
   * device refused, an answer that broke the format under free decoding, a
   * command too long for the context). The turn itself still succeeded. */
  const char* answer_error;
  int32_t tokens_generated; /* answer tokens, sampled or appended by fast-forward, the end token included */
  double latency_ms;
} edgelm_turn;

/* Answers one command (UTF-8). The strings in *out_turn belong to the session
 * and stay valid until its next turn, reset or free. `on_reply` may be NULL. */
EDGELM_API edgelm_status edgelm_session_turn(edgelm_session* session, const char* text, edgelm_reply_callback on_reply,
                                             void* user_data, edgelm_turn* out_turn);

/* Answers the last user message of a whole conversation: `messages_json` is an
 * OpenAI-style messages array (UTF-8), as a chat-completions request carries it:
 * user messages, assistant messages with their tool_calls (system and tool
 * messages are skipped), the last one the user's. The device goes back to its
 * initial state and runs the earlier turns' calls in order, those turns become
 * the conversation, and the last message is answered as edgelm_session_turn
 * answers it in EDGELM_TURN_CONVERSATION mode, which the session is left in:
 * further turns continue the conversation. A conversation restored after a
 * restart, or kept by the caller, is given back this way. Malformed messages
 * (not JSON, an unknown role, a call outside the device's functions, a call the
 * device refuses, an assistant message last) return EDGELM_ERR_INPUT and leave
 * the session as it was. */
EDGELM_API edgelm_status edgelm_session_turn_messages(edgelm_session* session, const char* messages_json,
                                                      edgelm_reply_callback on_reply, void* user_data,
                                                      edgelm_turn* out_turn);

/* The device's state as a JSON object ({"power": "on", "fan_speed": "low", ...}),
 * valid until the session's next call. */
EDGELM_API const char* edgelm_session_state_json(edgelm_session* session);

/* Applies `adapter` (NULL: none, the model alone) on top of the session's
 * model, its alpha/rank scale times `scale` (1: as trained), without reloading
 * the model. The device's state and the conversation are kept: the system
 * prompt is evaluated again now, the conversation's turns at the next turn.
 * EDGELM_ERR_INVALID_ARGUMENT for an adapter loaded for another model or a
 * scale that is not finite; the session is then unchanged. */
EDGELM_API edgelm_status edgelm_session_set_adapter(edgelm_session* session, const edgelm_adapter* adapter,
                                                    float scale);

/* The device back to its initial state, and the conversation forgotten. */
EDGELM_API edgelm_status edgelm_session_reset(edgelm_session* session);

#ifdef __cplusplus
}
#endif

#endif /* EDGELM_H */
