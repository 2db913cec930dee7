// The agent end to end on a tiny random-weight model: every constrained answer
// is valid, fast-forward changes nothing but the pass count, the prefix cache
// changes nothing at all.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <set>

#include "agent/agent.h"
#include "agent/answer_grammar.h"
#include "agent/format.h"
#include "agent_test_util.h"
#include "model/session.h"
#include "platform/error.h"

namespace edgelm {
namespace {

TEST(AgentFormat, TrainingExampleRendersAndMasksTheAnswer) {
  const auto& m = test::tiny_agent_model();
  const Tokenizer& tok = *m.model->tokenizer();
  nlohmann::json ex = nlohmann::json::parse(R"({"id": "g1", "lang": "en", "messages": [
      {"role": "user", "content": "turn it on in sleep mode"},
      {"role": "assistant", "content": "Sleep mode on for {minutes} min.", "tool_calls": [
        {"type": "function", "function": {"name": "set_power", "arguments": {"state": "on"}}},
        {"type": "function", "function": {"name": "set_timer", "arguments": {"minutes": 90}}}]}]})");
  RenderedExample r = render_training_example(m.schema, tok, ex);
  ASSERT_EQ(r.tokens.size(), r.loss_mask.size());
  std::string text = tok.decode(r.tokens);
  EXPECT_EQ(text, render_system_text(m.schema) +
                      "<|user|>turn it on in sleep mode<|assistant|><|fn:set_power|>on<|fn:set_timer|>90 Sleep mode on "
                      "for {minutes} min.<|end|>");
  // The mask covers exactly the answer: from the first token after <|assistant|> to <|end|>.
  int32_t assistant = *tok.special_id(kAssistantToken);
  size_t first = std::find(r.tokens.begin(), r.tokens.end(), assistant) - r.tokens.begin() + 1;
  for (size_t i = 0; i < r.tokens.size(); ++i) EXPECT_EQ(r.loss_mask[i], i >= first ? 1 : 0) << i;
  EXPECT_EQ(r.tokens.back(), *tok.special_id(kEndToken));
  EXPECT_NE(std::find(r.tokens.begin(), r.tokens.end(), *tok.special_id("{minutes}")), r.tokens.end());
  // A user cannot inject special tokens.
  auto user = render_user_tokens(tok, "<|end|> hi");
  EXPECT_EQ(std::count(user.begin(), user.end(), *tok.special_id(kEndToken)), 0);
  // The model reads numbers in digits, in training and at run time alike (lang/number_reader.h).
  EXPECT_EQ(tok.decode(render_user_tokens(tok, "timer for an hour and a half")), "<|user|>timer for 90 minutes<|assistant|>");
  EXPECT_EQ(render_history_text(m.schema, {Turn{"십 분 타이머", {}}}), "<|user|>10분 타이머<|assistant|><|end|>");
  // ... and words in capitals in small letters, without closing punctuation (domain/language.h model_text).
  EXPECT_EQ(tok.decode(render_user_tokens(tok, "PURIFIER ON!")), "<|user|>purifier on<|assistant|>");
  EXPECT_EQ(render_history_text(m.schema, {Turn{"is it on?", {}}}), "<|user|>is it on<|assistant|><|end|>");
  // Bad examples are errors naming the example.
  EXPECT_THROW(render_training_example(m.schema, tok, nlohmann::json::parse(R"({"id": "x", "messages": []})")), Error);
  nlohmann::json bad = ex;
  bad["messages"][1]["tool_calls"][0]["function"]["arguments"]["state"] = "maybe";
  try {
    render_training_example(m.schema, tok, bad);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("\"g1\""), std::string::npos) << e.what();
  }
}

TEST(AgentFormat, HistoryCallsAreTargetsOnlyWhenAsked) {
  const auto& m = test::tiny_agent_model();
  const Tokenizer& tok = *m.model->tokenizer();
  nlohmann::json ex = nlohmann::json::parse(R"({"id": "d1", "lang": "en", "messages": [
      {"role": "user", "content": "play rain sounds"},
      {"role": "assistant", "content": "Rain on.", "tool_calls": [
        {"type": "function", "function": {"name": "play_sound", "arguments": {"sound": "rain"}}}]},
      {"role": "user", "content": "stop it"},
      {"role": "assistant", "content": "Stopped.", "tool_calls": [
        {"type": "function", "function": {"name": "stop_sound", "arguments": {}}}]}]})");
  RenderedExample plain = render_training_example(m.schema, tok, ex);
  RenderedExample both = render_training_example(m.schema, tok, ex, -1, 0, true);
  // The same tokens either way: only the mask differs.
  ASSERT_EQ(plain.tokens, both.tokens);
  ASSERT_EQ(both.tokens.size(), both.loss_mask.size());
  EXPECT_EQ(tok.decode(both.tokens), render_system_text(m.schema) +
                                         "<|user|>play rain sounds<|assistant|><|fn:play_sound|>rain<|end|>"
                                         "<|user|>stop it<|assistant|><|fn:stop_sound|> Stopped.<|end|>");
  const int32_t assistant = *tok.special_id(kAssistantToken), end = *tok.special_id(kEndToken);
  std::vector<size_t> assistants, ends;
  for (size_t i = 0; i < both.tokens.size(); ++i) {
    if (both.tokens[i] == assistant) assistants.push_back(i);
    if (both.tokens[i] == end) ends.push_back(i);
  }
  ASSERT_EQ(assistants.size(), 2u);
  ASSERT_EQ(ends.size(), 2u);
  for (size_t i = 0; i < both.tokens.size(); ++i) {
    // The earlier turn's calls (between its <|assistant|> and <|end|>, the end token excluded) and the last answer.
    const bool history_call = i > assistants[0] && i < ends[0];
    const bool answer = i > assistants[1];
    EXPECT_EQ(plain.loss_mask[i], answer ? 1 : 0) << i;
    EXPECT_EQ(both.loss_mask[i], history_call || answer ? 1 : 0) << i;
  }
}

TEST(AgentFormat, ParseRoundTripsAndRejects) {
  DomainSchema schema = test::air_purifier_schema();
  std::vector<Call> calls = {{"set_mode", {{"mode", std::string("sleep")}}},
                             {"set_timer", {{"minutes", int64_t(360)}}},
                             {"start_breathing", {}},
                             {"get_air_quality", {}}};
  std::string text = render_answer_text(schema, calls, "수면 모드, {minutes}분 뒤 꺼져요.");
  ParsedAnswer p = parse_answer(schema, text);
  ASSERT_TRUE(p.ok()) << p.error;
  EXPECT_EQ(p.calls, calls);
  EXPECT_EQ(p.reply, "수면 모드, {minutes}분 뒤 꺼져요.");
  for (const char* bad : {"<|fn:set_timer|>0 x<|end|>", "<|fn:nope|> x<|end|>", "<|fn:set_mode|>fast x<|end|>",
                          "<|fn:set_power|>on x", "<|fn:set_power|>on x<|end|>junk", "<|fn:set_timer|>09 x<|end|>",
                          "<|fn:set_power|> x<|end|>", "<|fn:set_power|>on,off x<|end|>"}) {
    ParsedAnswer q = parse_answer(schema, bad);
    EXPECT_FALSE(q.ok()) << bad;
    EXPECT_TRUE(q.calls.empty()) << bad;
  }
}

TEST(AgentFormat, CheckUserText) {
  EXPECT_EQ(check_user_text("turn it on"), "");
  EXPECT_EQ(check_user_text("켜줘\tplease"), "");
  EXPECT_NE(check_user_text(""), "");
  EXPECT_NE(check_user_text(std::string(5000, 'a')), "");
  EXPECT_NE(check_user_text("bad \xff byte"), "");
  EXPECT_NE(check_user_text("cut \xEC\x95"), "");
  EXPECT_NE(check_user_text("overlong \xC0\xAF"), "");
  EXPECT_NE(check_user_text("bell \x07"), "");
}

// Thousands of randomly sampled constrained answers: each parses, every call
// is valid for the schema and runs on the simulator.
// Hot random sampling (temperature 1.5): constrained decoding must hold whatever is drawn.
// A random model is never sure of a call, so these answers act at any probability.
AgentOptions hot_sampling(int max_reply_tokens, uint64_t seed) {
  AgentOptions o;
  o.min_action_probability = 0;
  o.max_reply_tokens = max_reply_tokens;
  o.sampler.temperature = 1.5f;
  o.sampler.seed = seed;
  return o;
}

TEST(Agent, RandomConstrainedAnswersAreAllValid) {
  const auto& m = test::tiny_agent_model();
  Agent agent(m.model, m.device, hot_sampling(6, 99));
  const char* commands[] = {"turn it on", "수면 모드", "timer 90", "how is the air", "play rain", "stop"};
  int n_calls = 0, n_answers = 1200;
  std::map<std::string, int> functions_seen;
  for (int i = 0; i < n_answers; ++i) {
    Device sim(m.device);
    AgentAnswer a = agent.respond(commands[i % 6], &sim);
    ASSERT_EQ(a.error, "") << a.raw_text;
    ParsedAnswer p = parse_answer(m.schema, a.raw_text);
    ASSERT_TRUE(p.ok()) << p.error << " in " << a.raw_text;
    for (const auto& c : a.calls) {
      ASSERT_EQ(validate_call(m.schema, c), "") << a.raw_text;
      ++functions_seen[c.name];
    }
    n_calls += int(a.calls.size());
    EXPECT_EQ(a.reply.find('{'), std::string::npos) << "unfilled placeholder: " << a.reply;
  }
  EXPECT_GT(n_calls, n_answers / 4);
  EXPECT_GE(functions_seen.size(), 10u);  // random sampling reaches most of the API
}

// Minutes are from_command in the air purifier's schema: whatever the sampler draws,
// a timer or breathing call said with a number takes one of the command's numbers.
TEST(Agent, SampledNumbersComeFromTheCommand) {
  const auto& m = test::tiny_agent_model();
  Agent agent(m.model, m.device, hot_sampling(4, 7));
  const std::pair<const char*, std::set<int64_t>> commands[] = {
      {"timer 90", {90}}, {"숨쉬기 10분 and off in an hour", {10, 60}}, {"set a timer for 45 minutes", {45}}};
  int n_numbers = 0;
  for (int i = 0; i < 900; ++i) {
    const auto& [command, numbers] = commands[i % 3];
    AgentAnswer a = agent.respond(command);
    ASSERT_EQ(a.error, "") << a.raw_text;
    for (const auto& c : a.calls)
      if (c.name == "set_timer" || c.name == "start_breathing")
        if (auto it = c.arguments.find("minutes"); it != c.arguments.end()) {
          const int64_t v = std::get<int64_t>(it->second);
          if (c.name == "start_breathing" && *numbers.begin() > 30) continue;  // no number in its range: free
          EXPECT_TRUE(numbers.count(v)) << command << ": " << a.raw_text;
          ++n_numbers;
        }
  }
  EXPECT_GT(n_numbers, 20);  // the sampler did reach those calls
}

// Hot sampling makes a random model repeat calls; with distinct_calls (the
// default) every such call is taken back and the answer stays whole and valid.
TEST(Agent, RepeatedCallsAreTakenBack) {
  const auto& m = test::tiny_agent_model();
  AgentOptions options = hot_sampling(6, 5);
  options.sampler.temperature = 3.0f;  // hotter than hot_sampling's: repeats come often enough to count
  Agent distinct(m.model, m.device, options);
  options.distinct_calls = false;
  Agent free(m.model, m.device, options);
  auto repeats = [](const std::vector<Call>& calls) {
    int n = 0;
    for (size_t i = 0; i < calls.size(); ++i)
      for (size_t j = i + 1; j < calls.size(); ++j) n += calls[i] == calls[j];
    return n;
  };
  const char* commands[] = {"turn it on", "stop", "timer 90", "play rain and stop"};
  int taken_back = 0, repeated = 0;
  for (int i = 0; i < 1000; ++i) {
    const char* command = commands[i % 4];
    Device sim(m.device);
    AgentAnswer a = distinct.respond(command, &sim);
    ASSERT_EQ(a.error, "") << a.raw_text;
    ASSERT_TRUE(parse_answer(m.schema, a.raw_text).ok()) << a.raw_text;
    EXPECT_EQ(repeats(a.calls), 0) << a.raw_text;
    EXPECT_EQ(a.reply.find('{'), std::string::npos) << a.reply;
    taken_back += a.calls_taken_back;
    repeated += repeats(free.respond(command).calls);
  }
  std::printf("%d repeated calls without the rule; %d taken back with it\n", repeated, taken_back);
  EXPECT_GT(repeated, 0);  // without the rule the sampler does repeat calls
  EXPECT_GT(taken_back, 0);
}

TEST(Agent, FastForwardGivesTheSameAnswerWithFewerPasses) {
  const auto& m = test::tiny_agent_model();
  AgentOptions with, without;
  with.max_reply_tokens = without.max_reply_tokens = 10;
  without.fast_forward = false;
  Agent a(m.model, m.schema, with), b(m.model, m.schema, without);
  int passes_with = 0, passes_without = 0, forced = 0;
  for (const char* cmd : {"turn it on", "set a timer for 90 minutes", "공기 질 어때", "play white noise", "stop"}) {
    AgentAnswer x = a.respond(cmd), y = b.respond(cmd);
    EXPECT_EQ(x.raw_text, y.raw_text) << cmd;
    EXPECT_EQ(x.tokens_generated, y.tokens_generated);
    EXPECT_LE(x.forward_passes, y.forward_passes);
    passes_with += x.forward_passes;
    passes_without += y.forward_passes;
    forced += x.tokens_forced;
  }
  EXPECT_GT(forced, 0);
  EXPECT_LT(passes_with, passes_without);
  std::printf("fast-forward: %d forced tokens, %d forward passes vs %d without\n", forced, passes_with, passes_without);
}

TEST(Agent, PrefixCacheGivesTheSameLogitsAsTheWholePrompt) {
  const auto& m = test::tiny_agent_model();
  const Tokenizer& tok = *m.model->tokenizer();
  std::vector<int32_t> system = render_system_tokens(m.schema, tok);
  InferenceSession cached(m.model);
  cached.eval(system);
  int64_t prefix = cached.n_past();
  for (const char* cmd : {"turn it on", "수면 모드로 바꿔줘", "set a timer for 90 minutes"}) {
    std::vector<int32_t> user = render_user_tokens(tok, cmd);
    cached.truncate(prefix);
    std::span<const float> got = cached.eval(user);
    std::vector<float> a(got.begin(), got.end());
    std::vector<int32_t> whole = system;
    whole.insert(whole.end(), user.begin(), user.end());
    InferenceSession fresh(m.model);
    std::span<const float> want = fresh.eval(whole);
    ASSERT_EQ(a.size(), want.size());
    float scale = 0;
    for (float v : want) scale = std::max(scale, std::fabs(v));
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], want[i], 1e-4f * (1 + scale)) << cmd << " logit " << i;
  }
  // The agent itself uses the cache: its prefix is the system part.
  Agent agent(m.model, m.device);
  EXPECT_EQ(agent.prefix_tokens(), int64_t(system.size()));
  agent.respond("turn it on");
  AgentAnswer again = agent.respond("turn it on");
  EXPECT_EQ(again.raw_text, agent.respond("turn it on").raw_text);
}

// min_action_probability: an answer that would begin with a state-changing
// call whose share of the first token's probability is below the bar begins
// otherwise; at or above it, and for every other answer, nothing changes.
TEST(Agent, AStateChangingCallNeedsItsProbability) {
  const auto& m = test::tiny_agent_model();
  auto first_writes = [&](const AgentAnswer& a) { return !a.calls.empty() && m.device->writes_state(a.calls[0].name); };
  auto with_bar = [&](float bar) {
    AgentOptions o;
    o.max_reply_tokens = 6;
    o.min_action_probability = bar;
    return o;
  };
  Agent plain(m.model, m.device, with_bar(0));
  const char* commands[] = {"turn it on", "stop", "timer 90", "play rain", "how is the air", "수면 모드",
                            "fan speed 3", "lock it", "필터 상태", "what is the weather", "off", "turbo please"};
  int acting = 0, not_acting = 0;
  for (const char* command : commands) {
    AgentAnswer a = plain.respond(command);
    ASSERT_EQ(a.error, "") << a.raw_text;
    ASSERT_GE(a.action_probability, 0.0f);
    ASSERT_LE(a.action_probability, 1.0f);
    EXPECT_FALSE(a.action_withheld);
    const float p = a.action_probability;
    Agent at(m.model, m.device, with_bar(p));  // exactly its probability: the same answer
    AgentAnswer same = at.respond(command);
    EXPECT_EQ(same.raw_text, a.raw_text) << command;
    EXPECT_FALSE(same.action_withheld);
    if (!first_writes(a) || p >= 1.0f) {
      ++not_acting;
      Agent strict(m.model, m.device, with_bar(1.0f));
      AgentAnswer s = strict.respond(command);
      EXPECT_EQ(s.raw_text, a.raw_text) << command;  // nothing to withhold
      EXPECT_FALSE(s.action_withheld) << command;
      continue;
    }
    ++acting;
    Agent above(m.model, m.device, with_bar(std::nextafter(p, 2.0f)));
    AgentAnswer b = above.respond(command);
    ASSERT_EQ(b.error, "") << b.raw_text;
    EXPECT_TRUE(b.action_withheld) << command;
    EXPECT_FALSE(first_writes(b)) << command << ": " << b.raw_text;
    EXPECT_FLOAT_EQ(b.action_probability, p);
  }
  EXPECT_GT(acting, 0);  // the random model acts on some of them
  EXPECT_GT(not_acting, 0);
  // Sampled answers too (1,500: enough that some withheld answers go on to a query
  // and then would act): at bar 1 no answer begins with a state-changing call (unless
  // nothing else had any probability in float).
  AgentOptions hot = hot_sampling(6, 11);
  hot.min_action_probability = 1.0f;
  Agent careful(m.model, m.device, hot);
  hot.min_action_probability = 0;
  Agent careless(m.model, m.device, hot);
  int careless_acted = 0, withheld = 0;
  for (int i = 0; i < 1500; ++i) {
    const char* command = commands[i % std::size(commands)];
    AgentAnswer a = careful.respond(command);
    ASSERT_EQ(a.error, "") << a.raw_text;
    EXPECT_TRUE(!first_writes(a) || a.action_probability >= 1.0f) << command << ": " << a.raw_text;
    if (a.action_withheld) {  // nor does a withheld answer act in a later call
      for (const Call& call : a.calls) EXPECT_FALSE(m.device->writes_state(call.name)) << command << ": " << a.raw_text;
    }
    withheld += a.action_withheld;
    careless_acted += first_writes(careless.respond(command));
  }
  EXPECT_GT(careless_acted, 0);
  EXPECT_GT(withheld, 0);
  // Bars outside [0, 1] are refused.
  for (float bad : {-0.1f, 1.5f, std::nanf("")}) {
    EXPECT_THROW(Agent(m.model, m.device, with_bar(bad)), Error) << bad;
    EXPECT_THROW(plain.set_options(with_bar(bad)), Error) << bad;
  }
}

// The probability the bar compares, worked out here on its own: the prompt evaluated
// in a fresh session, the grammar's first mask, a softmax over the allowed tokens, the
// share of the function tokens whose calls change the device's state.
TEST(Agent, TheActionProbabilityIsTheStateChangingCallsShareOfTheFirstToken) {
  const auto& m = test::tiny_agent_model();
  const Tokenizer& tok = *m.model->tokenizer();
  AgentOptions o;
  o.max_reply_tokens = 6;
  o.min_action_probability = 0;
  Agent agent(m.model, m.device, o);
  std::set<int32_t> acting;
  for (const auto& f : m.schema.functions)
    if (m.device->writes_state(f.name)) acting.insert(*tok.special_id(function_token(f.name)));
  ASSERT_FALSE(acting.empty());
  ASSERT_LT(acting.size(), m.schema.functions.size());  // queries too: the share is not all or nothing
  for (const char* command : {"turn it on", "how is the air", "timer 90", "what is the weather", "수면 모드"}) {
    AgentAnswer a = agent.respond(command);
    ASSERT_EQ(a.error, "") << a.raw_text;
    std::vector<int32_t> prompt = render_system_tokens(m.schema, tok);
    std::vector<int32_t> user = render_user_tokens(tok, command);
    prompt.insert(prompt.end(), user.begin(), user.end());
    InferenceSession session(m.model);
    std::span<const float> logits = session.eval(prompt);
    AnswerConstraint c(m.schema, TokenVocab::from_tokenizer(tok), o.max_reply_tokens);
    c.set_command(command);
    const uint32_t* mask = c.mask();
    double all = 0, writes = 0;
    int n_allowed = 0;
    for (int32_t id = 0; id < int32_t(logits.size()); ++id) {
      if (!((mask[id / 32] >> (id % 32)) & 1u)) continue;
      ++n_allowed;
      const double e = std::exp(double(logits[size_t(id)]));
      all += e;
      if (acting.count(id)) writes += e;
    }
    ASSERT_GT(n_allowed, int(acting.size())) << command;  // text and queries are allowed as well
    EXPECT_NEAR(a.action_probability, writes / all, 1e-5) << command;
    EXPECT_GT(a.action_probability, 0.0f) << command;
  }
}

TEST(Agent, FreeDecodingReportsInvalidOutput) {
  const auto& m = test::tiny_agent_model();
  AgentOptions o;
  o.constrained = false;
  o.max_call_tokens = 8;
  o.max_reply_tokens = 8;
  o.sampler.temperature = 1.0f;
  Agent agent(m.model, m.device, o);
  int invalid = 0;
  for (int i = 0; i < 20; ++i) {
    AgentAnswer a = agent.respond("turn it on");
    if (!a.error.empty()) {
      ++invalid;
      EXPECT_TRUE(a.calls.empty());
    }
  }
  EXPECT_GT(invalid, 0);  // a random model does not write the format by chance
}

TEST(Agent, RejectsAModelWithoutTheSpecialTokens) {
  Tokenizer tok = train_bpe({"hello world hello world"}, 300, {"<|end|>"});
  ModelConfig c = model_shape("tiny");
  c.n_vocab = tok.n_vocab();
  WeightsF32 w = init_random_weights(c, 1);
  GgufMetadata extra;
  tok.write_to(extra);
  std::string path = test::tiny_agent_model().path + ".nospecial.gguf";
  save_weights_gguf(path, w, TensorType::F32, &extra);
  try {
    Agent agent(Model::load(path), test::air_purifier_schema());
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("<|system|>"), std::string::npos) << e.what();
  }
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace edgelm

namespace edgelm {
namespace {

// A conversation kept in the KV cache answers each turn exactly as the whole
// conversation rendered at once does (same tokens, so the same greedy answer).
TEST(Conversation, IncrementalTurnsEqualTheWholeConversationAtOnce) {
  const auto& m = test::tiny_agent_model();
  AgentOptions o;
  o.max_reply_tokens = 6;
  Agent incremental(m.model, m.device, o), whole(m.model, m.device, o);
  Device state(m.device);
  const char* turns[] = {"turn it on", "수면 모드", "timer 90", "how is the air", "play rain"};
  std::vector<Turn> history;
  for (const char* t : turns) {
    AgentAnswer a = incremental.converse(t, state);
    Device replay(m.device);
    for (const auto& h : history)
      for (const auto& c : h.calls) replay.execute(c);
    AgentAnswer b = whole.respond(t, &replay, history);
    EXPECT_EQ(a.raw_text, b.raw_text) << "turn " << history.size();
    EXPECT_EQ(a.calls, b.calls);
    EXPECT_EQ(a.reply, b.reply);
    history.push_back({t, b.calls});
  }
  EXPECT_EQ(incremental.conversation(), history);
  incremental.reset_conversation();
  EXPECT_TRUE(incremental.conversation().empty());
  AgentAnswer fresh = incremental.converse(turns[0], state);
  EXPECT_EQ(fresh.raw_text, whole.respond(turns[0], nullptr).raw_text);
}

TEST(Conversation, HistoryStaysWithinItsBudget) {
  const auto& m = test::tiny_agent_model();
  AgentOptions o;
  o.min_action_probability = 0;  // calls fill the history: the random model's, at any probability
  o.max_reply_tokens = 4;
  o.max_history_tokens = 40;
  Agent agent(m.model, m.device, o);
  Device state(m.device);
  for (int i = 0; i < 30; ++i) {
    agent.converse(i % 2 ? "turn it on please" : "수면 모드로 바꿔줘", state);
    int64_t tokens = int64_t(render_history_tokens(m.schema, *m.model->tokenizer(), agent.conversation()).size());
    // The history before this turn fit the budget; with this turn it may exceed it by one turn.
    ASSERT_LE(tokens, 40 + 40) << "turn " << i;
  }
  EXPECT_LT(agent.conversation().size(), 30u);
  EXPECT_GE(agent.conversation().size(), 1u);
  // The kept history still answers as the whole conversation does.
  std::vector<Turn> kept = agent.conversation();
  Agent whole(m.model, m.device, o);
  AgentAnswer a = agent.converse("stop", state);
  Device replay(m.device);
  EXPECT_EQ(a.raw_text, whole.respond("stop", &replay, kept).raw_text);
}

}  // namespace
}  // namespace edgelm
