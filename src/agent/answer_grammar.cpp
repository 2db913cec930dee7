#include "agent/answer_grammar.h"

#include <algorithm>
#include <bit>
#include <cmath>

#include "agent/format.h"
#include "domain/language.h"
#include "platform/error.h"

namespace edgelm {
namespace {

ByteSet digit_range(char a, char b) {
  ByteSet s;
  for (char c = a; c <= b; ++c) s.set(uint8_t(c));
  return s;
}

// Decimal strings of equal length between a and b (a <= b), as digit-class sequences.
void same_length_range(Grammar& g, const std::string& a, const std::string& b, Grammar::Sequence prefix,
                       std::vector<Grammar::Sequence>& out) {
  if (a.empty()) {
    out.push_back(prefix);
    return;
  }
  size_t n = a.size();
  std::string ra = a.substr(1), rb = b.substr(1);
  if (a[0] == b[0]) {
    prefix.push_back(g.byte(uint8_t(a[0])));
    same_length_range(g, ra, rb, prefix, out);
    return;
  }
  bool low_full = ra == std::string(n - 1, '0');   // a[0]x.. covers every continuation
  bool high_full = rb == std::string(n - 1, '9');  // b[0]x.. covers every continuation
  char mid_lo = low_full ? a[0] : char(a[0] + 1);
  char mid_hi = high_full ? b[0] : char(b[0] - 1);
  if (!low_full) {
    Grammar::Sequence p = prefix;
    p.push_back(g.byte(uint8_t(a[0])));
    same_length_range(g, ra, std::string(n - 1, '9'), p, out);
  }
  if (mid_lo <= mid_hi) {
    Grammar::Sequence p = prefix;
    p.push_back(g.bytes(digit_range(mid_lo, mid_hi)));
    for (size_t i = 1; i < n; ++i) p.push_back(g.bytes(digit_range('0', '9')));
    out.push_back(p);
  }
  if (!high_full) {
    Grammar::Sequence p = prefix;
    p.push_back(g.byte(uint8_t(b[0])));
    same_length_range(g, std::string(n - 1, '0'), rb, p, out);
  }
}

void nonnegative_range(Grammar& g, int64_t lo, int64_t hi, Grammar::Sequence prefix, std::vector<Grammar::Sequence>& out) {
  int64_t pow = 1;
  for (int len = 1; len <= 19; ++len) {
    int64_t first = len == 1 ? 0 : pow;
    int64_t last = len >= 19 ? INT64_MAX : pow * 10 - 1;
    int64_t a = std::max(lo, first), b = std::min(hi, last);
    if (a <= b) same_length_range(g, std::to_string(a), std::to_string(b), prefix, out);
    if (len < 19) pow *= 10;
    if (last >= hi) break;
  }
}

}  // namespace

std::vector<Grammar::Sequence> integer_range_alternatives(Grammar& g, int64_t lo, int64_t hi) {
  if (lo > hi) fail("empty integer range ", lo, "..", hi);
  if (lo == INT64_MIN) fail("integer range starting at INT64_MIN is not supported");
  std::vector<Grammar::Sequence> out;
  if (lo < 0) nonnegative_range(g, hi < 0 ? -hi : 1, -lo, {g.byte('-')}, out);
  if (hi >= 0) nonnegative_range(g, std::max<int64_t>(lo, 0), hi, {}, out);
  return out;
}

namespace {

// "." and one to kNumberDecimals digits.
uint32_t fraction_rule(Grammar& g) {
  uint32_t frac = g.add_rule("fraction");
  Grammar::Sequence seq = {g.byte('.')};
  std::vector<Grammar::Sequence> alts;
  for (int n = 1; n <= kNumberDecimals; ++n) {
    seq.push_back(g.bytes(digit_range('0', '9')));
    alts.push_back(seq);
  }
  g.define_rule(frac, alts);
  return frac;
}

// Non-negative numbers k[.f] with the integer part k in [lo, hi]; when `hi_exact`
// the number hi has no fraction (the bound is an integer: 30 but not 30.5).
void unsigned_number(Grammar& g, int64_t lo, int64_t hi, bool hi_exact, Grammar::Sequence prefix, uint32_t frac,
                     std::vector<Grammar::Sequence>& out) {
  if (lo > hi) return;
  int64_t with_fraction_hi = hi_exact ? hi - 1 : hi;
  std::vector<Grammar::Sequence> ints;
  if (lo <= with_fraction_hi) nonnegative_range(g, lo, with_fraction_hi, prefix, ints);
  for (auto& seq : ints) {
    out.push_back(seq);
    seq.push_back(g.ref(frac));
    out.push_back(seq);
  }
  if (hi_exact) nonnegative_range(g, hi, hi, prefix, out);
}

// Characters of a free-text value: printable, without '"' '<' '>' '\' '{' '}'.
std::vector<Grammar::Sequence> string_chars(Grammar& g, bool allow_space) {
  return g.code_point_ranges({{allow_space ? 0x20u : 0x21u, 0x21},
                              {0x23, 0x3B},
                              {0x3D, 0x3D},
                              {0x3F, 0x5B},
                              {0x5D, 0x7A},
                              {0x7C, 0x7C},
                              {0x7E, 0x7E},
                              {0xA0, 0x10FFFF}});
}

}  // namespace

std::vector<Grammar::Sequence> value_alternatives(Grammar& g, const ArgumentSpec& a, const std::string& rule_prefix) {
  std::vector<Grammar::Sequence> alts;
  switch (a.type) {
    case ArgType::Enum:
      for (const auto& v : a.values) alts.push_back(g.literal(v));
      break;
    case ArgType::Integer:
      alts = integer_range_alternatives(g, a.min, a.max);
      break;
    case ArgType::Boolean:
      alts = {g.literal("true"), g.literal("false")};
      break;
    case ArgType::Number: {
      // The integer part is bounded exactly; a fraction at a non-integral bound
      // can overshoot it (30.9 for max 30.5), which parsing then rejects.
      uint32_t frac = fraction_rule(g);
      if (a.max_number >= 0) {
        int64_t lo = a.min_number > 0 ? int64_t(std::floor(a.min_number)) : 0;
        int64_t hi = int64_t(std::floor(a.max_number));
        unsigned_number(g, lo, hi, a.max_number == std::floor(a.max_number), {}, frac, alts);
      }
      if (a.min_number < 0) {
        int64_t lo = a.max_number < 0 ? int64_t(std::floor(-a.max_number)) : 0;
        int64_t hi = int64_t(std::floor(-a.min_number));
        unsigned_number(g, lo, hi, -a.min_number == std::floor(-a.min_number), {g.byte('-')}, frac, alts);
      }
      break;
    }
    case ArgType::String: {
      // '"', 1..max_length characters (the first not a space), '"': one rule per position bounds the length.
      uint32_t next = g.add_rule(cat(rule_prefix, "-end"));
      g.define_rule(next, {{g.byte('"')}});
      for (int64_t i = a.max_length - 1; i >= 1; --i) {
        uint32_t r = g.add_rule(cat(rule_prefix, "-", i));
        std::vector<Grammar::Sequence> items;
        for (auto seq : string_chars(g, true)) {
          seq.push_back(g.ref(next));
          items.push_back(seq);
        }
        items.push_back({g.byte('"')});
        g.define_rule(r, items);
        next = r;
      }
      for (auto seq : string_chars(g, false)) {
        seq.insert(seq.begin(), g.byte('"'));
        seq.push_back(g.ref(next));
        alts.push_back(seq);
      }
      break;
    }
  }
  return alts;
}

Grammar compile_answer_grammar(const DomainSchema& schema) {
  check_schema_for_format(schema);
  Grammar g;
  uint32_t answer = g.add_rule("answer");
  uint32_t calls = g.add_rule("calls");
  uint32_t call = g.add_rule("call");
  uint32_t reply = g.add_rule("reply");
  uint32_t reply_tail = g.add_rule("reply-tail");
  uint32_t reply_item = g.add_rule("reply-item");

  g.define_rule(answer, {{g.ref(calls), g.ref(reply)}});
  g.define_rule(calls, {{g.ref(call), g.ref(calls)}, {}});

  std::vector<Grammar::Sequence> call_alts;
  for (const auto& f : schema.functions) {
    Grammar::Sequence seq = {g.token(function_token(f.name))};
    for (size_t i = 0; i < f.arguments.size(); ++i) {
      const ArgumentSpec& a = f.arguments[i];
      if (i) seq.push_back(g.byte(','));
      uint32_t value = g.add_rule(cat(f.name, "-", a.name));
      std::vector<Grammar::Sequence> alts = value_alternatives(g, a, cat(f.name, "-", a.name));
      if (a.optional) alts.emplace_back();
      g.define_rule(value, alts);
      seq.push_back(g.ref(value));
    }
    call_alts.push_back(seq);
  }
  g.define_rule(call, call_alts);

  // Reply text: printable UTF-8 (no C0/C1 controls, no DEL) without '{' '}',
  // which only placeholder tokens spell, so every {name} in a reply is one the
  // device can fill; and without "<|", which spells a special token in the
  // answer's text (each '<' is followed by something other than '|').
  uint32_t after_lt = g.add_rule("reply-after-lt");
  std::vector<Grammar::Sequence> items =
      g.code_point_ranges({{0x20, 0x3B}, {0x3D, 0x7A}, {0x7C, 0x7C}, {0x7E, 0x7E}, {0xA0, 0x10FFFF}});
  std::vector<Grammar::Sequence> after =
      g.code_point_ranges({{0x20, 0x3B}, {0x3D, 0x7A}, {0x7E, 0x7E}, {0xA0, 0x10FFFF}});
  for (const auto& p : placeholder_names(schema)) {
    items.push_back({g.token(placeholder_token(p))});
    after.push_back({g.token(placeholder_token(p))});
  }
  items.push_back({g.byte('<'), g.ref(after_lt)});
  after.push_back({g.byte('<'), g.ref(after_lt)});
  g.define_rule(after_lt, after);
  g.define_rule(reply_item, items);
  g.define_rule(reply_tail, {{g.ref(reply_item), g.ref(reply_tail)}, {}});
  // The end token sits inside the reply rule so that every state before it counts as "in the reply".
  g.define_rule(reply, {{g.byte(' '), g.ref(reply_item), g.ref(reply_tail), g.token(kEndToken)}});
  g.set_counted_rule(reply);
  g.finalize("answer");
  return g;
}

// ------------------------------------------------------------ AnswerConstraint

AnswerConstraint::AnswerConstraint(const DomainSchema& schema, std::shared_ptr<const TokenVocab> vocab, int max_reply_tokens,
                                   Encoder encode, int max_calls)
    : automaton_(std::make_shared<GrammarAutomaton>(std::make_shared<Grammar>(compile_answer_grammar(schema)), vocab,
                                                    /*allow_eos_at_accept=*/false)),
      max_reply_tokens_(max_reply_tokens),
      encode_(std::move(encode)),
      max_calls_(max_calls),
      p_(automaton_) {
  init_tables(schema);
}

void AnswerConstraint::init_tables(const DomainSchema& schema) {
  if (max_reply_tokens_ < 2) fail("max_reply_tokens must be at least 2 (got ", max_reply_tokens_, ")");
  const TokenVocab& vocab = automaton_->vocab();
  auto end = vocab.special_id(kEndToken);
  if (!end) fail("the vocabulary has no special token ", kEndToken);
  end_id_ = *end;
  std::vector<std::string> arg_names;
  for (const auto& f : schema.functions)
    for (const auto& a : f.arguments)
      if (std::find(arg_names.begin(), arg_names.end(), a.name) == arg_names.end()) arg_names.push_back(a.name);
  if (arg_names.size() > 64) fail("more than 64 distinct argument names");
  arg_placeholders_.clear();
  for (const auto& n : arg_names) {
    auto id = vocab.special_id(placeholder_token(n));
    arg_placeholders_.push_back(id ? *id : -1);
  }
  function_args_.clear();
  for (const auto& f : schema.functions) {
    auto id = vocab.special_id(function_token(f.name));
    if (!id) fail("the vocabulary has no special token ", function_token(f.name));
    std::vector<uint8_t> slots;
    for (const auto& a : f.arguments)
      slots.push_back(uint8_t(std::find(arg_names.begin(), arg_names.end(), a.name) - arg_names.begin()));
    function_args_.emplace_back(*id, std::move(slots));
    auto& ranges = from_command_ranges_.emplace_back();
    for (const auto& a : f.arguments)
      ranges.push_back(a.type == ArgType::Integer && a.from_command ? std::pair{a.min, a.max} : std::pair<int64_t, int64_t>{1, 0});
  }
  scratch_.assign(size_t(vocab.mask_words()), 0);
  limited_.assign(size_t(vocab.mask_words()), 0);
  p_.value.reserve(64), p_.calls_text.reserve(256), number_scratch_.reserve(64 + vocab.max_token_bytes());
  digit_tokens_.clear();
  for (int32_t id = 0; id < vocab.n_vocab(); ++id)
    if (!vocab.is_special(id) && !vocab.bytes(id).empty() && vocab.bytes(id)[0] >= '0' && vocab.bytes(id)[0] <= '9')
      digit_tokens_.push_back(id);
}

AnswerConstraint::AnswerConstraint(const AnswerConstraint& other, int max_reply_tokens)
    : automaton_(other.automaton_),
      max_reply_tokens_(max_reply_tokens),
      encode_(other.encode_),
      max_calls_(other.max_calls_),
      p_(automaton_),
      end_id_(other.end_id_),
      arg_placeholders_(other.arg_placeholders_),
      function_args_(other.function_args_),
      from_command_ranges_(other.from_command_ranges_),
      digit_tokens_(other.digit_tokens_),
      command_numbers_(other.command_numbers_),
      command_number_texts_(other.command_number_texts_),
      limited_(other.limited_.size()),
      scratch_(other.scratch_.size()) {
  if (max_reply_tokens_ < 2) fail("max_reply_tokens must be at least 2 (got ", max_reply_tokens_, ")");
  p_.value.reserve(64), p_.calls_text.reserve(256), number_scratch_.reserve(64 + automaton_->vocab().max_token_bytes());
}

void AnswerConstraint::precompute() {
  automaton_->precompute(50000, kEndToken);
  for (int32_t s = 0; s < int32_t(automaton_->n_states()); ++s) canonical_forced(s);
  for (int32_t s = 0; s < int32_t(automaton_->n_states()); ++s) automaton_->single_token(s);
}

void AnswerConstraint::reset() {
  p_.matcher.reset();
  p_.available = 0;
  p_.calls = 0;
  p_.done = false;
  p_.call = -1;
  p_.call_arg = 0;
  p_.value.clear();
  p_.in_quotes = false;
  p_.arg_given = false;
  p_.calls_over = false;
  p_.calls_text.clear();
  p_.closed = 0;
  p_.repeated = -1;
}

void AnswerConstraint::set_command(std::string_view text) {
  command_numbers_.clear();
  command_number_texts_.clear();
  const std::string read = model_text(text);
  for (size_t i = 0; i < read.size();) {
    if (read[i] < '0' || read[i] > '9') {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < read.size() && read[j] >= '0' && read[j] <= '9') ++j;
    // Whole numbers only: not the decimals of "21.5", and at most 12 digits (the schema's range).
    const bool decimals = i >= 2 && read[i - 1] == '.' && read[i - 2] >= '0' && read[i - 2] <= '9';
    if (!decimals && j - i <= 12) {
      const int64_t n = std::stoll(read.substr(i, j - i));
      if (std::find(command_numbers_.begin(), command_numbers_.end(), n) == command_numbers_.end())
        command_numbers_.push_back(n), command_number_texts_.push_back(std::to_string(n));
    }
    i = j;
  }
}

const uint32_t* AnswerConstraint::limit_to_command_numbers(const uint32_t* m) {
  if (p_.call < 0 || command_numbers_.empty()) return m;
  const auto& ranges = from_command_ranges_[size_t(p_.call)];
  if (p_.call_arg >= int(ranges.size())) return m;
  const int64_t lo = ranges[size_t(p_.call_arg)].first, hi = ranges[size_t(p_.call_arg)].second;
  // The command's numbers this argument can take (no allocation: decoding steps allocate nothing).
  auto in_range = [&](size_t i) { return command_numbers_[i] >= lo && command_numbers_[i] <= hi; };
  bool some = false;
  for (size_t i = 0; i < command_numbers_.size(); ++i) some |= in_range(i);
  if (!some) return m;
  auto is_number = [&](const std::string& v) {
    for (size_t i = 0; i < command_numbers_.size(); ++i)
      if (in_range(i) && command_number_texts_[i] == v) return true;
    return false;
  };
  auto starts_number = [&](const std::string& v) {
    for (size_t i = 0; i < command_numbers_.size(); ++i)
      if (in_range(i) && command_number_texts_[i].compare(0, v.size(), v) == 0) return true;
    return false;
  };
  // A token may go on with the value only towards one of the numbers, and may end it
  // (a ',', the next call, the reply's space) only when it is one, or still empty (an
  // optional argument left out, which the grammar decides).
  // Tokens that start without a digit keep their bit when the value may end here; the
  // few that start with one are looked at alone.
  const TokenVocab& vocab = automaton_->vocab();
  const bool may_end = p_.value.empty() || is_number(p_.value);
  if (may_end) std::copy(m, m + limited_.size(), limited_.begin());
  else std::fill(limited_.begin(), limited_.end(), 0u);
  std::string& v = number_scratch_;
  for (int32_t id : digit_tokens_) {
    if (!mask_test(m, id)) continue;
    const std::string& t = vocab.bytes(id);
    size_t k = 0;
    while (k < t.size() && t[k] >= '0' && t[k] <= '9') ++k;
    v.assign(p_.value).append(t, 0, k);
    const bool ok = k == t.size() ? starts_number(v) : is_number(v);
    uint32_t& word = limited_[size_t(id) >> 5];
    word = ok ? word | (1u << (id & 31)) : word & ~(1u << (id & 31));
  }
  bool any = false;
  for (uint32_t w : limited_) any |= w != 0;
  // No number fits what the grammar allows here (it cannot happen for a value in range): no limit.
  return any ? limited_.data() : m;
}

namespace {
bool mask_empty(const uint32_t* m, size_t words) {
  for (size_t w = 0; w < words; ++w)
    if (m[w]) return false;
  return true;
}

void append_decimal(std::string& s, size_t v) {
  char digits[20];
  int n = 0;
  do digits[n++] = char('0' + v % 10);
  while (v /= 10);
  while (n) s += digits[--n];
}
}  // namespace

// Reply budget: the last few reply tokens (as many as a UTF-8 character has
// bytes) must each leave the text at a character boundary when some token can,
// so that with the budget spent the reply can always close with <|end|>.
const uint32_t* AnswerConstraint::mask() {
  int32_t s = p_.matcher.state();
  const uint32_t* m = automaton_->mask(s);
  if (automaton_->counted(s) && p_.matcher.counted_tokens() >= max_reply_tokens_ - 3) {
    if (p_.matcher.counted_tokens() >= max_reply_tokens_ && mask_test(m, end_id_)) {
      std::fill(scratch_.begin(), scratch_.end(), 0u);
      scratch_[size_t(end_id_) >> 5] |= 1u << (end_id_ & 31);
      return scratch_.data();
    }
    const uint32_t* finishing = automaton_->mask_finishing(s, kEndToken);
    if (!mask_empty(finishing, scratch_.size())) m = finishing;
  }
  auto writable = [&] {
    if (m != scratch_.data()) {
      std::copy(m, m + scratch_.size(), scratch_.begin());
      m = scratch_.data();
    }
  };
  int32_t forced = canonical_forced(s);
  if (forced >= 0 && mask_test(m, forced)) {
    std::fill(scratch_.begin(), scratch_.end(), 0u);
    scratch_[size_t(forced) >> 5] |= 1u << (forced & 31);
    return scratch_.data();
  }
  // {ARGNAME} placeholders of arguments no call so far has are masked out.
  for (size_t i = 0; i < arg_placeholders_.size(); ++i) {
    int32_t id = arg_placeholders_[i];
    if (id < 0 || ((p_.available >> i) & 1) || !mask_test(m, id)) continue;
    writable();
    scratch_[size_t(id) >> 5] &= ~(1u << (id & 31));
  }
  // Past the call limit, or once the calls are ended, no further function token.
  if (p_.calls >= max_calls_ || p_.calls_over)
    for (const auto& [id, slots] : function_args_) {
      if (!mask_test(m, id)) continue;
      writable();
      scratch_[size_t(id) >> 5] &= ~(1u << (id & 31));
    }
  return limit_to_command_numbers(m);
}

int32_t AnswerConstraint::canonical_forced(int32_t state) {
  if (!encode_) return -1;
  auto it = forced_cache_.find(state);
  if (it != forced_cache_.end()) return it->second;
  int32_t result = -1;
  std::string run = automaton_->forced_bytes(state);
  if (!run.empty()) {
    // Only a run that ends at a boundary: afterwards nothing but a space or a special token.
    int32_t end = automaton_->next_bytes(state, run);
    bool boundary = true;
    for (int b = 0; b < 256 && boundary; ++b)
      if (b != ' ' && automaton_->next_byte(end, uint8_t(b)) >= 0) boundary = false;
    if (boundary) {
      std::vector<int32_t> tokens = encode_(run);
      if (!tokens.empty() && automaton_->next_token(state, tokens[0]) >= 0) result = tokens[0];
    }
  }
  forced_cache_[state] = result;
  return result;
}

void AnswerConstraint::accept(int32_t id) {
  if (p_.done) fail("the answer is complete: no token may follow ", kEndToken);
  if (id < 0 || id >= automaton_->vocab().n_vocab() || !mask_test(mask(), id))
    fail("token ", id, " is not allowed by the answer grammar here");
  if (!p_.matcher.accept_token(id)) fail("token ", id, " is not allowed by the answer grammar here");
  const TokenVocab& vocab = automaton_->vocab();
  p_.repeated = -1;
  const int f = function_index(id);
  const bool function = f >= 0;
  if (function) {
    close_call();
    ++p_.calls;
    p_.call = f, p_.call_arg = 0, p_.value.clear(), p_.in_quotes = false, p_.arg_given = false;
    append_decimal(p_.calls_text, size_t(f));  // the call's text: "<function index>:<values>"
    p_.calls_text += ':';
  }
  // Where the calls part is: values are separated by ',' (free text is quoted and may hold
  // ',' and spaces; an empty slot is an argument left out); the reply begins after a space.
  if (!function && p_.call >= 0) {
    if (vocab.is_special(id)) {
      close_call();
    } else {
      for (char c : vocab.bytes(id)) {
        if (p_.in_quotes) {
          if (c == '"') p_.in_quotes = false;
        } else if (c == '"') {
          p_.in_quotes = true, p_.arg_given = true;
        } else if (c == ',') {
          close_argument();
          ++p_.call_arg, p_.value.clear();
        } else if (c == ' ') {
          close_call();
          break;
        } else {
          p_.value += c, p_.arg_given = true;
        }
        p_.calls_text += c;
      }
    }
  }
  if (p_.matcher.finished()) p_.done = true;
}

void AnswerConstraint::close_argument() {
  if (p_.call < 0 || !p_.arg_given) return;
  const auto& slots = function_args_[size_t(p_.call)].second;
  if (size_t(p_.call_arg) < slots.size()) p_.available |= 1ull << slots[size_t(p_.call_arg)];
  p_.arg_given = false;
}

void AnswerConstraint::close_call() {
  if (p_.call < 0) return;
  close_argument();
  p_.call = -1;
  // The closed calls end with '\n' (no value holds one: free text is printable); the one
  // closing now is what follows the last of them.
  const std::string_view all = p_.calls_text;
  const size_t last = all.rfind('\n');
  const size_t begin = last == std::string_view::npos ? 0 : last + 1;
  const std::string_view call = all.substr(begin);
  for (size_t i = 0; i < begin;) {
    const size_t end = all.find('\n', i);
    if (all.substr(i, end - i) == call) p_.repeated = p_.closed;
    i = end + 1;
  }
  p_.calls_text += '\n';
  ++p_.closed;
}

int AnswerConstraint::function_index(int32_t id) const {
  for (size_t f = 0; f < function_args_.size(); ++f)
    if (function_args_[f].first == id) return int(f);
  return -1;
}

bool AnswerConstraint::done() const { return p_.done; }

int32_t AnswerConstraint::forced_token() {
  if (p_.done) return -1;
  const uint32_t* m = mask();
  int32_t s = p_.matcher.state();
  if (m == automaton_->mask(s)) return automaton_->single_token(s);  // cached per state
  int32_t found = -1, count = 0;
  for (size_t w = 0; w < scratch_.size() && count < 2; ++w) {
    if (!m[w]) continue;
    count += std::popcount(m[w]);
    found = int32_t(w) * 32 + std::countr_zero(m[w]);
  }
  return count == 1 ? found : -1;
}

}  // namespace edgelm
