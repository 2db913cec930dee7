// Grammar tables: answers the schema grammar must accept and must reject, GBNF
// parsing, and the mask against a per-token brute force.
#include <gtest/gtest.h>

#include "agent/answer_grammar.h"
#include "agent/format.h"
#include "agent/grammar.h"
#include "agent/grammar_matcher.h"
#include "agent_test_util.h"
#include "grammar_test_util.h"
#include "platform/error.h"
#include "platform/random.h"

namespace edgelm {
namespace {

struct GrammarFixture {
  DomainSchema schema = test::air_purifier_schema();
  std::shared_ptr<const TokenVocab> vocab = test::synthetic_vocab(schema);
};

// True if the whole text (tokenised byte by byte) is a complete answer under the
// constraint with this reply budget.
bool accepts_answer(const GrammarFixture& f, const std::string& text, int max_reply_tokens = 48) {
  return test::accepts_answer(f.schema, f.vocab, text, max_reply_tokens);
}

TEST(AnswerGrammar, AcceptsValidAnswers) {
  GrammarFixture f;
  for (const char* text : {
           " Sorry, I can only control the air purifier.<|end|>",
           "<|fn:set_power|>on Done.<|end|>",
           "<|fn:set_power|>on<|fn:set_mode|>sleep Sleep mode on.<|end|>",
           "<|fn:set_timer|>1 Off in a minute.<|end|>",
           "<|fn:set_timer|>720 Off in 12 hours.<|end|>",
           "<|fn:set_timer|>90 Timer set to {minutes} minutes.<|end|>",
           "<|fn:start_breathing|> Let's breathe.<|end|>",
           "<|fn:start_breathing|>30 Breathe for {minutes} minutes.<|end|>",
           "<|fn:get_air_quality|> PM2.5 is {pm25} ({air_level}).<|end|>",
           "<|fn:cancel_timer|><|fn:stop_sound|> Timer and sound off.<|end|>",
           "<|fn:play_sound|>white_noise 백색 소음을 틀었어요.<|end|>",
           "<|fn:get_wellness_tip|>stress {tip}<|end|>",
           "<|fn:set_fan_speed|>medium 풍량을 중간으로 맞췄어요.<|end|>",
           " 1 < 2, a<<b, x|y, <{pm25}>.<|end|>",
       })
    EXPECT_TRUE(accepts_answer(f, text)) << text;
}

TEST(AnswerGrammar, RejectsInvalidAnswers) {
  GrammarFixture f;
  for (const char* text : {
           "",                                              // nothing
           "<|fn:set_power|>on Done.",                      // no end token
           "<|fn:set_power|>maybe Done.<|end|>",            // value outside the enum
           "<|fn:set_power|> Done.<|end|>",                 // required argument missing
           "<|fn:set_timer|>0 Off.<|end|>",                 // below the range
           "<|fn:set_timer|>721 Off.<|end|>",               // above the range
           "<|fn:set_timer|>090 Off.<|end|>",               // leading zero
           "<|fn:set_timer|>-5 Off.<|end|>",                // negative
           "<|fn:start_breathing|>31 Breathe.<|end|>",      // optional argument out of range
           "<|fn:cancel_timer|>now Done.<|end|>",           // argument to a function without any
           "<|fn:set_power|>on<|end|>",                     // no reply
           "<|fn:set_power|>onDone.<|end|>",                // no space before the reply
           " Timer set to {minutes} minutes.<|end|>",       // {minutes} without a call that has it
           "<|fn:start_breathing|> Breathe for {minutes} minutes.<|end|>",  // ... or gives it
           " Hello {nothing}.<|end|>",                      // raw braces
           " Line one\nline two.<|end|>",                   // control character in the reply
           " Done.<|end|><|end|>",                          // anything after the end
           " Done.<|fn:set_power|>on<|end|>",               // a call after the reply
           " \xEC\x95 broken.<|end|>",                      // a Hangul syllable cut short
           " a <|b.<|end|>",                                // "<|" spells a special token in the text
           " a <<|b.<|end|>",
           " ends in <<|end|>",                             // '<' must be followed by something
       })
    EXPECT_FALSE(accepts_answer(f, text)) << text;
}

TEST(AnswerGrammar, IntegerRangesAreExact) {
  for (auto [lo, hi] : std::vector<std::pair<int64_t, int64_t>>{{1, 720}, {1, 30}, {0, 9}, {-15, 15}, {100, 100}, {7, 1234}}) {
    Grammar g;
    uint32_t root = g.add_rule("root");
    g.define_rule(root, integer_range_alternatives(g, lo, hi));
    g.finalize();
    auto grammar = std::make_shared<Grammar>(std::move(g));
    GrammarAutomaton a(grammar, test::synthetic_vocab(test::air_purifier_schema()));
    for (int64_t v = -30; v <= 1300; ++v) {
      int32_t s = a.next_bytes(a.start_state(), std::to_string(v));
      EXPECT_EQ(a.accepting(s), v >= lo && v <= hi) << v << " in " << lo << ".." << hi;
    }
    EXPECT_FALSE(a.accepting(a.next_bytes(a.start_state(), "0" + std::to_string(hi))));
  }
}

TEST(AnswerGrammar, TokenSplittingHangulSyllable) {
  GrammarFixture f;
  // "안" is EC 95 88; the vocabulary has "\xEC\x95" (ends inside it) and "\x88\xEB\x85" (its last
  // byte and the first two of "녕"), and "\x95" (a lone continuation byte).
  auto id_of = [&](const std::string& bytes) {
    for (int32_t id = 0; id < f.vocab->n_vocab(); ++id)
      if (!f.vocab->is_special(id) && f.vocab->bytes(id) == bytes) return id;
    return -1;
  };
  AnswerConstraint c(f.schema, f.vocab, 48);
  c.accept(id_of(" "));
  int32_t head = id_of("\xEC\x95"), mid = id_of("\x88\xEB\x85"), cont = id_of("\x95"), a = id_of("a");
  EXPECT_TRUE(mask_test(c.mask(), head));
  EXPECT_FALSE(mask_test(c.mask(), cont));  // a continuation byte cannot start a character
  c.accept(head);
  EXPECT_FALSE(mask_test(c.mask(), c.end_id()));  // cannot end inside a character
  EXPECT_FALSE(mask_test(c.mask(), a));
  EXPECT_TRUE(mask_test(c.mask(), mid));
  c.accept(mid);  // now inside "녕": one continuation byte left
  EXPECT_TRUE(mask_test(c.mask(), cont));
  EXPECT_FALSE(mask_test(c.mask(), c.end_id()));
  c.accept(cont);
  EXPECT_TRUE(mask_test(c.mask(), c.end_id()));
  c.accept(c.end_id());
  EXPECT_TRUE(c.done());
}

TEST(AnswerGrammar, FromCommandArgumentsTakeTheCommandsNumbers) {
  GrammarFixture f;  // the air purifier: set_timer minutes (1..720) and start_breathing minutes (1..30) are from_command
  auto id_of = [&](const std::string& bytes) {
    for (int32_t id = 0; id < f.vocab->n_vocab(); ++id)
      if (f.vocab->bytes(id) == bytes) return id;
    ADD_FAILURE() << "no token '" << bytes << "'";
    return -1;
  };
  const int32_t timer = id_of("<|fn:set_timer|>"), breathing = id_of("<|fn:start_breathing|>"), power = id_of("<|fn:set_power|>");
  auto allowed = [&](AnswerConstraint& c, const std::string& bytes) { return mask_test(c.mask(), id_of(bytes)); };

  AnswerConstraint c(f.schema, f.vocab, 48);
  c.set_command("rain sound 틀고 timer 30분");
  c.accept(timer);
  EXPECT_TRUE(allowed(c, "3"));
  for (const char* t : {"1", "9", "12", "720", "00", "90", " "}) EXPECT_FALSE(allowed(c, t)) << t;
  c.accept(id_of("3"));
  EXPECT_TRUE(allowed(c, "0"));
  EXPECT_FALSE(allowed(c, " "));  // 3 is not the command's number
  EXPECT_FALSE(allowed(c, "<|fn:set_power|>"));
  c.accept(id_of("0"));
  EXPECT_FALSE(allowed(c, "0"));  // not 300
  EXPECT_TRUE(allowed(c, " "));
  EXPECT_TRUE(allowed(c, "<|fn:set_power|>"));
  c.accept(power);  // another call's arguments are not limited
  EXPECT_TRUE(allowed(c, "on"));
  c.accept(id_of("on"));
  c.accept(id_of(" "));  // the reply: numbers are free there
  EXPECT_TRUE(allowed(c, "9"));

  // reset() keeps the command; numbers said in words are read first; several numbers are all candidates,
  // each argument keeping those in its range.
  c.set_command("10분 숨쉬기 and off in an hour and a half");
  c.reset();
  c.accept(breathing);
  EXPECT_TRUE(allowed(c, "1"));
  EXPECT_FALSE(allowed(c, "9"));  // 90 is above start_breathing's 30
  EXPECT_TRUE(allowed(c, " "));   // minutes is optional: it may be left out
  c.accept(id_of("1"));
  c.accept(id_of("0"));
  c.accept(timer);
  EXPECT_TRUE(allowed(c, "9"));
  EXPECT_TRUE(allowed(c, "90"));
  EXPECT_TRUE(allowed(c, "1"));
  EXPECT_FALSE(allowed(c, "3"));

  // No limit without numbers, or when none is in range.
  for (const char* command : {"", "set a timer", "timer 1000 minutes"}) {
    c.set_command(command);
    c.reset();
    c.accept(timer);
    EXPECT_TRUE(allowed(c, "9")) << command;
    EXPECT_TRUE(allowed(c, "720")) << command;
  }
}

TEST(AnswerGrammar, ReplyAtTheLengthLimit) {
  GrammarFixture f;
  const int limit = 6;
  // " abcde" is 6 byte tokens: exactly at the limit.
  EXPECT_TRUE(accepts_answer(f, "<|fn:set_power|>on abcde<|end|>", limit));
  EXPECT_FALSE(accepts_answer(f, "<|fn:set_power|>on abcdef<|end|>", limit));
  // At the limit only the end token remains, even mid-reply.
  AnswerConstraint c(f.schema, f.vocab, limit);
  for (int32_t id : test::tokenize_bytes(*f.vocab, " abcde")) c.accept(id);
  EXPECT_EQ(c.forced_token(), c.end_id());
  // One before the limit, a token that would leave a character open is masked out.
  AnswerConstraint d(f.schema, f.vocab, limit);
  for (int32_t id : test::tokenize_bytes(*f.vocab, " abcd")) d.accept(id);
  int32_t head = -1;
  for (int32_t id = 0; id < f.vocab->n_vocab(); ++id)
    if (!f.vocab->is_special(id) && f.vocab->bytes(id) == "\xEC\x95") head = id;
  EXPECT_FALSE(mask_test(d.mask(), head));
  EXPECT_TRUE(mask_test(d.mask(), test::tokenize_bytes(*f.vocab, "x")[0]));
}

// A call that repeats an earlier one (same function, same values, however the values
// were split into tokens) is noted by the token that closes it; the decoder can go back
// to where it began and end the calls there.
TEST(AnswerGrammar, NotesACallThatRepeatsAnEarlierOne) {
  GrammarFixture f;
  int32_t ninety = -1;
  for (int32_t id = 0; id < f.vocab->n_vocab(); ++id)
    if (!f.vocab->is_special(id) && f.vocab->bytes(id) == "90") ninety = id;
  ASSERT_GE(ninety, 0);
  AnswerConstraint c(f.schema, f.vocab, 48);
  auto feed = [&](const std::string& text) {
    for (int32_t id : test::tokenize_bytes(*f.vocab, text)) c.accept(id);
  };
  feed("<|fn:set_timer|>90<|fn:set_power|>on<|fn:set_power|>");
  EXPECT_EQ(c.repeated_call(), -1);
  feed("off");  // the same function with another value is another call
  const AnswerConstraint::Position before_third = c.position();
  feed("<|fn:set_timer|>");
  EXPECT_EQ(c.repeated_call(), -1);
  c.accept(ninety);  // "90" as one token, where the first call had "9" "0"
  EXPECT_EQ(c.repeated_call(), -1);  // not closed yet: "900" would be another call
  feed("<|fn:stop_sound|>");
  EXPECT_EQ(c.repeated_call(), 3);
  // Back to where that call began, and the calls end there: no function token, the reply follows.
  c.rewind(before_third);
  EXPECT_EQ(c.repeated_call(), -1);
  c.end_calls();
  for (int32_t id = 0; id < f.vocab->n_vocab(); ++id)
    if (c.is_function_token(id)) {
      EXPECT_FALSE(mask_test(c.mask(), id)) << f.vocab->bytes(id);
    }
  feed(" Done.<|end|>");
  EXPECT_TRUE(c.done());
  EXPECT_EQ(c.calls(), 3);
  // A call repeated last is noted by the reply's space; reset forgets the calls.
  c.reset();
  feed("<|fn:stop_sound|><|fn:stop_sound|>");
  EXPECT_EQ(c.repeated_call(), -1);
  feed(" ");
  EXPECT_EQ(c.repeated_call(), 1);
  c.reset();
  feed("<|fn:stop_sound|> Done.<|end|>");
  EXPECT_EQ(c.repeated_call(), -1);
}

// The cached trie-walk mask equals asking the automaton about each token alone.
TEST(AnswerGrammar, MaskMatchesBruteForce) {
  GrammarFixture f;
  AnswerConstraint c(f.schema, f.vocab, 12);
  GrammarAutomaton& a = c.automaton();
  Rng rng(7);
  for (int walk = 0; walk < 40; ++walk) {
    int32_t s = a.start_state();
    for (int step = 0; step < 30 && !a.finished(s); ++step) {
      const uint32_t* m = a.mask(s);
      std::vector<int32_t> allowed;
      for (int32_t id = 0; id < f.vocab->n_vocab(); ++id) {
        bool brute = a.next_token(s, id) >= 0;
        ASSERT_EQ(mask_test(m, id), brute) << "state " << s << " token '" << f.vocab->bytes(id) << "'";
        if (brute) allowed.push_back(id);
      }
      ASSERT_FALSE(allowed.empty());
      s = a.next_token(s, allowed[rng.below(allowed.size())]);
    }
  }
}

TEST(Gbnf, ParsesAndMatches) {
  const char* text = R"(
# a tiny JSON-like language
root   ::= object
object ::= "{" ws ( pair ( "," ws pair )* )? "}"
pair   ::= string ":" ws value
value  ::= string | number | object | "true" | "false"
string ::= "\"" [^"\\\x00-\x1F]* "\""
number ::= "-"? [0-9]+ ("." [0-9]{1,3})?
ws     ::= [ \t\n]*
)";
  auto g = std::make_shared<Grammar>(parse_gbnf(text));
  GrammarAutomaton a(g, test::synthetic_vocab(test::air_purifier_schema()));
  auto accepts = [&](const std::string& s) { return a.accepting(a.next_bytes(a.start_state(), s)); };
  EXPECT_TRUE(accepts("{}"));
  EXPECT_TRUE(accepts("{\"a\":1}"));
  EXPECT_TRUE(accepts("{\"a\": {\"b\": -2.125, \"c\": \"한국어\"}, \"d\": true}"));
  EXPECT_FALSE(accepts("{\"a\":1,}"));
  EXPECT_FALSE(accepts("{\"a\":1.1234}"));  // at most 3 decimals
  EXPECT_FALSE(accepts("{\"a\":01x}"));
  EXPECT_FALSE(accepts("{\"a\":\"\x01\"}"));
  EXPECT_FALSE(accepts("{\"a\":\"\xEC\x95\"}"));  // a string cut inside a character
  EXPECT_FALSE(accepts("{"));
}

TEST(Gbnf, SpecialTokensAndEscapes) {
  auto g = std::make_shared<Grammar>(parse_gbnf("root ::= \"\\x41\\u00e9\" [\\u3131-\\u318E]+ <|end|>\n"));
  GrammarFixture f;
  GrammarAutomaton a(g, f.vocab);
  int32_t s = a.next_bytes(a.start_state(), "Aé\xE3\x85\x8E");  // ㅎ U+314E
  ASSERT_GE(s, 0);
  EXPECT_FALSE(a.accepting(s));
  s = a.next_token(s, *f.vocab->special_id("<|end|>"));
  EXPECT_TRUE(a.accepting(s));
}

TEST(Gbnf, RejectsBadGrammars) {
  auto fails_with = [](const std::string& text, const std::string& needle) {
    try {
      parse_gbnf(text);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
      return;
    }
    ADD_FAILURE() << "accepted: " << text;
  };
  fails_with("root ::= root \"a\" | \"b\"\n", "left-recursive");
  fails_with("root ::= x\nx ::= y \"a\"\ny ::= \"\" | x\n", "left-recursive");
  fails_with("root ::= opt root \"a\"\nopt ::= \"b\"?\n", "left-recursive");  // after a nullable prefix
  fails_with("root ::= undefined\n", "never defined");
  fails_with("root ::= \"abc\n", "unterminated");
  fails_with("root ::= [a-\n", "unterminated");
  fails_with("x ::= \"a\"\n", "no rule named 'root'");
  fails_with("root ::= \"a\"{2000}\n", "repetition");
  fails_with(std::string("root ::= ") + std::string(1000, '(') + "\"a\"" + std::string(1000, ')') + "\n", "nested");
  fails_with("root ::= \"a\" \\q\n", "line 1");
}

TEST(Gbnf, DeepRightRecursionIsBoundedNotACrash) {
  // Balanced parentheses nest without limit in the grammar; matching bounds
  // the stack depth instead of growing it forever.
  auto g = std::make_shared<Grammar>(parse_gbnf("root ::= \"(\" root \")\" | \"x\"\n"));
  GrammarAutomaton a(g, test::synthetic_vocab(test::air_purifier_schema()));
  EXPECT_TRUE(a.accepting(a.next_bytes(a.start_state(), "((((x))))")));
  std::string deep(5000, '(');
  EXPECT_LT(a.next_bytes(a.start_state(), deep), 0);  // too deep: the parse dies instead of overflowing
}

}  // namespace
}  // namespace edgelm
