#pragma once
// Matching a Grammar against a token vocabulary, fast.
//
// The matcher is a pushdown automaton in llama.cpp's style: a parse position is
// a stack of grammar positions whose top is a terminal, and the matcher state
// is the set of such stacks. GrammarAutomaton interns every state it meets
// (the set of stacks is the key) and memoises its byte transitions, so that
// the pushdown automaton is determinised lazily into a DFA over the states a
// decoding actually reaches. The allowed-token mask of a state is computed once
// by walking the vocabulary in sorted order (a token trie laid out flat: each
// token shares its prefix's DFA states with its predecessor, and a dead prefix
// skips every token under it) and cached; a mask request for a seen state is a
// table lookup. A schema grammar has a few hundred states, so after warm-up
// every mask is a cache hit.
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "agent/grammar.h"

namespace edgelm {

class Tokenizer;

// The vocabulary as byte strings, sorted for the mask walk.
class TokenVocab {
 public:
  // is_special: matched only by a grammar's token elements, never as bytes.
  TokenVocab(std::vector<std::string> token_bytes, std::vector<bool> is_special, int32_t eos_id);
  static std::shared_ptr<const TokenVocab> from_tokenizer(const Tokenizer& tokenizer);

  int32_t n_vocab() const { return int32_t(bytes_.size()); }
  int32_t mask_words() const { return (n_vocab() + 31) / 32; }
  const std::string& bytes(int32_t id) const { return bytes_[size_t(id)]; }
  bool is_special(int32_t id) const { return special_[size_t(id)]; }
  int32_t eos_id() const { return eos_id_; }
  std::optional<int32_t> special_id(const std::string& text) const;

  // Non-special tokens in byte order, and each one's common prefix length with the one before.
  const std::vector<int32_t>& sorted_ids() const { return sorted_; }
  const std::vector<uint16_t>& sorted_lcp() const { return lcp_; }
  size_t max_token_bytes() const { return max_len_; }

 private:
  std::vector<std::string> bytes_;
  std::vector<bool> special_;
  int32_t eos_id_ = -1;
  std::unordered_map<std::string, int32_t> special_ids_;
  std::vector<int32_t> sorted_;
  std::vector<uint16_t> lcp_;
  size_t max_len_ = 0;
};

class GrammarAutomaton {
 public:
  // allow_eos_at_accept: when a parse is complete the vocabulary's eos token is
  // allowed (for GBNF grammars that end without an explicit token).
  GrammarAutomaton(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocab> vocab,
                   bool allow_eos_at_accept = true);
  ~GrammarAutomaton();

  static constexpr int32_t kDead = -1;
  int32_t start_state() const { return start_; }
  int32_t next_byte(int32_t state, uint8_t byte);
  int32_t next_token(int32_t state, int32_t token_id);  // kDead if the token is not allowed
  int32_t next_bytes(int32_t state, std::string_view bytes);

  bool accepting(int32_t state) const;   // some parse is complete
  bool finished(int32_t state) const;    // every parse is complete: nothing more may follow
  bool counted(int32_t state) const;     // every parse is inside the grammar's counted rule
  // Bit (id % 32) of word (id / 32) set = token allowed. Valid while the automaton lives.
  const uint32_t* mask(int32_t state);
  // The tokens allowed now after which grammar token `special_text` is allowed
  // (plus that token itself if allowed now): used to close a bounded reply.
  const uint32_t* mask_finishing(int32_t state, const std::string& special_text);
  // The one token the state allows, if exactly one (fast-forward); -1 otherwise.
  int32_t single_token(int32_t state);
  // Bytes the grammar forces from this state (exactly one continuation byte at each step).
  std::string forced_bytes(int32_t state, size_t max_bytes = 64);

  // Visits every state reachable from the start (bytes and special tokens),
  // at most max_states, and computes its mask (and, for states inside the
  // counted rule, its mask finishing with `finishing_token`), so that decoding
  // never pays for a first visit. Returns false if max_states was reached.
  bool precompute(size_t max_states, const std::string& finishing_token = "");

  size_t n_states() const { return states_.size(); }
  size_t n_masks_computed() const { return n_masks_; }
  const Grammar& grammar() const { return *grammar_; }
  const TokenVocab& vocab() const { return *vocab_; }

 private:
  struct State;
  using Stack = std::vector<uint32_t>;
  int32_t intern(std::vector<Stack>&& stacks);
  void expand(Stack stack, std::vector<Stack>& out) const;
  void advance_top(const Stack& stack, std::vector<Stack>& out) const;
  void compute_mask(int32_t state, std::vector<uint32_t>& mask, int32_t finishing_token);

  std::shared_ptr<const Grammar> grammar_;
  std::shared_ptr<const TokenVocab> vocab_;
  bool allow_eos_;
  std::vector<int32_t> token_ids_;   // grammar token index -> vocabulary id (-1: absent)
  std::vector<uint32_t> elem_rule_;  // flat position -> rule
  std::vector<std::unique_ptr<State>> states_;
  std::unordered_map<std::string, int32_t> index_;
  int32_t start_ = kDead;
  size_t n_masks_ = 0;
};

// One decoding's position in a grammar.
class GrammarMatcher {
 public:
  explicit GrammarMatcher(std::shared_ptr<GrammarAutomaton> automaton);
  void reset();
  bool accept_token(int32_t id);  // false (state unchanged) if not allowed
  bool accept_bytes(std::string_view bytes);
  const uint32_t* mask() { return automaton_->mask(state_); }
  bool accepting() const { return automaton_->accepting(state_); }
  bool finished() const { return automaton_->finished(state_); }
  int32_t state() const { return state_; }
  int counted_tokens() const { return counted_; }  // accepted tokens that landed inside the counted rule
  GrammarAutomaton& automaton() { return *automaton_; }

 private:
  std::shared_ptr<GrammarAutomaton> automaton_;
  int32_t state_;
  int counted_ = 0;
};

inline bool mask_test(const uint32_t* mask, int32_t id) { return (mask[id >> 5] >> (id & 31)) & 1u; }

}  // namespace edgelm
