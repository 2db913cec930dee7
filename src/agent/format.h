#pragma once
// The agent format: how a device's function list, a user's command and the
// assistant's answer are laid out as tokens (docs/AGENT_FORMAT.md).
//
//   <|system|><|fn:set_power|><|fn:set_mode|>...<|user|>turn it on in sleep mode<|assistant|>
//   <|fn:set_power|>on<|fn:set_mode|>sleep Sleep mode on.<|end|>
//
// Each function name is one special token (Octopus v2's functional tokens);
// arguments follow it as positional values in schema order, separated by ','
// (an omitted optional argument is an empty value); the reply follows the calls
// after one space and ends with <|end|>. A free-text value is written in
// double quotes (it may hold spaces and commas); numbers with at most three
// decimals, booleans as true/false. Values the device fills in are placeholder
// tokens: the device's own (schema.placeholders, from device.toml: {pm25},
// {status}) and {ARGNAME} for every argument name of the schema.
//
// Training examples and run-time prompts are both rendered here, so the two
// cannot drift apart.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/conversation.h"
#include "domain/schema.h"

namespace edgelm {

class Tokenizer;

inline constexpr const char* kSystemToken = "<|system|>";
inline constexpr const char* kUserToken = "<|user|>";
inline constexpr const char* kAssistantToken = "<|assistant|>";
inline constexpr const char* kEndToken = "<|end|>";

// "<|fn:set_timer|>"
std::string function_token(const std::string& function_name);
// "{pm25}"
std::string placeholder_token(const std::string& name);
// Device placeholders (schema.placeholders), then every distinct argument name of the schema, in schema order.
std::vector<std::string> placeholder_names(const DomainSchema& schema);

// Roles, end, one token per function, placeholders: reserve these (in this
// order) when training a tokenizer. The end token comes right after the roles
// so that train_bpe makes it eos.
std::vector<std::string> agent_special_tokens(const DomainSchema& schema);

// Throws Error when a schema value cannot be written in the compact syntax
// (an enum value with a space, ',' or '<|', or an empty one).
void check_schema_for_format(const DomainSchema& schema);

// An argument value as a reply says it: the enum value or text, the decimal integer or number, true/false.
std::string arg_plain_text(const ArgValue& value);
// An argument value as the calls part writes it: as arg_plain_text, free text in double quotes.
std::string arg_format_text(const ArgumentSpec& spec, const ArgValue& value);

// Text forms (special tokens spelled out), for display and documentation.
std::string render_system_text(const DomainSchema& schema);
std::string render_args_text(const FunctionSpec& function, const Call& call);  // "90" / "on" / "" / "a,,c"
std::string render_answer_text(const DomainSchema& schema, const std::vector<Call>& calls, const std::string& reply);

// Token forms. Special tokens are placed by id; user text is encoded with
// parse_special = false so a command cannot inject a role or function token,
// as model_text (domain/language.h) reads it (capitals, closing punctuation, numbers);
// placeholders inside a reply become their tokens. Throws Error if the
// tokenizer lacks one of agent_special_tokens(schema).
std::vector<int32_t> render_system_tokens(const DomainSchema& schema, const Tokenizer& tokenizer);
// "<|user|>" text "<|assistant|>" (the part after the system prefix).
std::vector<int32_t> render_user_tokens(const Tokenizer& tokenizer, const std::string& user_text);
// Earlier turns of a conversation, between the system prefix and the turn to
// answer: per turn "<|user|>" text "<|assistant|>" calls "<|end|>" (the calls
// the device executed; replies are left out, so a history rendered from
// training data and one built up at run time are the same tokens).
std::vector<int32_t> render_history_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                           const std::vector<Turn>& history);
std::string render_history_text(const DomainSchema& schema, const std::vector<Turn>& history);
// The calls part of an answer: function tokens and their arguments (no reply, no end token).
std::vector<int32_t> render_calls_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                         const std::vector<Call>& calls);
std::vector<int32_t> render_answer_tokens(const DomainSchema& schema, const Tokenizer& tokenizer,
                                          const std::vector<Call>& calls, const std::string& reply);

struct RenderedExample {
  std::vector<int32_t> tokens;
  std::vector<uint8_t> loss_mask;  // 1 on the assistant's answer tokens (incl. the end token)
};
// One line of the SFT JSONL: `messages` in the OpenAI chat form, ending with
// the assistant's answer to the last user turn; earlier turns are rendered as
// history (render_history_tokens). The loss covers the last answer, and with
// `learn_history_calls` also the calls of the earlier turns (each was answered
// in the context before it, so the tokens are the same targets).
// Throws Error naming the problem on a malformed example or a call outside the
// schema.
// Earlier turns are kept as the agent keeps them at run time: while the history
// is over `max_history_tokens` (negative: no limit) or the whole example over
// `max_tokens` (0: no limit; a training row's length), the oldest turn goes.
RenderedExample render_training_example(const DomainSchema& schema, const Tokenizer& tokenizer,
                                        const nlohmann::json& example, int64_t max_history_tokens = -1,
                                        int64_t max_tokens = 0, bool learn_history_calls = false);

// One line of the data generator's dpo.jsonl: {"prompt": [messages up to the last user
// turn], "chosen": assistant message, "rejected": assistant message}, rendered as two
// training examples with the same prompt (history cut as render_training_example
// does, then both keep the shorter prompt, so the pair differs in its answer only).
struct RenderedPair {
  RenderedExample chosen, rejected;
};
RenderedPair render_preference_pair(const DomainSchema& schema, const Tokenizer& tokenizer, const nlohmann::json& pair,
                                    int64_t max_history_tokens = -1, int64_t max_tokens = 0);

// Empty if `text` is acceptable as a user's command, else why not: empty,
// longer than max_bytes, invalid UTF-8, or a control character (tab allowed).
std::string check_user_text(std::string_view text, size_t max_bytes = 4096);

struct ParsedAnswer {
  std::vector<Call> calls;
  std::string reply;   // placeholders still as {name}
  std::string error;   // empty when the answer is well formed and every call valid
  bool ok() const { return error.empty(); }
};
// Parses the text of an answer (what follows <|assistant|>, special tokens
// spelled out; the trailing <|end|> optional). Never throws on bad text.
ParsedAnswer parse_answer(const DomainSchema& schema, const std::string& answer_text);

}  // namespace edgelm
