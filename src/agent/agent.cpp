#include "agent/agent.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <optional>

#include "agent/answer_grammar.h"
#include "agent/answer_stream.h"
#include "agent/format.h"
#include "model/session.h"
#include "platform/error.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {
namespace {

// The vocabulary as the grammar sees it, padded to the model's vocabulary so
// that masks cover every logit (ids the tokenizer lacks are never allowed).
std::shared_ptr<const TokenVocab> vocab_for_model(const Tokenizer& tokenizer, int64_t n_model_vocab) {
  if (tokenizer.n_vocab() > n_model_vocab)
    fail("the tokenizer has ", tokenizer.n_vocab(), " tokens but the model only ", n_model_vocab, " logits");
  std::vector<std::string> bytes(static_cast<size_t>(n_model_vocab));
  std::vector<bool> special(bytes.size(), true);
  for (int32_t id = 0; id < tokenizer.n_vocab(); ++id) {
    bytes[size_t(id)] = tokenizer.token_bytes(id);
    special[size_t(id)] = tokenizer.is_special(id);
  }
  return std::make_shared<TokenVocab>(std::move(bytes), std::move(special), tokenizer.eos_id());
}

}  // namespace

std::string min_action_probability_problem(float p) { return p >= 0 && p <= 1 ? "" : cat("must be in [0, 1], not ", p); }

void check_min_action_probability(float p) {
  if (std::string problem = min_action_probability_problem(p); !problem.empty()) fail("min_action_probability ", problem);
}

// The first answer token's mask under options_.call_choice: `base` (null: all
// of the model's tokens) without the function tokens (None), or only them (or
// only the required function's) (Required). Empty for CallChoice::Auto.
std::vector<uint32_t> Agent::first_token_mask(const uint32_t* base) const {
  std::vector<uint32_t> mask;
  if (options_.call_choice == CallChoice::Auto) return mask;
  const int64_t n_vocab = model_->config().n_vocab;
  const size_t n_words = size_t((n_vocab + 31) / 32);
  mask.assign(n_words, 0);
  std::vector<uint32_t> functions(n_words, 0);
  for (const auto& f : schema().functions) {
    if (options_.call_choice == CallChoice::Required && !options_.required_function.empty() &&
        f.name != options_.required_function)
      continue;
    if (auto id = tokenizer_->special_id(function_token(f.name)); id && *id < n_vocab)
      functions[size_t(*id) / 32] |= 1u << (*id % 32);
  }
  for (size_t w = 0; w < n_words; ++w) {
    uint32_t all = base ? base[w] : ~0u;
    if (!base && w + 1 == n_words && n_vocab % 32) all = (1u << (n_vocab % 32)) - 1;
    mask[w] = options_.call_choice == CallChoice::None ? all & ~functions[w] : all & functions[w];
  }
  bool any = false;
  for (uint32_t w : mask) any = any || w;
  if (!any)
    fail(options_.call_choice == CallChoice::None ? "no answer without a call is possible"
                                                  : cat("no call to '", options_.required_function, "' is possible"));
  return mask;
}

bool Agent::writes_state(int32_t id) const {
  return id >= 0 && size_t(id) / 32 < writing_functions_.size() && ((writing_functions_[size_t(id) / 32] >> (id % 32)) & 1u);
}

const uint32_t* Agent::without_acting(const uint32_t* allowed) {
  for (size_t w = 0; w < not_acting_.size(); ++w) not_acting_[w] = allowed[w] & ~writing_functions_[w];
  return not_acting_.data();
}

float Agent::action_probability(const uint32_t* base, std::span<const float> logits) const {
  // Softmax over the allowed tokens, in double: the state-changing calls' share.
  auto allowed = [&](size_t id) { return (base[id / 32] >> (id % 32)) & 1u; };
  const size_t n = std::min(logits.size(), writing_functions_.size() * 32);
  float top = -std::numeric_limits<float>::infinity();
  for (size_t id = 0; id < n; ++id)
    if (allowed(id)) top = std::max(top, logits[id]);
  double all = 0, acting = 0;
  for (size_t id = 0; id < n; ++id) {
    if (!allowed(id)) continue;
    double e = std::exp(double(logits[id] - top));
    all += e;
    if (writes_state(int32_t(id))) acting += e;
  }
  return all > 0 ? float(acting / all) : 0.0f;
}

struct Agent::CallStart {
  AnswerConstraint::Position position;  // the grammar before the call's function token
  size_t generated = 0;                 // the answer's tokens before it
  int tokens_forced = 0;
  int64_t n_past = 0;         // the cache position there
  std::vector<float> logits;  // the logits the function token was chosen from
  bool valid = false;         // noted in the answer being decoded
};

void Agent::note_call_start(const AnswerConstraint& c, size_t generated, const AgentAnswer& answer,
                            std::span<const float> logits) {
  const size_t k = size_t(c.calls());  // the index of the call that begins
  while (call_starts_.size() <= k) call_starts_.push_back({c.position()});
  CallStart& s = call_starts_[k];
  s.position = c.position();
  s.generated = generated;
  s.tokens_forced = answer.tokens_forced;
  s.n_past = session_->n_past();
  s.logits.assign(logits.begin(), logits.end());
  s.valid = true;
}

Agent::Agent(std::shared_ptr<const Model> model, DomainSchema schema, AgentOptions options)
    : Agent(std::move(model), std::make_shared<const DeviceSpec>(DeviceSpec::stateless(std::move(schema))), options) {}

Agent::Agent(std::shared_ptr<const Model> model, std::shared_ptr<const DeviceSpec> device, AgentOptions options)
    : model_(std::move(model)), device_(std::move(device)), options_(options) {
  if (!model_) fail("Agent: no model");
  if (!device_) fail("Agent: no device");
  check_min_action_probability(options_.min_action_probability);
  const DomainSchema& schema = device_->schema;
  tokenizer_ = model_->tokenizer();
  if (!tokenizer_) fail("the model file carries no tokenizer (tokenizer.ggml.* keys); the agent needs one");
  check_schema_for_format(schema);
  std::vector<int32_t> system = render_system_tokens(schema, *tokenizer_);  // throws if a special token is missing
  render_user_tokens(*tokenizer_, "");
  const Tokenizer* tok = tokenizer_;
  constraint_ = std::make_unique<AnswerConstraint>(
      schema, vocab_for_model(*tokenizer_, model_->config().n_vocab), options_.max_reply_tokens,
      [tok](std::string_view text) { return tok->encode(text); });
  constraint_->precompute();
  writing_functions_.assign(size_t((model_->config().n_vocab + 31) / 32), 0);
  for (const auto& f : schema.functions)
    if (auto id = tokenizer_->special_id(function_token(f.name));
        id && *id < model_->config().n_vocab && device_->writes_state(f.name))
      writing_functions_[size_t(*id) / 32] |= 1u << (*id % 32);
  not_acting_.assign(writing_functions_.size(), 0);
  session_ = std::make_unique<InferenceSession>(model_, options_.max_context, options_.pool);
  if (options_.adapter) session_->set_adapter(options_.adapter, options_.adapter_scale);
  sampler_ = std::make_unique<Sampler>(options_.sampler);
  // The prefix cache: the system part is evaluated once; every command truncates back to it.
  session_->eval(system);
  prefix_len_ = session_->n_past();
}

Agent::~Agent() = default;

void Agent::set_options(const AgentOptions& options) {
  check_min_action_probability(options.min_action_probability);
  if (options.max_reply_tokens != options_.max_reply_tokens)
    constraint_ = std::make_unique<AnswerConstraint>(*constraint_, options.max_reply_tokens);
  options_ = options;
  sampler_ = std::make_unique<Sampler>(options_.sampler);
}

void Agent::set_adapter(std::shared_ptr<const LoraAdapter> adapter, float scale) {
  session_->set_adapter(adapter, scale);  // checks the shapes first; empties the KV cache
  options_.adapter = std::move(adapter);
  options_.adapter_scale = scale;
  session_->eval(render_system_tokens(schema(), *tokenizer_));
  prefix_len_ = session_->n_past();
  history_end_ = 0;  // the conversation's tokens are evaluated again at the next turn
}

AgentAnswer Agent::respond(const std::string& text) { return respond(text, nullptr); }

AgentAnswer Agent::respond(const std::string& text, Device* device) { return respond(text, device, {}); }

void Agent::execute_and_fill(AgentAnswer& answer, Device& device) {
  for (const auto& c : answer.calls) {
    try {
      device.execute(c);
    } catch (const Error& e) {
      if (answer.error.empty()) answer.error = e.what();
    }
  }
  answer.reply = device.fill_placeholders(answer.raw_reply);
}

void Agent::reset_conversation() {
  history_.clear();
  history_end_ = 0;
}

void Agent::set_conversation(std::vector<Turn> history) {
  render_history_tokens(schema(), *tokenizer_, history);  // throws on a call outside the schema
  history_ = std::move(history);
  history_end_ = 0;
}

AgentAnswer Agent::converse(const std::string& text, Device& device) {
  auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> user = render_user_tokens(*tokenizer_, text);
  constraint_->set_command(text);
  const int64_t max_answer = options_.max_call_tokens + options_.max_reply_tokens + 1;
  // Keep the history within its budget (and the context): the oldest turns go
  // first; the kept ones are evaluated again once, then reused turn after turn.
  bool rebuild = history_end_ == 0 || history_end_ > session_->n_past();
  auto over = [&](int64_t history_tokens) {
    return history_tokens > options_.max_history_tokens ||
           prefix_len_ + history_tokens + int64_t(user.size()) + max_answer > session_->max_context();
  };
  auto rendered_size = [&] { return int64_t(render_history_tokens(schema(), *tokenizer_, history_).size()); };
  int64_t history_tokens = rebuild ? rendered_size() : history_end_ - prefix_len_;
  while (!history_.empty() && over(history_tokens)) {
    history_.erase(history_.begin());
    history_tokens = rendered_size();
    rebuild = true;
  }
  if (rebuild) {
    session_->truncate(prefix_len_);
    std::vector<int32_t> h = render_history_tokens(schema(), *tokenizer_, history_);
    if (!h.empty()) session_->eval(h);
    history_end_ = session_->n_past();
  }
  AgentAnswer answer = decode_at(history_end_, user);
  execute_and_fill(answer, device);
  const int64_t calls_start = history_end_ + int64_t(user.size());
  if (session_->n_past() >= calls_start) {  // else the turn was never evaluated (too long)
    // The turn joins the history as training renders it: the user's text, the
    // calls, the end token (the reply is left out). When the generated calls
    // are those very tokens the cache keeps them; otherwise they are rendered.
    std::vector<int32_t> calls = render_calls_tokens(schema(), *tokenizer_, answer.calls);
    bool same = int64_t(last_generated_.size()) >= int64_t(calls.size()) &&
                std::equal(calls.begin(), calls.end(), last_generated_.begin()) &&
                session_->n_past() >= calls_start + int64_t(calls.size());
    if (same) {
      session_->truncate(calls_start + int64_t(calls.size()));
      int32_t end = *tokenizer_->special_id(kEndToken);
      session_->eval(std::span<const int32_t>(&end, 1));
    } else {
      session_->truncate(calls_start);
      calls.push_back(*tokenizer_->special_id(kEndToken));
      session_->eval(calls);
    }
    history_.push_back({text, answer.calls});
    history_end_ = session_->n_past();
  }
  answer.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return answer;
}

AgentAnswer Agent::respond(const std::string& text, Device* device, const std::vector<Turn>& history,
                           const AnswerObserver* observer) {
  auto start = std::chrono::steady_clock::now();
  std::optional<Device> local;
  if (!device) device = &local.emplace(device_);
  std::optional<AnswerStream> stream;
  if (observer) stream.emplace(schema(), *device, *observer, options_.constrained);
  AgentAnswer answer = decode(text, history, stream ? &*stream : nullptr);
  if (stream) stream->finish(answer);
  else execute_and_fill(answer, *device);
  history_end_ = 0;  // the cache no longer holds converse's history
  answer.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  return answer;
}

AgentAnswer Agent::decode(const std::string& text, const std::vector<Turn>& history, AnswerStream* stream) {
  std::vector<int32_t> prompt = render_history_tokens(schema(), *tokenizer_, history);
  std::vector<int32_t> user = render_user_tokens(*tokenizer_, text);
  prompt.insert(prompt.end(), user.begin(), user.end());
  constraint_->set_command(text);
  return decode_at(prefix_len_, prompt, stream);
}

AgentAnswer Agent::decode_at(int64_t start, const std::vector<int32_t>& prompt, AnswerStream* stream) {
  AgentAnswer answer;
  last_generated_.clear();
  const int max_answer = options_.max_call_tokens + options_.max_reply_tokens + 1;
  if (start + int64_t(prompt.size()) + max_answer > session_->max_context()) {
    answer.error = cat("command too long: ", prompt.size(), " tokens (the context holds ", session_->max_context(), ")");
    return answer;
  }
  session_->truncate(start);
  const int64_t passes_before = session_->n_forward_passes();
  std::span<const float> logits = session_->eval(prompt);
  std::vector<int32_t> generated;
  generated.reserve(size_t(max_answer) + 1);  // no growth while decoding

  if (options_.constrained) {
    AnswerConstraint& c = *constraint_;
    c.reset();
    for (CallStart& s : call_starts_) s.valid = false;
    std::vector<int32_t> batch;
    batch.reserve(generated.capacity());  // fast-forward runs grow it inside the loop otherwise
    while (!c.done()) {
      // Sample one token, then append whatever the grammar forces after it, and
      // evaluate them together: forced tokens cost no sampling and no pass of their own.
      const bool first_choice = generated.empty() && options_.call_choice != CallChoice::Auto;
      int32_t id = options_.fast_forward && !first_choice ? c.forced_token() : -1;
      if (id >= 0) {
        ++answer.tokens_forced;
      } else if (first_choice) {
        id = sampler_->sample(logits, first_token_mask(c.mask()).data());
      } else if (generated.empty() && answer.action_probability < 0) {
        // The first token: a call that changes the device's state needs
        // min_action_probability. A drawn one below it is drawn again among the
        // other tokens, which for greedy and plain temperature sampling (no
        // top_k / top_p) is drawing from those alone.
        answer.action_probability = action_probability(c.mask(), logits);
        id = sampler_->sample(logits, c.mask());
        if (writes_state(id) && answer.action_probability < options_.min_action_probability) {
          id = sampler_->sample(logits, without_acting(c.mask()));
          answer.action_withheld = true;
        }
      } else if (answer.action_withheld) {
        id = sampler_->sample(logits, without_acting(c.mask()));  // nor does a withheld answer act later
      } else {
        id = sampler_->sample(logits, c.mask());
      }
      if (options_.distinct_calls && c.is_function_token(id)) note_call_start(c, generated.size(), answer, logits);
      c.accept(id);
      generated.push_back(id);
      batch = {id};
      while (options_.fast_forward && !c.done() && (!options_.distinct_calls || c.repeated_call() < 0)) {
        int32_t f = c.forced_token();
        if (f < 0) break;
        c.accept(f);
        generated.push_back(f);
        batch.push_back(f);
        ++answer.tokens_forced;
      }
      // A call that repeats an earlier one is taken back: the answer, the cache and the
      // grammar return to where it began, and the calls end there.
      if (options_.distinct_calls && c.repeated_call() >= 0 && size_t(c.repeated_call()) < call_starts_.size() &&
          call_starts_[size_t(c.repeated_call())].valid) {
        const CallStart& s = call_starts_[size_t(c.repeated_call())];
        c.rewind(s.position);
        c.end_calls();
        generated.resize(s.generated);
        answer.tokens_forced = s.tokens_forced;
        session_->truncate(s.n_past);
        logits = s.logits;
        ++answer.calls_taken_back;
        continue;
      }
      if (options_.on_step) options_.on_step(generated, c.reply_tokens());
      if (c.done()) break;
      // The stream sees each step before the next pass, so its pieces go out while decoding goes on.
      if (stream) stream->update(tokenizer_->decode(generated));
      logits = session_->eval(batch);
    }
    answer.truncated = c.reply_tokens() >= c.max_reply_tokens();
  } else {
    int32_t end_id = *tokenizer_->special_id(kEndToken);
    answer.truncated = true;  // until an end token comes
    for (int i = 0; i < max_answer; ++i) {
      int32_t id = i == 0 && options_.call_choice != CallChoice::Auto
                       ? sampler_->sample(logits, first_token_mask(nullptr).data())
                       : sampler_->sample(logits);
      generated.push_back(id);
      if (id == end_id || id == tokenizer_->eos_id()) {
        answer.truncated = false;
        break;
      }
      logits = session_->eval(std::span<const int32_t>(&id, 1));
    }
  }
  last_generated_ = generated;
  answer.tokens_generated = int(generated.size());
  answer.forward_passes = int(session_->n_forward_passes() - passes_before);
  answer.raw_text = tokenizer_->decode(generated);
  ParsedAnswer parsed = parse_answer(schema(), answer.raw_text);
  answer.calls = parsed.calls;
  answer.raw_reply = parsed.reply;
  if (!parsed.ok()) answer.error = cat("invalid answer: ", parsed.error);
  return answer;
}

}  // namespace edgelm
