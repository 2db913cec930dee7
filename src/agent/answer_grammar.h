#pragma once
// The grammar of an agent answer, compiled from the domain's schema, and the
// per-answer constraint the decoder asks for allowed tokens.
//
//   answer ::= call* " " reply <|end|>
//   call   ::= <|fn:NAME|> args          (one alternative per function)
//   args   ::= value ("," value)*        (schema order; an optional value may be empty)
//   value  ::= enum literal | integer in [min, max] without leading zeros | true | false
//            | number: integer part in range, up to 3 decimals | '"' 1..max_length printable chars '"' 
//   reply  ::= (char | placeholder)+      (printable UTF-8 without '{' '}' or "<|"; at most max_reply_tokens tokens)
#include <cstdint>
#include <functional>
#include <unordered_map>
#include <memory>
#include <string>
#include <vector>

#include "agent/grammar.h"
#include "agent/grammar_matcher.h"
#include "domain/schema.h"

namespace edgelm {

class Tokenizer;

// The answer grammar (root "answer"; the reply rule is its counted rule).
Grammar compile_answer_grammar(const DomainSchema& schema);

// Alternatives spelling the integers in [lo, hi] in decimal without leading
// zeros ("-" for negatives), as sequences of digit classes.
std::vector<Grammar::Sequence> integer_range_alternatives(Grammar& g, int64_t lo, int64_t hi);

// The alternatives of one argument's value (`rule_prefix` names helper rules).
std::vector<Grammar::Sequence> value_alternatives(Grammar& g, const ArgumentSpec& a, const std::string& rule_prefix);

// One answer being decoded: the grammar's state, the reply's token budget,
// and which {ARGNAME} placeholders the calls so far make available.
//
// Fast-forward: a state forces a token when the grammar allows exactly one, or
// when the grammar forces a run of bytes that ends where only a space or a
// special token can follow (the rest of an enum value): then the only allowed
// token is the first token of that run's canonical tokenization (`encode`), so
// forced text is tokenised as in training, and decoding with or without
// fast-forward gives the same tokens.
class AnswerConstraint {
 public:
  using Encoder = std::function<std::vector<int32_t>(std::string_view)>;
  // encode: the tokenizer's encoding of plain text (null: only single-token states are forced).
  AnswerConstraint(const DomainSchema& schema, std::shared_ptr<const TokenVocab> vocab, int max_reply_tokens,
                   Encoder encode = nullptr, int max_calls = 8);
  // Shares the automaton (and its mask cache) of another constraint.
  AnswerConstraint(const AnswerConstraint& other, int max_reply_tokens);
  int calls() const { return p_.calls; }

  void reset();
  // The command being answered (as the user wrote it; its numbers are read as the
  // model reads them, domain/language.h read_numbers). An integer argument marked
  // from_command then takes one of the command's numbers that lie in its range,
  // when there is one: the decoder copies a number instead of writing one (the
  // grammar alone lets a small model turn "30분" into 300). Kept across reset();
  // an empty command lifts the limit.
  void set_command(std::string_view text);
  // Computes every reachable state's masks up front (once per model load) so
  // that no decoding step pays for a first visit.
  void precompute();
  // Allowed tokens now; valid until the next call.
  const uint32_t* mask();
  // Throws Error if the token is not allowed.
  void accept(int32_t id);
  bool done() const;  // the end token was accepted
  // The one token allowed now, if exactly one (fast-forward), else -1.
  int32_t forced_token();
  int reply_tokens() const { return p_.matcher.counted_tokens(); }
  int max_reply_tokens() const { return max_reply_tokens_; }
  GrammarAutomaton& automaton() { return *automaton_; }
  std::shared_ptr<GrammarAutomaton> automaton_ptr() const { return automaton_; }
  int32_t end_id() const { return end_id_; }

  // Where an answer is: everything accept() changes, so that a decoder can step
  // back to an earlier token (keep a copy of position(), later rewind to it) and go on from there.
  struct Position {
    explicit Position(std::shared_ptr<GrammarAutomaton> automaton) : matcher(std::move(automaton)) {}
    GrammarMatcher matcher;
    uint64_t available = 0;  // bit i: placeholder arg_placeholders_[i] may be written
    int calls = 0;
    bool done = false;
    bool calls_over = false;  // end_calls(): no function token from here on
    // The call being written (-1: none, or the reply has begun), its argument and that value's text so far.
    int call = -1, call_arg = 0;
    std::string value;
    bool in_quotes = false;
    bool arg_given = false;  // the argument being written has a value (even "")
    // Every call's text ("<function index>:<values>"), the closed ones each ended by '\n'.
    std::string calls_text;
    int closed = 0;     // calls closed so far
    int repeated = -1;  // set by the accept() that closed a call repeating an earlier one: its index; else -1
  };
  const Position& position() const { return p_; }
  // Back to a position this answer passed through (copies; no allocation once
  // the strings have grown to their size).
  void rewind(const Position& p) { p_ = p; }
  // Calls are distinct: the same function with the same values twice in one answer is a
  // model repeating itself (generated answers never do). After accept(), the index of the
  // call that the token closed when that call repeats an earlier one, else -1; the
  // decoder steps back to where that call began and ends the calls there.
  int repeated_call() const { return p_.repeated; }
  // No further call in this answer: function tokens are masked out from here.
  void end_calls() { p_.calls_over = true; }
  bool is_function_token(int32_t id) const { return function_index(id) >= 0; }
  // The function a function token calls, as its index in the schema; -1 for any other token.
  int function_index(int32_t id) const;

 private:
  void init_tables(const DomainSchema& schema);
  int32_t canonical_forced(int32_t state);
  std::shared_ptr<GrammarAutomaton> automaton_;
  int max_reply_tokens_;
  Encoder encode_;
  int max_calls_ = 8;
  Position p_;
  int32_t end_id_ = -1;
  std::unordered_map<int32_t, int32_t> forced_cache_;  // state -> canonical forced token (-1: none)
  // Placeholder token ids for argument names, and per function-token id its
  // arguments in call order, each as its index in arg_placeholders_: a call
  // makes {ARGNAME} available only for the arguments it gives a value.
  std::vector<int32_t> arg_placeholders_;
  std::vector<std::pair<int32_t, std::vector<uint8_t>>> function_args_;
  // Numbers from the command (set_command): per function (function_args_'s order)
  // its arguments' from_command ranges ({1, 0}: not from the command), the
  // command's numbers (where the answer is: p_.call, p_.call_arg, p_.value).
  std::vector<std::vector<std::pair<int64_t, int64_t>>> from_command_ranges_;
  std::vector<int32_t> digit_tokens_;  // the tokens whose text starts with a digit
  std::vector<int64_t> command_numbers_;
  std::vector<std::string> command_number_texts_;  // the same in decimal
  std::string number_scratch_;
  // Ends the argument being written: its placeholder becomes available if it has a value.
  void close_argument();
  // Ends the call being written: notes it, and whether it repeats an earlier one.
  void close_call();
  // The mask with the argument's value held to the command's numbers, or `m` when no limit applies.
  const uint32_t* limit_to_command_numbers(const uint32_t* m);
  std::vector<uint32_t> limited_;
  std::vector<uint32_t> scratch_;
};

}  // namespace edgelm
