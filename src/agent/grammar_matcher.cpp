#include "agent/grammar_matcher.h"

#include <algorithm>
#include <bit>
#include <map>

#include "platform/error.h"
#include "tokenizer/tokenizer.h"

namespace edgelm {

// ---------------------------------------------------------------- TokenVocab

TokenVocab::TokenVocab(std::vector<std::string> token_bytes, std::vector<bool> is_special, int32_t eos_id)
    : bytes_(std::move(token_bytes)), special_(std::move(is_special)), eos_id_(eos_id) {
  if (special_.size() != bytes_.size()) fail("TokenVocab: ", bytes_.size(), " tokens but ", special_.size(), " flags");
  for (int32_t id = 0; id < n_vocab(); ++id) {
    if (special_[size_t(id)]) {
      special_ids_.emplace(bytes_[size_t(id)], id);
    } else if (!bytes_[size_t(id)].empty()) {
      sorted_.push_back(id);
      max_len_ = std::max(max_len_, bytes_[size_t(id)].size());
    }
  }
  std::sort(sorted_.begin(), sorted_.end(), [&](int32_t a, int32_t b) {
    return bytes_[size_t(a)] != bytes_[size_t(b)] ? bytes_[size_t(a)] < bytes_[size_t(b)] : a < b;
  });
  lcp_.assign(sorted_.size(), 0);
  for (size_t i = 1; i < sorted_.size(); ++i) {
    const std::string& a = bytes_[size_t(sorted_[i - 1])];
    const std::string& b = bytes_[size_t(sorted_[i])];
    size_t n = 0;
    while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
    lcp_[i] = uint16_t(std::min<size_t>(n, 0xFFFF));
  }
  if (max_len_ > 0xFFFF) fail("TokenVocab: a token of ", max_len_, " bytes");
}

std::shared_ptr<const TokenVocab> TokenVocab::from_tokenizer(const Tokenizer& tokenizer) {
  std::vector<std::string> bytes(static_cast<size_t>(tokenizer.n_vocab()));
  std::vector<bool> special(bytes.size());
  for (int32_t id = 0; id < tokenizer.n_vocab(); ++id) {
    bytes[size_t(id)] = tokenizer.token_bytes(id);
    special[size_t(id)] = tokenizer.is_special(id);
  }
  return std::make_shared<TokenVocab>(std::move(bytes), std::move(special), tokenizer.eos_id());
}

std::optional<int32_t> TokenVocab::special_id(const std::string& text) const {
  auto it = special_ids_.find(text);
  if (it == special_ids_.end()) return std::nullopt;
  return it->second;
}

// ---------------------------------------------------------- GrammarAutomaton

struct GrammarAutomaton::State {
  std::vector<Stack> stacks;
  std::array<int32_t, 256> next;  // kUnknown until computed
  ByteSet out_bytes;               // bytes some stack can take
  std::vector<uint32_t> tokens;    // grammar token indices some stack can take
  bool accept = false, finished = false, counted = false;
  std::vector<uint32_t> mask;      // empty until computed
  std::map<std::string, std::vector<uint32_t>> finishing;
  std::unordered_map<int32_t, int32_t> special_next;
  int32_t single = -2;             // -2: not computed
};

namespace {
constexpr int32_t kUnknown = -2;
constexpr size_t kMaxStacksPerState = 20000;
constexpr size_t kMaxStates = 200000;

bool is_alt_end(GrammarOp op) { return op == GrammarOp::End || op == GrammarOp::Alt; }
}  // namespace

GrammarAutomaton::GrammarAutomaton(std::shared_ptr<const Grammar> grammar, std::shared_ptr<const TokenVocab> vocab,
                                   bool allow_eos_at_accept)
    : grammar_(std::move(grammar)), vocab_(std::move(vocab)), allow_eos_(allow_eos_at_accept) {
  if (!grammar_->finalized()) fail("GrammarAutomaton: the grammar is not finalized");
  for (const auto& text : grammar_->tokens()) {
    auto id = vocab_->special_id(text);
    token_ids_.push_back(id ? *id : -1);
  }
  elem_rule_.resize(grammar_->elems().size());
  for (uint32_t p = 0; p < elem_rule_.size(); ++p) elem_rule_[p] = grammar_->rule_of_position(p);
  // The start: a virtual reference to the root rule, one stack per alternative.
  std::vector<Stack> stacks;
  const auto& e = grammar_->elems();
  uint32_t p = grammar_->rule_start(grammar_->root());
  while (true) {
    Stack alt;
    if (!is_alt_end(e[p].op)) alt.push_back(p);
    expand(alt, stacks);
    while (!is_alt_end(e[p].op)) ++p;
    if (e[p].op == GrammarOp::End) break;
    ++p;
  }
  start_ = intern(std::move(stacks));
  if (start_ == kDead) fail("grammar matches nothing");
}

GrammarAutomaton::~GrammarAutomaton() = default;

// Turns a stack whose top may be a rule reference into stacks whose tops are
// terminals (or empty: a complete parse). Iterative, with the depth bounded:
// left recursion was rejected when the grammar was finalized, so every
// expansion ends.
void GrammarAutomaton::expand(Stack stack, std::vector<Stack>& out) const {
  const auto& e = grammar_->elems();
  std::vector<Stack> work;
  work.push_back(std::move(stack));
  while (!work.empty()) {
    Stack s = std::move(work.back());
    work.pop_back();
    if (s.empty()) {
      out.push_back(std::move(s));
      continue;
    }
    uint32_t pos = s.back();
    const GrammarElem& el = e[pos];
    if (el.op != GrammarOp::RuleRef) {
      out.push_back(std::move(s));
      continue;
    }
    s.pop_back();
    if (!is_alt_end(e[pos + 1].op)) s.push_back(pos + 1);
    if (s.size() >= size_t(kGrammarMaxStackDepth)) continue;  // nesting too deep: this parse dies
    uint32_t p = grammar_->rule_start(el.value);
    while (true) {
      Stack ns = s;
      if (!is_alt_end(e[p].op)) ns.push_back(p);
      work.push_back(std::move(ns));
      while (!is_alt_end(e[p].op)) ++p;
      if (e[p].op == GrammarOp::End) break;
      ++p;
    }
    if (out.size() + work.size() > kMaxStacksPerState)
      fail("grammar too ambiguous: more than ", kMaxStacksPerState, " parses at once");
  }
}

// The stack after its terminal top has matched.
void GrammarAutomaton::advance_top(const Stack& stack, std::vector<Stack>& out) const {
  const auto& e = grammar_->elems();
  Stack s = stack;
  uint32_t pos = s.back();
  s.pop_back();
  if (!is_alt_end(e[pos + 1].op)) s.push_back(pos + 1);
  expand(std::move(s), out);
}

int32_t GrammarAutomaton::intern(std::vector<Stack>&& stacks) {
  if (stacks.empty()) return kDead;
  std::sort(stacks.begin(), stacks.end());
  stacks.erase(std::unique(stacks.begin(), stacks.end()), stacks.end());
  std::string key;
  for (const auto& s : stacks) {
    key.append(reinterpret_cast<const char*>(s.data()), s.size() * sizeof(uint32_t));
    key.append(4, '\xff');
  }
  auto it = index_.find(key);
  if (it != index_.end()) return it->second;
  if (states_.size() >= kMaxStates)
    fail("grammar too complex: more than ", kMaxStates, " distinct parser states (nesting too deep?)");
  auto st = std::make_unique<State>();
  st->next.fill(kUnknown);
  const auto& e = grammar_->elems();
  const int64_t counted_rule = grammar_->counted_rule();
  bool all_counted = counted_rule >= 0;
  st->finished = true;
  for (const auto& s : stacks) {
    if (s.empty()) {
      st->accept = true;
      all_counted = false;
      continue;
    }
    st->finished = false;
    const GrammarElem& top = e[s.back()];
    if (top.op == GrammarOp::Bytes) st->out_bytes |= grammar_->byte_sets()[top.value];
    else if (top.op == GrammarOp::Token) {
      if (std::find(st->tokens.begin(), st->tokens.end(), top.value) == st->tokens.end()) st->tokens.push_back(top.value);
    }
    if (all_counted) {
      bool inside = false;
      for (uint32_t p : s)
        if (elem_rule_[p] == uint32_t(counted_rule)) inside = true;
      all_counted = inside;
    }
  }
  st->counted = all_counted;
  st->stacks = std::move(stacks);
  int32_t id = int32_t(states_.size());
  states_.push_back(std::move(st));
  index_.emplace(std::move(key), id);
  return id;
}

int32_t GrammarAutomaton::next_byte(int32_t state, uint8_t byte) {
  if (state < 0) return kDead;
  int32_t cached = states_[size_t(state)]->next[byte];
  if (cached != kUnknown) return cached;
  int32_t result = kDead;
  if (states_[size_t(state)]->out_bytes.test(byte)) {
    std::vector<Stack> out;
    const auto& e = grammar_->elems();
    for (const auto& s : states_[size_t(state)]->stacks) {
      if (s.empty()) continue;
      const GrammarElem& top = e[s.back()];
      if (top.op == GrammarOp::Bytes && grammar_->byte_sets()[top.value].test(byte)) advance_top(s, out);
    }
    result = intern(std::move(out));  // may reallocate states_: index again below
  }
  states_[size_t(state)]->next[byte] = result;
  return result;
}

int32_t GrammarAutomaton::next_bytes(int32_t state, std::string_view bytes) {
  for (char c : bytes) {
    state = next_byte(state, uint8_t(c));
    if (state < 0) return kDead;
  }
  return state;
}

int32_t GrammarAutomaton::next_token(int32_t state, int32_t id) {
  if (state < 0 || id < 0 || id >= vocab_->n_vocab()) return kDead;
  if (!vocab_->is_special(id)) {
    const std::string& b = vocab_->bytes(id);
    if (b.empty()) return kDead;
    return next_bytes(state, b);
  }
  State& st = *states_[size_t(state)];
  auto it = st.special_next.find(id);
  if (it != st.special_next.end()) return it->second;
  std::vector<Stack> out;
  const auto& e = grammar_->elems();
  for (const auto& s : st.stacks) {
    if (s.empty()) continue;
    const GrammarElem& top = e[s.back()];
    if (top.op == GrammarOp::Token && token_ids_[top.value] == id) advance_top(s, out);
  }
  int32_t result = kDead;
  if (!out.empty()) result = intern(std::move(out));
  else if (st.accept && allow_eos_ && id == vocab_->eos_id()) result = state;  // eos after a complete parse: stay
  states_[size_t(state)]->special_next[id] = result;
  return result;
}

bool GrammarAutomaton::accepting(int32_t state) const { return state >= 0 && states_[size_t(state)]->accept; }
bool GrammarAutomaton::finished(int32_t state) const { return state >= 0 && states_[size_t(state)]->finished; }
bool GrammarAutomaton::counted(int32_t state) const { return state >= 0 && states_[size_t(state)]->counted; }

// Walks the sorted vocabulary: token i shares its first lcp[i] bytes with
// token i-1, so the DFA states along that prefix are reused, and when a prefix
// dies every following token that starts with it is skipped.
void GrammarAutomaton::compute_mask(int32_t state, std::vector<uint32_t>& mask, int32_t finishing_token) {
  ++n_masks_;
  mask.assign(size_t(vocab_->mask_words()), 0);
  const auto& ids = vocab_->sorted_ids();
  const auto& lcp = vocab_->sorted_lcp();
  std::vector<int32_t> path(vocab_->max_token_bytes() + 1);
  path[0] = state;
  size_t valid = 0;  // path[0..valid] are live states for the current token's prefix
  auto allows_finish = [&](int32_t s) {
    if (finishing_token < 0) return true;
    for (uint32_t t : states_[size_t(s)]->tokens)
      if (token_ids_[t] == finishing_token) return true;
    return false;
  };
  for (size_t i = 0; i < ids.size(); ++i) {
    const std::string& t = vocab_->bytes(ids[i]);
    size_t d = std::min<size_t>(lcp[i], valid);
    bool dead = false;
    while (d < t.size()) {
      int32_t nx = next_byte(path[d], uint8_t(t[d]));
      if (nx < 0) {
        dead = true;
        break;
      }
      path[++d] = nx;
    }
    valid = d;
    if (!dead) {
      if (allows_finish(path[d])) mask[size_t(ids[i]) >> 5] |= 1u << (ids[i] & 31);
    } else {
      while (i + 1 < ids.size() && lcp[i + 1] > d) ++i;
    }
  }
  std::vector<uint32_t> tokens = states_[size_t(state)]->tokens;  // copy: next_token may add states
  for (uint32_t t : tokens) {
    int32_t id = token_ids_[t];
    if (id < 0) continue;
    bool ok = finishing_token < 0 || id == finishing_token;
    if (!ok) {
      int32_t nx = next_token(state, id);
      ok = nx >= 0 && allows_finish(nx);
    }
    if (ok) mask[size_t(id) >> 5] |= 1u << (id & 31);
  }
  int32_t eos = vocab_->eos_id();
  if (finishing_token < 0 && allow_eos_ && states_[size_t(state)]->accept && eos >= 0) mask[size_t(eos) >> 5] |= 1u << (eos & 31);
}

const uint32_t* GrammarAutomaton::mask(int32_t state) {
  if (state < 0) fail("grammar: no token can follow (the parse is dead)");
  if (states_[size_t(state)]->mask.empty()) {
    std::vector<uint32_t> m;
    compute_mask(state, m, -1);
    states_[size_t(state)]->mask = std::move(m);
  }
  return states_[size_t(state)]->mask.data();
}

const uint32_t* GrammarAutomaton::mask_finishing(int32_t state, const std::string& special_text) {
  if (state < 0) fail("grammar: no token can follow (the parse is dead)");
  auto it = states_[size_t(state)]->finishing.find(special_text);
  if (it != states_[size_t(state)]->finishing.end()) return it->second.data();
  auto id = vocab_->special_id(special_text);
  std::vector<uint32_t> m;
  compute_mask(state, m, id ? *id : vocab_->n_vocab());
  auto& slot = states_[size_t(state)]->finishing[special_text];
  slot = std::move(m);
  return slot.data();
}

int32_t GrammarAutomaton::single_token(int32_t state) {
  if (state < 0) return -1;
  if (states_[size_t(state)]->single != -2) return states_[size_t(state)]->single;
  const uint32_t* m = mask(state);
  int32_t found = -1, count = 0;
  for (int32_t w = 0; w < vocab_->mask_words() && count < 2; ++w) {
    if (!m[w]) continue;
    count += std::popcount(m[w]);
    found = w * 32 + std::countr_zero(m[w]);
  }
  int32_t single = count == 1 ? found : -1;
  states_[size_t(state)]->single = single;
  return single;
}

std::string GrammarAutomaton::forced_bytes(int32_t state, size_t max_bytes) {
  std::string out;
  while (state >= 0 && out.size() < max_bytes) {
    const State& st = *states_[size_t(state)];
    if (st.accept || !st.tokens.empty() || st.out_bytes.count() != 1) break;
    uint8_t b = 0;
    while (!st.out_bytes.test(b)) ++b;
    out.push_back(char(b));
    state = next_byte(state, b);
  }
  return out;
}

bool GrammarAutomaton::precompute(size_t max_states, const std::string& finishing_token) {
  std::vector<int32_t> queue = {start_};
  std::vector<bool> seen(states_.size(), false);
  seen[size_t(start_)] = true;
  for (size_t head = 0; head < queue.size(); ++head) {
    if (head >= max_states) return false;
    int32_t s = queue[head];
    mask(s);
    if (!finishing_token.empty() && counted(s)) mask_finishing(s, finishing_token);
    std::vector<int32_t> next;
    for (int b = 0; b < 256; ++b)
      if (states_[size_t(s)]->out_bytes.test(size_t(b))) next.push_back(next_byte(s, uint8_t(b)));
    std::vector<uint32_t> tokens = states_[size_t(s)]->tokens;
    for (uint32_t t : tokens)
      if (token_ids_[t] >= 0) next.push_back(next_token(s, token_ids_[t]));
    for (int32_t n : next) {
      if (n < 0) continue;
      if (seen.size() < states_.size()) seen.resize(states_.size(), false);
      if (!seen[size_t(n)]) {
        seen[size_t(n)] = true;
        queue.push_back(n);
      }
    }
  }
  return true;
}

// ------------------------------------------------------------ GrammarMatcher

GrammarMatcher::GrammarMatcher(std::shared_ptr<GrammarAutomaton> automaton)
    : automaton_(std::move(automaton)), state_(automaton_->start_state()) {}

void GrammarMatcher::reset() {
  state_ = automaton_->start_state();
  counted_ = 0;
}

bool GrammarMatcher::accept_token(int32_t id) {
  int32_t next = automaton_->next_token(state_, id);
  if (next < 0) return false;
  state_ = next;
  if (automaton_->counted(state_)) ++counted_;
  return true;
}

bool GrammarMatcher::accept_bytes(std::string_view bytes) {
  int32_t next = automaton_->next_bytes(state_, bytes);
  if (next < 0) return false;
  state_ = next;
  return true;
}

}  // namespace edgelm
