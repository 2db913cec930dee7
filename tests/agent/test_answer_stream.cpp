// Streaming an answer while it is decoded (AnswerObserver): the calls come
// first and before decoding ends, the reply in pieces that add up to exactly
// the reply of the same answer unstreamed, and no piece is sent that a later
// token could change (a placeholder half decoded, a character half decoded,
// words whose language the rest of the reply decides).
#include <gtest/gtest.h>

#include "agent/agent.h"
#include "agent/answer_stream.h"
#include "agent/format.h"
#include "agent_test_util.h"
#include "model/session.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const std::vector<std::string> kCommands = {"turn it on", "set a timer for 90 minutes", "sleep mode please",
                                            "공기 질 어때?", "turn it off and cancel the timer", "필터 상태 알려줘"};

TEST(AnswerStream, PiecesAddUpToTheReplyAndComeWhileDecoding) {
  const auto& m = test::tiny_agent_model();
  Agent plain(m.model, m.device, test::acting_freely()), streamed(m.model, m.device, test::acting_freely());
  int multi_piece = 0;
  for (const std::string& text : kCommands) {
    AgentAnswer whole = plain.respond(text);
    std::vector<Call> calls;
    std::vector<std::string> pieces;
    int64_t n_past_at_calls = -1, n_past_at_first_piece = -1;
    bool calls_first = true;
    AnswerObserver o;
    o.on_calls = [&](const std::vector<Call>& c) {
      calls_first = calls_first && pieces.empty();
      calls = c;
      n_past_at_calls = streamed.session().n_past();
    };
    o.on_reply = [&](std::string_view piece) {
      EXPECT_FALSE(piece.empty());
      if (pieces.empty()) n_past_at_first_piece = streamed.session().n_past();
      pieces.emplace_back(piece);
    };
    Device device(m.device);
    AgentAnswer a = streamed.respond(text, &device, {}, &o);
    const int64_t n_past_at_end = streamed.session().n_past();
    std::string joined;
    for (const auto& p : pieces) joined += p;
    EXPECT_EQ(a.calls, whole.calls) << text;
    EXPECT_EQ(a.reply, whole.reply) << text;
    EXPECT_EQ(a.truncated, whole.truncated) << text;
    EXPECT_EQ(calls, whole.calls) << text;
    EXPECT_EQ(joined, whole.reply) << text;
    EXPECT_TRUE(calls_first) << text;
    // The calls were out before the reply was decoded (the cache grew after them).
    EXPECT_GE(n_past_at_calls, 0) << text;
    EXPECT_LT(n_past_at_calls, n_past_at_end) << text;
    if (pieces.size() > 1) {
      ++multi_piece;
      EXPECT_LT(n_past_at_first_piece, n_past_at_end) << text;
    }
    // The device ran the calls once.
    Device again(m.device);
    for (const Call& c : whole.calls) {
      try {
        again.execute(c);
      } catch (const Error&) {
      }
    }
    EXPECT_EQ(device.state_json(), again.state_json()) << text;
  }
  EXPECT_GT(multi_piece, 0) << "no reply came in more than one piece";
}

// The answer's text as decoding would give it, one character more at a time.
std::vector<std::string> piece_by_piece(const DomainSchema& schema, const std::string& answer,
                                        const std::function<void(Device&)>& setup, std::string* reply) {
  Device device(test::air_purifier_device());
  setup(device);
  std::vector<std::string> pieces;
  AnswerObserver o;
  o.on_reply = [&](std::string_view p) { pieces.emplace_back(p); };
  AnswerStream s(schema, device, o, true);
  // Special tokens ("<|fn:...|>", "<|end|>") come whole, as decoding gives them; placeholders byte by byte.
  for (size_t n = 1; n <= answer.size(); ++n) {
    if (answer.compare(n - 1, 2, "<|") == 0) n = answer.find("|>", n) + 2;
    s.update(answer.substr(0, n));
  }
  AgentAnswer a;
  ParsedAnswer parsed = parse_answer(schema, answer);
  EXPECT_TRUE(parsed.ok()) << parsed.error;
  a.calls = parsed.calls;
  a.raw_reply = parsed.reply;
  s.finish(a);
  *reply = a.reply;
  return pieces;
}

TEST(AnswerStream, NothingIsSentThatALaterTokenCouldChange) {
  const DomainSchema schema = test::air_purifier_schema();
  auto none = [](Device&) {};
  std::string reply;
  // Byte by byte, through a Hangul character: never half a character.
  auto pieces = piece_by_piece(schema, "<|fn:set_timer|>90 타이머 {minutes}분<|end|>", none, &reply);
  std::string joined;
  for (const auto& p : pieces) {
    EXPECT_TRUE(utf8_whole_prefix(p) == p.size()) << p;
    joined += p;
  }
  EXPECT_EQ(joined, reply);
  EXPECT_EQ(reply, "타이머 90분");
  EXPECT_GT(pieces.size(), 3u);

  // A placeholder whose words depend on the reply's language: English words
  // before it, then enough Hangul after it to make the reply Korean. Sent
  // early in English it would read "moderate"; the reply says "보통".
  const std::string raw = "Air {air_level} 공기가 아주 맑아요 오늘은";
  pieces = piece_by_piece(schema, "<|fn:get_air_quality|> " + raw + "<|end|>", none, &reply);
  joined.clear();
  for (const auto& p : pieces) joined += p;
  EXPECT_EQ(joined, reply);
  Device d(test::air_purifier_device());
  d.execute({"get_air_quality", {}});
  EXPECT_EQ(reply, d.fill_placeholders(raw, "ko"));
  EXPECT_NE(reply, d.fill_placeholders(raw, "en"));
  // The text before the placeholder went out as it came; the rest waited for the end.
  ASSERT_GE(pieces.size(), 2u);
  EXPECT_EQ(joined.substr(0, joined.size() - pieces.back().size()), "Air ");
}

TEST(Agent, ReplyCutAtItsBudgetIsTruncated) {
  const auto& m = test::tiny_agent_model();
  AgentOptions o;
  o.max_reply_tokens = 2;
  Agent short_replies(m.model, m.device, o), normal(m.model, m.device);
  int cut = 0;
  for (const std::string& text : kCommands) {
    AgentAnswer a = short_replies.respond(text);
    AgentAnswer b = normal.respond(text);
    // Cut when the reply spent its 2 tokens.
    if (a.truncated) ++cut;
    EXPECT_LE(a.tokens_generated, b.tokens_generated) << text;
    EXPECT_EQ(a.calls, b.calls) << text;  // the budget is the reply's only
  }
  EXPECT_GT(cut, 0) << "the tiny model's replies are longer than 2 tokens";
}

}  // namespace
}  // namespace edgelm
