#pragma once
// The agent: a model that answers a user's command with function calls and a
// reply, decoded under the grammar compiled from the domain's schema, with
// forced tokens fast-forwarded and the system prefix's KV state cached.
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "device/device.h"
#include "domain/conversation.h"
#include "domain/schema.h"
#include "model/model.h"
#include "model/sampler.h"

namespace edgelm {

class InferenceSession;
struct LoraAdapter;
class ThreadPool;
class Tokenizer;
class AnswerConstraint;
class AnswerStream;

// Whether an answer may, must or must not call functions (OpenAI's
// tool_choice "auto", "required", "none"); the first answer token is masked
// accordingly, so the rest of the answer follows the grammar as usual.
enum class CallChoice { Auto, None, Required };

// AgentOptions::min_action_probability's default (docs/AGENT_FORMAT.md says how it was chosen).
inline constexpr float kDefaultMinActionProbability = 0.8f;
// What is wrong with p as a min_action_probability ("" when 0 <= p <= 1; NaN is refused).
std::string min_action_probability_problem(float p);
// Throws Error naming min_action_probability and the problem, if any.
void check_min_action_probability(float p);

struct AgentOptions {
  bool constrained = true;    // decode under the schema grammar (off: free decoding, then parse)
  bool fast_forward = true;   // append tokens the grammar forces without sampling, in one batch
  int max_reply_tokens = 48;  // tokens of the reply text (the end token not counted)
  int max_call_tokens = 64;   // tokens of the calls part (free decoding stops there)
  // A conversation's history (converse) is kept within this many tokens: past
  // it, the oldest turns go first and the kept ones are evaluated again once.
  int max_history_tokens = 256;
  // Positions the KV cache holds (0: the model's context length); what bounds a session's memory.
  int64_t max_context = 0;
  SamplerConfig sampler;
  CallChoice call_choice = CallChoice::Auto;
  // Acting needs the model's confidence: under the grammar with CallChoice::Auto,
  // an answer begins with a call that changes the device's state
  // (DeviceSpec::writes_state) only when such calls hold at least this share of
  // the first token's probability, all of them together; an answer that would
  // have begun with one below it begins with another token (greedy: the most
  // probable one; no call, a query, a request for clarification) and calls
  // nothing that changes state later either. An answer that begins without
  // acting of its own accord is not held to it afterwards. A wrong action costs
  // more than a missed one. 0: off; in [0, 1] (the Agent refuses others).
  float min_action_probability = kDefaultMinActionProbability;
  // With CallChoice::Required: the first call must be this function (empty: any).
  std::string required_function;
  // The threads the agent's session computes on (null: the default pool).
  // Agents that decode at the same time need pools of their own. Read at
  // construction only.
  ThreadPool* pool = nullptr;
  // A LoRA adapter applied on top of the model (null: none), times adapter_scale.
  std::shared_ptr<const LoraAdapter> adapter;
  float adapter_scale = 1.0f;
  // Under the grammar, an answer's calls are distinct: when a call repeats an
  // earlier one (same function, same values), decoding steps back to where it
  // began and the calls end there. Generated answers never repeat a call, so a
  // repeat is the model stuttering ("lights off. lights off."); switch this off
  // for a device whose calls mean more when repeated.
  bool distinct_calls = true;
  // Called after every decoding step under the grammar with the answer's
  // tokens so far, of which the last `reply_tokens` are the reply's (0 while
  // the calls are still being decoded): what streaming is built on. Must not
  // throw; not called under free decoding.
  std::function<void(std::span<const int32_t> generated, int reply_tokens)> on_step;
};

struct AgentAnswer {
  std::vector<Call> calls;
  std::string reply;      // placeholders filled by the simulator
  std::string raw_reply;  // as generated, placeholders as {name}
  std::string raw_text;   // the whole answer text as generated (special tokens spelled out)
  int tokens_generated = 0;  // answer tokens, sampled or fast-forwarded, incl. the end token
  int tokens_forced = 0;     // of those, appended by fast-forward
  int forward_passes = 0;
  int calls_taken_back = 0;  // repeated calls decoding stepped back from (AgentOptions::distinct_calls)
  // The probability the model gave, at the answer's first token, to calls that
  // change the device's state (all of them together; under the grammar with
  // CallChoice::Auto when that token was chosen, not forced; else -1), and
  // whether the answer would have begun with such a call but for
  // AgentOptions::min_action_probability.
  float action_probability = -1;
  bool action_withheld = false;
  double latency_ms = 0;
  std::string error;  // empty on success; else why no valid calls came out
  // The reply used its whole budget (max_reply_tokens), so its end was forced
  // (free decoding: no end token within the answer's budget).
  bool truncated = false;
};

// Watches an answer while it is decoded (respond's `observer`): the calls as
// soon as the calls part is complete (already executed on the device), then
// the reply in pieces as its tokens come, placeholders filled, which add up to
// AgentAnswer::reply. Under free decoding both come once the answer is parsed.
struct AnswerObserver {
  std::function<void(const std::vector<Call>& calls)> on_calls;
  std::function<void(std::string_view reply_piece)> on_reply;
};

class Agent {
 public:
  // The model must carry a tokenizer with every agent_special_tokens(schema).
  // Evaluates the system prefix once (the prefix cache).
  Agent(std::shared_ptr<const Model> model, std::shared_ptr<const DeviceSpec> device, AgentOptions options = {});
  // A device without state: calls are checked, replies filled from the calls' arguments.
  Agent(std::shared_ptr<const Model> model, DomainSchema schema, AgentOptions options = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  // Answers one command. The calls are executed on a fresh device (initial
  // state) to fill the reply's placeholders.
  AgentAnswer respond(const std::string& text);
  // Executes the calls on `device` (null: a fresh one) and fills the reply
  // from its state; a call the device rejects goes to `error`.
  AgentAnswer respond(const std::string& text, Device* device);
  // Answers the last turn of a conversation whose earlier turns are `history`
  // (rendered after the system prefix; their calls are not executed here: the
  // caller's device is expected to hold the state they left).
  AgentAnswer respond(const std::string& text, Device* device, const std::vector<Turn>& history,
                      const AnswerObserver* observer = nullptr);

  // One turn of the agent's own conversation: the history (earlier user turns
  // and the calls the device executed) stays in the KV cache, so a turn costs
  // only its new tokens. The calls run on `device`, which holds the
  // conversation's state.
  AgentAnswer converse(const std::string& text, Device& device);
  // Forgets the conversation (the device's state is the caller's).
  void reset_conversation();
  // Makes `history` the conversation, as if converse had answered its turns
  // with their calls (which the caller's device is expected to have run): a
  // conversation restored or replayed from its messages. Its tokens are
  // evaluated by the next converse. Throws Error on a call outside the schema.
  void set_conversation(std::vector<Turn> history);
  const std::vector<Turn>& conversation() const { return history_; }

  const DomainSchema& schema() const { return device_->schema; }
  const std::shared_ptr<const DeviceSpec>& device_spec() const { return device_; }
  const AgentOptions& options() const { return options_; }
  void set_options(const AgentOptions& options);
  // Applies a LoRA adapter (null: none) without reloading the model: the
  // system prefix is evaluated again under it, the conversation's turns at the
  // next turn. Error (and nothing changed) if it does not fit the model.
  void set_adapter(std::shared_ptr<const LoraAdapter> adapter, float scale = 1.0f);
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  int64_t prefix_tokens() const { return prefix_len_; }
  InferenceSession& session() { return *session_; }

 private:
  AgentAnswer decode(const std::string& text, const std::vector<Turn>& history, AnswerStream* stream = nullptr);
  // Decodes an answer after `prompt`, evaluated from cache position `start`;
  // `stream` (if any) sees the answer's text after every step.
  AgentAnswer decode_at(int64_t start, const std::vector<int32_t>& prompt, AnswerStream* stream = nullptr);
  void execute_and_fill(AgentAnswer& answer, Device& device);
  // Notes where a call begins: before its function token is accepted.
  void note_call_start(const AnswerConstraint& c, size_t generated, const AgentAnswer& answer,
                       std::span<const float> logits);
  std::vector<uint32_t> first_token_mask(const uint32_t* base) const;
  // Whether a token is the function token of a call that changes the device's state.
  bool writes_state(int32_t id) const;
  // `allowed` without those tokens (in not_acting_).
  const uint32_t* without_acting(const uint32_t* allowed);
  // The share of the probability, over the tokens `base` allows, that such calls hold.
  float action_probability(const uint32_t* base, std::span<const float> logits) const;
  std::vector<uint32_t> writing_functions_;  // bit per token id: function tokens of calls that change state
  std::vector<uint32_t> not_acting_;         // a first-token mask without them (sized once: no allocation per answer)
  std::vector<Turn> history_;  // converse's conversation
  int64_t history_end_ = 0;    // cache position after it (0: not evaluated yet)
  std::vector<int32_t> last_generated_;  // the last answer's tokens
  std::shared_ptr<const Model> model_;
  std::shared_ptr<const DeviceSpec> device_;
  AgentOptions options_;
  const Tokenizer* tokenizer_;
  std::unique_ptr<InferenceSession> session_;
  std::unique_ptr<AnswerConstraint> constraint_;
  std::unique_ptr<Sampler> sampler_;
  int64_t prefix_len_ = 0;
  // Where each call of the answer being decoded began (distinct_calls), so that a
  // repeated call can be taken back; kept between answers for their buffers.
  struct CallStart;
  std::vector<CallStart> call_starts_;
};

}  // namespace edgelm
