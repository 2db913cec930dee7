#include "eval/keyword_baseline.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <optional>
#include <set>

#include "data/generator.h"
#include "data/numbers.h"
#include "domain/language.h"
#include "platform/error.h"
#include "platform/random.h"

namespace edgelm {

using data::Intent;
using data::Language;
using data::Pattern;
using data::PatternNode;

namespace {

std::string lower_ascii(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  return s;
}

bool is_word_byte(char c) { return std::isalnum(uint8_t(c)) || uint8_t(c) >= 0x80 || c == '_'; }

// Words of a text: runs of letters, digits and non-ASCII bytes, lowercased.
std::vector<std::string> split_words(const std::string& text) {
  std::vector<std::string> out;
  std::string w;
  for (char c : lower_ascii(text)) {
    if (is_word_byte(c)) {
      w += c;
    } else if (!w.empty()) {
      out.push_back(w);
      w.clear();
    }
  }
  if (!w.empty()) out.push_back(w);
  return out;
}

// Finds `phrase` in `text` with its Latin letters and digits at word boundaries
// (Hangul glues particles and endings to its words, so it matches anywhere);
// returns npos if absent.
size_t find_phrase(const std::string& text, const std::string& phrase, size_t from = 0) {
  if (phrase.empty()) return std::string::npos;
  const bool left_edge = std::isalnum(uint8_t(phrase.front())), right_edge = std::isalnum(uint8_t(phrase.back()));
  for (size_t p = text.find(phrase, from); p != std::string::npos; p = text.find(phrase, p + 1)) {
    size_t end = p + phrase.size();
    bool left = !left_edge || p == 0 || !std::isalnum(uint8_t(text[p - 1]));
    bool right = !right_edge || end >= text.size() || !std::isalnum(uint8_t(text[end]));
    if (left && right) return p;
  }
  return std::string::npos;
}

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == ' ' || s.back() == ',')) s.pop_back();
  size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == ',')) ++i;
  return s.substr(i);
}

// Every string a pattern can produce (at most `limit`), value and duration
// slots written as "\x01"; lexicon slots expanded; Korean verbs in their
// connective-free stem form; particles dropped.
void expand(const Pattern& p, const Language& lang, size_t limit, int depth, std::vector<std::string>& out) {
  std::vector<std::string> acc = {""};
  for (const PatternNode& n : p.nodes) {
    std::vector<std::string> options;
    switch (n.kind) {
      case PatternNode::Kind::Text: options = {n.text}; break;
      case PatternNode::Kind::Particle: options = {""}; break;
      case PatternNode::Kind::Verb: {
        auto it = lang.verbs.find(n.text);
        options = {it == lang.verbs.end() ? n.text : it->second.stem};
        break;
      }
      case PatternNode::Kind::Choice:
        for (const auto& c : n.choices) expand(c, lang, limit, depth, options);
        if (n.optional) options.push_back("");
        break;
      case PatternNode::Kind::Slot: {
        auto lex = lang.lexicon.find(n.text);
        if (n.format.empty() && lex != lang.lexicon.end() && depth < 8) {
          for (const auto& e : lex->second) expand(e, lang, limit, depth + 1, options);
        } else {
          options = {"\x01"};
        }
        if (n.optional) options.push_back("");
        break;
      }
    }
    std::vector<std::string> next;
    for (const auto& a : acc)
      for (const auto& o : options) {
        if (next.size() >= limit) break;
        next.push_back(a + o);
      }
    acc = std::move(next);
  }
  for (auto& a : acc)
    if (out.size() < limit) out.push_back(std::move(a));
}

}  // namespace

struct KeywordBaseline::Tables {
  DomainSchema schema;
  std::unique_ptr<data::Phrasebook> pb_copy;  // the intents below point into it
  struct IntentKeys {
    const Intent* intent = nullptr;
    std::map<std::string, double> words;  // keyword -> weight
    std::set<std::string> value_slots;
    bool has_number = false;
  };
  std::vector<IntentKeys> intents;
  std::vector<std::pair<std::string, std::pair<std::string, std::string>>> values;  // phrase -> (slot, value), longest first
  std::vector<std::pair<std::string, int64_t>> durations;                         // phrase -> minutes, longest first
  std::vector<std::string> separators;                                            // longest first
  std::set<std::string> verb_stems;  // Korean stems, which endings follow ("켜" in "켜줘")
  const Intent* fallback = nullptr;  // an out-of-scope intent with calls (intent_unclear), if the domain has one
};

KeywordBaseline::KeywordBaseline(const data::Phrasebook& source) {
  auto t = std::make_shared<Tables>();
  t->pb_copy = std::make_unique<data::Phrasebook>(source);
  const data::Phrasebook& pb = *t->pb_copy;
  t->schema = pb.schema;

  // Keywords per intent, and in how many functions each word appears.
  std::map<std::string, std::set<std::string>> functions_of_word;
  std::set<std::string> functions;
  for (const Language& lang : pb.languages)
    for (const Intent& in : lang.intents) {
      Tables::IntentKeys k;
      k.intent = &in;
      std::vector<std::string> texts;
      for (const auto& tmpl : in.templates) expand(tmpl.pattern, lang, 256, 0, texts);
      std::set<std::string> words;
      for (const auto& text : texts)
        for (const auto& w : split_words(text))
          if (w.find('\x01') == std::string::npos) words.insert(w);
      std::string fn = in.primary_function() + (in.type == "out_of_scope" ? "#oos" : "");
      functions.insert(fn);
      for (const auto& w : words) {
        functions_of_word[w].insert(fn);
        k.words[w] = 0;
      }
      for (const auto& c : in.calls)
        for (const auto& [arg, slot] : c.slot_args) {
          const ArgumentSpec* a = pb.schema.find(c.function)->find_argument(arg);
          if (a->type == ArgType::Integer || a->type == ArgType::Number) k.has_number = true;
          else k.value_slots.insert(slot);
        }
      t->intents.push_back(std::move(k));
    }
  for (const Language& lang : pb.languages)
    for (const auto& [dict, verb] : lang.verbs) t->verb_stems.insert(verb.stem);
  // Words of argument values ("sleep", "수면") are matched as values, not as a function's keywords.
  std::set<std::string> value_words;
  for (const Language& lang : pb.languages)
    for (const auto& [slot, by_value] : lang.values)
      for (const auto& [value, patterns] : by_value) {
        std::vector<std::string> phrases;
        for (const auto& p : patterns) expand(p, lang, 64, 0, phrases);
        for (const auto& ph : phrases)
          for (const auto& w : split_words(ph)) value_words.insert(w);
      }
  const double n_functions = double(functions.size());
  for (auto& k : t->intents) {
    std::map<std::string, double> kept;
    for (const auto& [w, unused] : k.words) {
      if (value_words.count(w)) continue;
      double df = double(functions_of_word[w].size());
      if (df > std::max(1.0, n_functions / 3)) continue;  // a word most functions use says nothing
      kept[w] = std::log((n_functions + 1) / df);
    }
    k.words = std::move(kept);
  }

  // Value phrases, separators and durations.
  std::set<std::string> seps;
  bool any_duration = false;
  for (const Language& lang : pb.languages) {
    for (const auto& [slot, by_value] : lang.values)
      for (const auto& [value, patterns] : by_value) {
        std::vector<std::string> phrases;
        for (const auto& p : patterns) expand(p, lang, 64, 0, phrases);
        for (const auto& ph : phrases) {
          std::string s = trim(lower_ascii(ph));
          if (!s.empty() && s.find('\x01') == std::string::npos) t->values.push_back({s, {slot, value}});
        }
      }
    for (const auto& c : lang.connectors) {
      std::vector<std::string> forms;
      expand(c, lang, 64, 0, forms);
      for (const auto& f : forms) {
        size_t a = f.find('\x01'), b = f.rfind('\x01');
        if (a == std::string::npos || a == b) continue;
        std::string sep = lower_ascii(f.substr(a + 1, b - a - 1));
        if (sep.find_first_not_of(" ,.;") != std::string::npos) seps.insert(sep);
      }
    }
    for (const Intent& in : lang.intents) any_duration |= data::Generator::has_duration(in);
  }
  if (any_duration)
    for (const Language& lang : pb.languages) {
      for (int64_t m = 1; m <= 720; ++m)
        for (const auto& f : data::duration_forms(m, lang.rules())) t->durations.push_back({lower_ascii(f.text), m});
    }
  auto longest_first = [](const auto& a, const auto& b) { return a.first.size() > b.first.size(); };
  std::stable_sort(t->values.begin(), t->values.end(), longest_first);
  std::stable_sort(t->durations.begin(), t->durations.end(), longest_first);
  t->separators.assign(seps.begin(), seps.end());
  std::stable_sort(t->separators.begin(), t->separators.end(), [](auto& a, auto& b) { return a.size() > b.size(); });

  for (const auto& k : t->intents)
    if (k.intent->type == "out_of_scope" && !k.intent->calls.empty()) {
      t->fallback = k.intent;
      break;
    }
  tables_ = std::move(t);
}

const DomainSchema& KeywordBaseline::schema() const { return tables_->schema; }

namespace {

struct Found {
  std::map<std::string, std::string> values;  // slot -> value
  std::optional<int64_t> number;
};

Found find_values(const KeywordBaseline::Tables& t, std::string text) {
  Found f;
  for (const auto& [phrase, m] : t.durations) {
    size_t p = find_phrase(text, phrase);
    if (p == std::string::npos) continue;
    f.number = m;
    text.replace(p, phrase.size(), std::string(phrase.size(), ' '));
    break;
  }
  for (const auto& [phrase, sv] : t.values) {
    if (f.values.count(sv.first)) continue;
    size_t p = find_phrase(text, phrase);
    if (p == std::string::npos) continue;
    f.values[sv.first] = sv.second;
    text.replace(p, phrase.size(), std::string(phrase.size(), ' '));  // a phrase is used once
  }
  if (!f.number)
    for (size_t i = 0; i < text.size(); ++i)
      if (std::isdigit(uint8_t(text[i])) && (i == 0 || !std::isdigit(uint8_t(text[i - 1])))) {
        size_t j = i;
        while (j < text.size() && std::isdigit(uint8_t(text[j])) && j - i < 12) ++j;
        f.number = std::stoll(text.substr(i, j - i));
        break;
      }
  return f;
}

std::optional<ArgValue> value_for(const ArgumentSpec& a, const std::string& text) {
  try {
    switch (a.type) {
      case ArgType::Enum:
      case ArgType::String: return ArgValue(text);
      case ArgType::Integer: return ArgValue(int64_t(std::stoll(text)));
      case ArgType::Number: return ArgValue(std::stod(text));
      case ArgType::Boolean: return ArgValue(text == "true");
    }
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

// The calls of one intent, filled from what the text holds.
std::vector<Call> fill(const DomainSchema& schema, const Intent& in, const Found& f) {
  std::vector<Call> out;
  for (const auto& ct : in.calls) {
    const FunctionSpec* fn = schema.find(ct.function);
    Call c{ct.function, {}};
    for (const auto& [arg, value] : ct.literal_args) c.arguments[arg] = value;
    for (const auto& [arg, slot] : ct.slot_args) {
      const ArgumentSpec* a = fn->find_argument(arg);
      if (a->type == ArgType::Integer || a->type == ArgType::Number) {
        if (f.number) c.arguments[arg] = a->type == ArgType::Integer ? ArgValue(*f.number) : ArgValue(double(*f.number));
      } else if (auto it = f.values.find(slot); it != f.values.end()) {
        if (auto v = value_for(*a, it->second)) c.arguments[arg] = *v;
      }
    }
    c = canonical_call(schema, c);
    if (validate_call(schema, c).empty()) out.push_back(std::move(c));
  }
  return out;
}

// The best intent for one clause and its score (null: nothing matched).
std::pair<const Intent*, double> best_intent(const KeywordBaseline::Tables& t, const std::string& clause, const Found& f) {
  std::string text = lower_ascii(clause);
  std::vector<std::string> words = split_words(clause);
  std::set<std::string> word_set(words.begin(), words.end());
  const Intent* best = nullptr;
  double best_score = 0;
  for (const auto& k : t.intents) {
    double score = 0;
    for (const auto& [w, weight] : k.words) {
      // A Latin keyword is a whole word; a Hangul one starts a word (endings and particles follow it).
      bool latin = uint8_t(w[0]) < 0x80, hit = false;
      if (latin || (w.size() <= 3 && !t.verb_stems.count(w))) hit = word_set.count(w) > 0;  // one syllable: a whole word
      else
        for (const auto& cw : words) hit |= cw.compare(0, w.size(), w) == 0;
      if (hit) score += weight;
    }
    for (const auto& slot : k.value_slots)
      if (f.values.count(slot)) score += 2.0;
    if (k.has_number && f.number) score += 1.0;
    // An intent of several calls must earn each extra call: a keyword shared
    // with a single-call intent should not bring its companions along.
    if (k.intent->calls.size() > 1) score -= 1.0 * double(k.intent->calls.size() - 1);
    if (score > best_score) best = k.intent, best_score = score;
  }
  return {best, best_score};
}

}  // namespace

std::vector<Call> KeywordBaseline::calls(const std::string& text) const {
  const Tables& t = *tables_;
  // Clauses: split at a multi-command separator when both sides match an intent.
  std::vector<std::string> clauses = {lower_ascii(text)};
  for (const auto& sep : t.separators) {
    std::vector<std::string> next;
    for (const auto& c : clauses) {
      size_t p = find_phrase(c, sep);
      if (p == std::string::npos || p == 0) {
        next.push_back(c);
        continue;
      }
      std::string a = c.substr(0, p), b = c.substr(p + sep.size());
      if (best_intent(t, a, find_values(t, a)).first && best_intent(t, b, find_values(t, b)).first) {
        next.push_back(a);
        next.push_back(b);
      } else {
        next.push_back(c);
      }
    }
    clauses = std::move(next);
  }
  std::vector<Call> out;
  for (const auto& c : clauses) {
    Found f = find_values(t, c);
    auto [intent, score] = best_intent(t, c, f);
    if (!intent || score < 0.5) intent = t.fallback;
    if (!intent) continue;
    for (auto& call : fill(t.schema, *intent, f)) out.push_back(std::move(call));
  }
  if (out.empty() && t.fallback) out = fill(t.schema, *t.fallback, {});
  return out;
}

std::string KeywordBaseline::reply(const std::string& text, const std::vector<Call>& calls) const {
  const data::Phrasebook& pb = *tables_->pb_copy;
  std::vector<std::string> codes;
  for (const auto& l : pb.languages) codes.push_back(l.lang);
  std::string lang = language_of_text(text, codes);
  const Language* l = pb.find_language(lang);
  if (!l) return "";
  Rng rng(1);
  return data::Generator(pb).reply_for(*l, calls, rng);
}

Predictor keyword_baseline_predictor(std::shared_ptr<const KeywordBaseline> baseline) {
  return [baseline](const EvalCase& c) {
    auto start = std::chrono::steady_clock::now();
    Prediction p;
    p.calls = baseline->calls(c.text);
    p.reply = baseline->reply(c.text, p.calls);
    p.latency_ms = std::max(1e-6, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    return p;
  };
}

Predictor keyword_baseline_predictor(const std::string& domain_dir) {
  return keyword_baseline_predictor(std::make_shared<const KeywordBaseline>(data::load_phrasebook(domain_dir)));
}

}  // namespace edgelm
