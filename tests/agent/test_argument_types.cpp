// Every argument type through the agent format and the answer grammar:
// numbers, booleans, free-text strings (length bound, Hangul, empty) and
// partial calls, as accept/reject tables, and render -> parse round trips.
#include <gtest/gtest.h>

#include "agent/answer_grammar.h"
#include "agent/format.h"
#include "grammar_test_util.h"
#include "platform/error.h"

namespace edgelm {
namespace {

const char* kSchema = R"(
domain = "every-type"

[[function]]
name = "set_level"
  [[function.argument]]
  name = "level"
  type = "number"
  min = -2.5
  max = 30
  [[function.argument]]
  name = "on"
  type = "boolean"
  optional = true

[[function]]
name = "note"
  [[function.argument]]
  name = "text"
  type = "string"
  max_length = 8
  [[function.argument]]
  name = "count"
  type = "integer"
  min = -3
  max = 12
  optional = true

[[function]]
name = "move"
  [[function.argument]]
  name = "room"
  type = "enum"
  values = ["kitchen", "hall"]
  optional = true
  [[function.argument]]
  name = "speed"
  type = "integer"
  min = 1
  max = 5
  optional = true
  default = 2
)";

struct Fixture {
  DomainSchema schema = parse_schema(kSchema, "every-type.toml");
  std::shared_ptr<const TokenVocab> vocab = test::synthetic_vocab(schema);
};

bool accepts(const Fixture& f, const std::string& text) { return test::accepts_answer(f.schema, f.vocab, text); }

TEST(ArgumentTypes, GrammarAcceptsEveryType) {
  Fixture f;
  for (const char* text : {
           "<|fn:set_level|>0, Done.<|end|>",
           "<|fn:set_level|>21.5,true Done.<|end|>",
           "<|fn:set_level|>30,false Done.<|end|>",
           "<|fn:set_level|>-2.5, Done.<|end|>",
           "<|fn:set_level|>-1.125, Done.<|end|>",
           "<|fn:set_level|>29.999, Done.<|end|>",
           "<|fn:note|>\"milk\", Noted.<|end|>",
           "<|fn:note|>\"buy milk\",-3 Noted.<|end|>",
           "<|fn:note|>\"a, b\",12 Noted.<|end|>",       // commas inside quotes
           "<|fn:note|>\"우유 사기\", 적었어요.<|end|>",   // Hangul counts characters, not bytes
           "<|fn:note|>\"12345678\", Noted.<|end|>",     // exactly max_length
           "<|fn:move|>, Which room?<|end|>",            // a partial call: nothing given
           "<|fn:move|>kitchen, Moving.<|end|>",
           "<|fn:move|>,5 Moving.<|end|>",
       })
    EXPECT_TRUE(accepts(f, text)) << text;
}

TEST(ArgumentTypes, GrammarRejectsValuesOutsideTheirType) {
  Fixture f;
  for (const char* text : {
           "<|fn:set_level|>31, Done.<|end|>",          // above max
           "<|fn:set_level|>30.5, Done.<|end|>",        // max is an integer bound: no fraction at 30
           "<|fn:set_level|>-3, Done.<|end|>",          // below min
           "<|fn:set_level|>1.2345, Done.<|end|>",      // four decimals
           "<|fn:set_level|>1., Done.<|end|>",          // a dot without digits
           "<|fn:set_level|>01, Done.<|end|>",          // leading zero
           "<|fn:set_level|>, Done.<|end|>",            // required number missing
           "<|fn:set_level|>1,yes Done.<|end|>",        // not a boolean
           "<|fn:set_level|>1,True Done.<|end|>",
           "<|fn:note|>\"\", Noted.<|end|>",            // empty string
           "<|fn:note|>\"123456789\", Noted.<|end|>",   // one past max_length
           "<|fn:note|>\" milk\", Noted.<|end|>",       // leading space
           "<|fn:note|>milk, Noted.<|end|>",            // free text is quoted
           "<|fn:note|>\"mi\"lk\", Noted.<|end|>",      // a quote inside
           "<|fn:note|>\"{x}\", Noted.<|end|>",         // braces
           "<|fn:note|>\"a\",13 Noted.<|end|>",         // integer past max
           "<|fn:move|>attic, Moving.<|end|>",          // enum value unknown
           "<|fn:move|>kitchen,0 Moving.<|end|>",
       })
    EXPECT_FALSE(accepts(f, text)) << text;
}

TEST(ArgumentTypes, RenderThenParseGivesTheSameCalls) {
  Fixture f;
  std::vector<Call> calls = {
      {"set_level", {{"level", 21.5}, {"on", true}}},
      {"set_level", {{"level", -2.5}}},
      {"note", {{"text", std::string("우유, 빵")}, {"count", int64_t(-3)}}},
      {"move", {}},
      {"move", {{"room", std::string("hall")}}},
  };
  for (const auto& c : calls) ASSERT_EQ(validate_call(f.schema, c), "") << call_to_string(c);
  std::string text = render_answer_text(f.schema, calls, "Done.");
  EXPECT_TRUE(accepts(f, text)) << text;
  ParsedAnswer p = parse_answer(f.schema, text);
  ASSERT_TRUE(p.ok()) << p.error << " in " << text;
  EXPECT_EQ(p.calls, calls);
  EXPECT_EQ(p.reply, "Done.");
}

TEST(ArgumentTypes, ParseRejectsMalformedValues) {
  Fixture f;
  for (const char* text : {"<|fn:note|>\"open, Noted.<|end|>", "<|fn:set_level|>abc, x<|end|>",
                           "<|fn:set_level|>99, x<|end|>", "<|fn:move|>kitchen,2,3 x<|end|>",
                           "<|fn:set_level|>\"1\", x<|end|>"}) {
    ParsedAnswer p = parse_answer(f.schema, text);
    EXPECT_FALSE(p.ok()) << text;
    EXPECT_TRUE(p.calls.empty()) << text;
  }
}

TEST(ArgumentTypes, SchemaChecksValuesAndCanonicalisesNumbers) {
  Fixture f;
  EXPECT_EQ(validate_call(f.schema, {"set_level", {{"level", int64_t(3)}}}), "");  // an integer is a number
  Call c = call_from_json(nlohmann::json::parse(R"({"name": "set_level", "arguments": {"level": 3}})"), f.schema);
  EXPECT_TRUE(std::holds_alternative<double>(c.arguments["level"]));
  EXPECT_NE(validate_call(f.schema, {"set_level", {{"level", 30.01}}}), "");
  EXPECT_NE(validate_call(f.schema, {"set_level", {{"level", std::string("3")}}}), "");
  EXPECT_NE(validate_call(f.schema, {"note", {{"text", std::string("123456789")}}}), "");
  EXPECT_EQ(validate_call(f.schema, {"note", {{"text", std::string("가나다라마바사아")}}}), "");
  EXPECT_NE(validate_call(f.schema, {"note", {{"text", std::string("")}}}), "");
  EXPECT_NE(validate_call(f.schema, {"move", {{"room", true}}}), "");
  EXPECT_EQ(number_text(21.5), "21.5");
  EXPECT_EQ(number_text(-3.0), "-3");
  EXPECT_EQ(number_text(0.125), "0.125");
  // A partial call stays partial; a default fills in.
  EXPECT_EQ(with_defaults(f.schema, {"move", {}}).arguments.size(), 1u);
  EXPECT_THROW(parse_schema("domain='x'\n[[function]]\nname='f'\n[[function.argument]]\nname='a'\ntype='number'\nmin=0\n",
                            "x.toml"),
               Error);
  EXPECT_THROW(parse_schema("domain='x'\n[[function]]\nname='f'\n[[function.argument]]\nname='a'\ntype='boolean'\nmin=0\n",
                            "x.toml"),
               Error);
}

}  // namespace
}  // namespace edgelm
