// edgelm bench grammar [--vocab-size N]
//
// The allowed-token mask time per decoding step for a domain's answer
// grammar over a vocabulary of N tokens, single thread. The vocabulary is
// synthesised to look like a byte-level BPE vocabulary of a bilingual model:
// the agent's special tokens, the 256 bytes, numbers, English word pieces with
// and without a leading space, Hangul syllables and syllable pairs, and pieces
// that end inside a UTF-8 character. Answers are random walks through the
// grammar (uniform over allowed tokens, forced tokens appended), so every
// state type is exercised. Last line: a JSON object.
#include <algorithm>
#include <bit>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <unordered_map>

#include "agent/answer_grammar.h"
#include "agent/format.h"
#include "device/device.h"
#include "cli/command.h"
#include "platform/error.h"
#include "platform/random.h"
#include "platform/utf8.h"

namespace edgelm::cli {
namespace cmd_bench_grammar {

std::shared_ptr<const TokenVocab> synthesise_vocab(const DomainSchema& schema, int32_t n_vocab, uint64_t seed) {
  std::vector<std::string> tokens = agent_special_tokens(schema);
  std::vector<bool> special(tokens.size(), true);
  std::set<std::string> seen(tokens.begin(), tokens.end());
  auto add = [&](const std::string& t) {
    if (int32_t(tokens.size()) >= n_vocab || t.empty() || !seen.insert(t).second) return;
    tokens.push_back(t);
    special.push_back(false);
  };
  for (int b = 0; b < 256; ++b) add(std::string(1, char(b)));
  for (const auto& f : schema.functions)
    for (const auto& a : f.arguments)
      for (const auto& v : a.values) add(v), add(" " + v);
  for (int i = 0; i < 1000; ++i) add(std::to_string(i));
  static const char* words[] = {
      "the", "turn", "on", "off", "set", "fan", "speed", "mode", "sleep", "timer", "minutes", "hour", "air", "quality",
      "filter", "light", "sound", "rain", "ocean", "forest", "noise", "breathing", "tip", "lock", "child", "done",
      "okay", "sure", "now", "it", "is", "to", "for", "in", "and", "please", "can", "only", "help", "with", "purifier",
      "level", "good", "bad", "reading", "left", "life", "percent", "stress", "allergy", "max", "turbo", "auto", "low",
      "medium", "high", "up", "down", "dim", "bright", "stop", "play", "start", "cancel", "reset", "quiet", "strong",
      "weak", "room", "smell", "smoke", "night", "bed", "time", "I", "you", "your", "will", "be", "has", "been", "switched"};
  Rng rng(seed);
  const char* letters = "etaoinshrdlcumwfgypbvkjxqz";
  while (int32_t(tokens.size()) < n_vocab) {
    uint64_t kind = rng.below(100);
    if (kind < 20) {  // English words and their variants
      std::string w = words[rng.below(std::size(words))];
      if (rng.below(2)) w[0] = char(std::toupper(uint8_t(w[0])));
      add(rng.below(2) ? " " + w : w);
      add(w + (rng.below(2) ? "s" : "ed"));
    } else if (kind < 45) {  // English-like pieces of 2..7 letters, frequent letters first
      std::string w;
      size_t len = 2 + rng.below(6);
      for (size_t i = 0; i < len; ++i) w += letters[std::min<uint64_t>(rng.below(26), rng.below(26))];
      add(rng.below(3) ? " " + w : w);
    } else if (kind < 70) {  // Hangul syllables, with or without a leading space
      std::string s = utf8_encode(0xAC00 + uint32_t(rng.below(11172)));
      add(rng.below(2) ? " " + s : s);
    } else if (kind < 85) {  // two- and three-syllable Korean pieces
      std::string s;
      size_t len = 2 + rng.below(2);
      for (size_t i = 0; i < len; ++i) s += utf8_encode(0xAC00 + uint32_t(rng.below(2000)) * 5);
      add(rng.below(2) ? " " + s : s);
    } else if (kind < 93) {  // pieces that end or start inside a character
      std::string s = utf8_encode(0xAC00 + uint32_t(rng.below(11172)));
      add(rng.below(2) ? s.substr(0, 2) : s.substr(1));
      add(s + utf8_encode(0xAC00 + uint32_t(rng.below(11172))).substr(0, 1));
    } else {  // punctuation and number mixes
      static const char* punct[] = {".", ",", "!", "?", "%", "'s", " (", ")", ": ", "...", " -", "µg", "."};
      add(std::string(punct[rng.below(std::size(punct))]) + (rng.below(2) ? std::to_string(rng.below(100)) : ""));
    }
  }
  int32_t eos = 3;  // <|end|> comes after the three role tokens
  return std::make_shared<TokenVocab>(std::move(tokens), std::move(special), eos);
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = std::min(v.size() - 1, size_t(p * double(v.size() - 1) + 0.5));
  return v[i];
}

struct BenchOptions {
  std::string domain = kDefaultDomain;
  int32_t vocab_size = 49152;
  int answers = 2000;
  int max_reply_tokens = 48;
  uint64_t seed = 1;
  std::string command;  // set_command: from_command arguments held to its numbers
};

void run_bench(const BenchOptions& o) {
  using clock = std::chrono::steady_clock;
  DomainSchema schema = load_device(resolve_domain_dir(o.domain)).schema;
  auto vocab = synthesise_vocab(schema, o.vocab_size, o.seed);
  // Canonical tokenisation of forced text: greedy longest match over the synthetic vocabulary.
  std::unordered_map<std::string, int32_t> by_bytes;
  for (int32_t id = 0; id < vocab->n_vocab(); ++id)
    if (!vocab->is_special(id)) by_bytes.emplace(vocab->bytes(id), id);
  auto encode = [&by_bytes](std::string_view text) {
    std::vector<int32_t> out;
    size_t i = 0;
    while (i < text.size()) {
      for (size_t len = std::min<size_t>(16, text.size() - i); len > 0; --len) {
        auto it = by_bytes.find(std::string(text.substr(i, len)));
        if (it != by_bytes.end()) {
          out.push_back(it->second);
          i += len;
          break;
        }
      }
    }
    return out;
  };

  auto t0 = clock::now();
  AnswerConstraint constraint(schema, vocab, o.max_reply_tokens, encode);
  auto t1 = clock::now();
  constraint.precompute();
  auto t2 = clock::now();
  constraint.set_command(o.command);

  Rng rng(o.seed);
  std::vector<double> mask_us, accept_us;
  std::vector<int32_t> allowed, specials;
  const size_t masks_before = constraint.automaton().n_masks_computed();
  int64_t n_tokens = 0, n_forced = 0, n_calls = 0;
  const int32_t words = vocab->mask_words();
  for (int a = 0; a < o.answers; ++a) {
    constraint.reset();
    while (!constraint.done()) {
      // What the decoder does per step: the mask, then whether a token is forced.
      auto s = clock::now();
      const uint32_t* m = constraint.mask();
      int32_t forced = constraint.forced_token();
      auto e = clock::now();
      mask_us.push_back(std::chrono::duration<double, std::micro>(e - s).count());
      int32_t id = forced;
      if (id < 0) {
        allowed.clear();
        for (int32_t w = 0; w < words; ++w)
          for (uint32_t bits = m[w]; bits; bits &= bits - 1) allowed.push_back(w * 32 + std::countr_zero(bits));
        if (allowed.empty()) fail("bench grammar: the mask allows nothing (a bug)");
        // Shape the walk like real answers: a call is as likely as the reply
        // where both may come (up to three calls), and replies end at varied
        // lengths rather than always at the limit.
        specials.clear();
        for (int32_t t : allowed)
          if (vocab->is_special(t) && t != constraint.end_id()) specials.push_back(t);
        bool can_end = std::find(allowed.begin(), allowed.end(), constraint.end_id()) != allowed.end();
        if (!specials.empty() && constraint.calls() < 3 && rng.below(2) == 0) id = specials[rng.below(specials.size())];
        else if (can_end && rng.below(8) == 0) id = constraint.end_id();
        else id = allowed[rng.below(allowed.size())];
      } else {
        ++n_forced;
      }
      auto as = clock::now();
      constraint.accept(id);
      accept_us.push_back(std::chrono::duration<double, std::micro>(clock::now() - as).count());
      ++n_tokens;
    }
    n_calls += constraint.calls();
  }
  double sum = 0, accept_sum = 0;
  for (double v : mask_us) sum += v;
  for (double v : accept_us) accept_sum += v;
  double compile_ms = std::chrono::duration<double, std::milli>(t2 - t0).count();
  std::printf("vocabulary %d tokens, %zu grammar states, %d answers, %lld tokens (%lld forced), %.2f calls/answer\n",
              vocab->n_vocab(), constraint.automaton().n_states(), o.answers, (long long)n_tokens, (long long)n_forced,
              double(n_calls) / o.answers);
  nlohmann::json j = {
      {"vocab_size", vocab->n_vocab()},
      {"mask_us_avg", sum / double(mask_us.size())},
      {"mask_us_p50", percentile(mask_us, 0.50)},
      {"mask_us_p99", percentile(mask_us, 0.99)},
      {"mask_us_max", percentile(mask_us, 1.0)},
      {"accept_us_avg", accept_sum / double(accept_us.size())},
      {"compile_ms", compile_ms},
      {"grammar_ms", std::chrono::duration<double, std::milli>(t1 - t0).count()},
      {"precompute_ms", std::chrono::duration<double, std::milli>(t2 - t1).count()},
      {"states", constraint.automaton().n_states()},
      {"masks_computed_while_decoding", constraint.automaton().n_masks_computed() - masks_before},
      {"answers", o.answers},
      {"tokens", n_tokens},
      {"fast_forward_share", double(n_forced) / double(n_tokens)},
  };
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  auto o = std::make_shared<BenchOptions>();
  CLI::App* cmd = command_group(app, "bench", "Machine-readable benchmarks")
                      ->add_subcommand("grammar", "Allowed-token mask time of a domain's answer grammar (--domain)");
  cmd->add_option("--domain", o->domain, "domain folder or built-in name")->capture_default_str();
  cmd->add_option("--vocab-size", o->vocab_size, "tokens in the synthetic vocabulary")->capture_default_str();
  cmd->add_option("--answers", o->answers, "random answers to walk")->capture_default_str();
  cmd->add_option("--max-reply-tokens", o->max_reply_tokens, "reply budget")->capture_default_str();
  cmd->add_option("--seed", o->seed, "vocabulary and walk seed")->capture_default_str();
  cmd->add_option("--command", o->command, "the command answered: from_command integer arguments take its numbers");
  cmd->callback([o] {
    if (o->vocab_size < 400 || o->vocab_size > 1000000) fail("--vocab-size must be in 400..1000000");
    if (o->answers < 1) fail("--answers must be at least 1");
    run_bench(*o);
  });
}

CommandRegistration reg(setup);

}  // namespace cmd_bench_grammar
}  // namespace edgelm::cli
