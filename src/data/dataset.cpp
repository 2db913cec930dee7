// generate_dataset: draws typed examples from a domain's phrasebook towards a
// target distribution, drops exact and near duplicates, splits by template,
// and writes the SFT, case, DPO, manifest and report files.
#include "data/dataset.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "data/dialogue.h"
#include "data/generator.h"
#include "data/phrasebook.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/json.h"
#include "platform/progress.h"

namespace edgelm {

using data::Clause;
using data::Example;
using data::Generator;
using data::Intent;
using data::Language;
using data::Phrasebook;

int64_t check_domain(const std::string& domain_dir) { return data::load_phrasebook(domain_dir).n_templates(); }

namespace {

const char* kKinds[] = {"direct", "multi_call", "relative", "query", "indirect", "out_of_scope", "numeric_conversion", "partial"};
// The share of partial requests when generate.toml names none and the domain has them.
constexpr double kDefaultPartialShare = 0.08;
// The share of dialogues (data/dialogue.h) when generate.toml names no dialogue
// kind: spread evenly over the kinds the domain's phrasing can write.
constexpr double kDefaultDialogueShare = 0.25;
// Of follow_up_target, pronoun and keep_setting dialogues, the share with a turn
// between the one they lean on and the last ("interjected": draw_dialogue).
constexpr double kInterjectedShare = 0.3;
// The share of keep_setting turns said as a whole command of the domain ("set the thermostat to 73") rather than
// a follow-up phrase ("make it 73"): people name the thing again as often as not.
constexpr double kKeepSettingByCommandShare = 0.4;
// Of the chained multi-commands of a domain whose queries ask together (Intent::asks_together),
// the share that asks two questions.
constexpr double kTwoQuestions = 0.25;

std::string pick_weighted(const std::map<std::string, double>& weights, Rng& rng) {
  double total = 0;
  for (const auto& [k, w] : weights) total += w;
  double x = rng.uniform() * total;
  for (const auto& [k, w] : weights) {
    if (x < w) return k;
    x -= w;
  }
  return weights.rbegin()->first;
}

std::string calls_key(const std::vector<Call>& calls) {
  std::string s;
  for (const auto& c : calls) s += call_to_string(c) + ";";
  return s;
}

// Reads an eval report and multiplies the weights of what failed: a rate of r
// scales a weight by 1 + 2 (1 - r), so a total failure triples it at most.
struct Focus {
  std::map<std::string, double> kind, language, function;
  double noise = 1, mix = 1;
};

Focus read_focus(const std::string& path) {
  Focus f;
  if (path.empty()) return f;
  nlohmann::json j = parse_json(read_file(path), path);
  auto factors = [&](const char* key, std::map<std::string, double>& out) {
    if (!j.contains(key)) return;
    if (!j[key].is_object()) fail(path, ": '", key, "' must be an object of name -> {n, passed, rate}");
    for (auto it = j[key].begin(); it != j[key].end(); ++it) {
      if (!it->is_object() || !it->contains("rate") || !(*it)["rate"].is_number())
        fail(path, ": ", key, ".", it.key(), " needs a numeric 'rate'");
      double rate = std::clamp((*it)["rate"].get<double>(), 0.0, 1.0);
      out[it.key()] = 1 + 2 * (1 - rate);
    }
  };
  std::map<std::string, double> types;
  factors("by_function", f.function);
  factors("by_language", f.language);
  factors("by_type", types);
  for (const auto& [t, x] : types) {
    if (t == "noisy") f.noise = x;
    else if (t == "code_switched") f.mix = x;
    else f.kind[t] = x;
  }
  if (!j.contains("by_function") && !j.contains("by_type") && !j.contains("by_language"))
    fail(path, ": no by_function, by_type or by_language in the eval report");
  return f;
}

double noise_rate_of(const GenerateOptions& o, const Focus& focus) { return std::min(0.6, o.noise_rate * focus.noise); }

struct Pools {
  // Per language: intents by kind, chainable intents, explicit multi-call intents.
  std::map<std::string, std::map<std::string, std::vector<const Intent*>>> by_kind;
  std::map<std::string, std::vector<const Intent*>> chainable, with_duration;
  std::map<std::string, std::vector<const Intent*>> asks_together;  // queries with targets (Intent::asks_together)
  std::vector<std::pair<const Language*, Clause>> all_single;  // every template (raw draws)
};

Pools build_pools(const Phrasebook& pb) {
  Pools p;
  for (const auto& lang : pb.languages) {
    for (const auto& in : lang.intents) {
      // A request that leaves out what the device needs is its own kind, so its share is set apart from direct ones.
      p.by_kind[lang.lang][in.partial ? "partial" : in.type].push_back(&in);
      if (in.chain) p.chainable[lang.lang].push_back(&in);
      if (in.chain && in.asks_together && !lang.ask_together.empty()) p.asks_together[lang.lang].push_back(&in);
      if (Generator::has_duration(in)) p.with_duration[lang.lang].push_back(&in);
      for (const auto& t : in.templates) p.all_single.push_back({&lang, Clause{&in, &t}});
    }
  }
  return p;
}

// A template of the intent; for a code-switched draw (`switch_in` set), one
// that can switch when the intent has any.
Clause clause_of(const Intent* in, Rng& rng, const Language* switch_in = nullptr) {
  if (switch_in) {
    std::vector<const data::Template*> ok;
    for (const auto& t : in->templates)
      if (Generator::can_switch(*switch_in, t.pattern)) ok.push_back(&t);
    if (!ok.empty()) return Clause{in, pick(ok, rng)};
  }
  return Clause{in, &pick(in->templates, rng)};
}

// Intent choice weighted by its primary function, so every function gets its
// share however many intents (idioms, variants) it has.
const Intent* pick_by_function(const std::vector<const Intent*>& intents, const std::map<std::string, double>& fn_weight,
                               Rng& rng) {
  std::map<std::string, std::vector<const Intent*>> by_fn;
  for (const Intent* in : intents) by_fn[in->primary_function()].push_back(in);
  std::map<std::string, double> w;
  for (const auto& [fn, v] : by_fn) w[fn] = fn_weight.count(fn) ? fn_weight.at(fn) : 1.0;
  return pick(by_fn.at(pick_weighted(w, rng)), rng);
}

// The clauses of a multi-command: 2 or 3 chainable intents, each function once
// except that a function acting in a place its arguments name (device.toml
// keys: rooms, doors) may come twice ("bedroom lights off and hallway lights
// on"; Generator::render turns down two that act in the same place), and so
// may a question ("is the front door locked, and the back door?";
// Generator::render turns down two that ask the same); an intent marked
// `last` (switching off) only as the last request.
std::vector<Clause> multi_clauses(const std::vector<const Intent*>& chainable, const std::map<std::string, double>& fn_weight,
                                  const Phrasebook& pb, Rng& rng) {
  size_t n = rng.uniform() < 0.8 ? 2 : 3;
  std::vector<Clause> out;
  std::map<std::string, int> used;
  bool twice = false;  // the second request on the first one's function
  for (int tries = 0; out.size() < n && tries < 50; ++tries) {
    const Intent* in = pick_by_function(chainable, fn_weight, rng);
    std::string fn = in->primary_function();
    if (twice && tries < 25 && out.size() == 1 && fn != out[0].intent->primary_function()) continue;
    const bool may_repeat = pb.place_args.count(fn) || in->type == "query";
    if (used[fn] >= (may_repeat ? 2 : 1)) continue;
    if (in->last && out.size() + 1 < n) continue;
    ++used[fn];
    out.push_back(clause_of(in, rng));
    // A quarter of those whose first request could come twice get its function again.
    if (out.size() == 1 && may_repeat) twice = rng.uniform() < 0.25;
  }
  return out;
}

struct Draw {
  const Language* lang = nullptr;
  std::vector<Clause> clauses;
  bool mix = false, force_conversion = false;
  std::string kind;
  data::Joining joining = data::Joining::Connectors;
};

struct Split {
  std::map<std::string, std::string> of_template;  // template id -> train / valid / test
  std::string of(const Example& ex) const {
    std::string s = "train";
    for (const auto* t : ex.parts) {
      const std::string& x = of_template.at(t->id);
      if (x == "test") return "test";
      if (x == "valid") s = "valid";
    }
    return s;
  }
};

// Holds out whole templates: per intent (and per follow-up phrase list) and,
// within an intent, per family of templates (its own, each library intent's,
// each out-of-scope topic's: the id without its index), ordered by a hash of
// the template id (stable across seeds and data versions), the first ones go
// to test, the next to valid. Families with fewer than 5 templates stay in
// train. (By family because ids that differ only at the end sort next to each
// other: one list of several families held out one whole family, such as
// every "stop" phrase for another device, which training then never saw.)
Split make_split(const Phrasebook& pb, double valid_fraction, double test_fraction) {
  Split s;
  std::vector<std::vector<const data::Template*>> lists;
  auto add_by_family = [&](const std::vector<data::Template>& templates) {
    std::map<std::string, std::vector<const data::Template*>> families;
    for (const auto& t : templates) families[t.id.substr(0, t.id.rfind('.'))].push_back(&t);
    for (auto& [family, ts] : families) lists.push_back(std::move(ts));
  };
  for (const auto& lang : pb.languages) {
    for (const auto& in : lang.intents) add_by_family(in.templates);
    for (const auto& [name, phrases] : lang.follow_ups) add_by_family(phrases);
  }
  for (auto& ts : lists) {
    for (const auto* t : ts) s.of_template[t->id] = "train";
    if (ts.size() < 5) continue;
    std::sort(ts.begin(), ts.end(), [](auto* a, auto* b) { return data::fnv1a(a->id) < data::fnv1a(b->id); });
    size_t n_test = std::max<size_t>(1, size_t(ts.size() * test_fraction + 0.5));
    size_t n_valid = valid_fraction > 0 ? std::max<size_t>(1, size_t(ts.size() * valid_fraction + 0.5)) : 0;
    for (size_t i = 0; i < ts.size(); ++i)
      s.of_template[ts[i]->id] = i < n_test ? "test" : i < n_test + n_valid ? "valid" : "train";
  }
  return s;
}

nlohmann::ordered_json call_json(const Call& c) {
  nlohmann::ordered_json args = nlohmann::ordered_json::object();
  for (const auto& [k, v] : c.arguments) args[k] = arg_to_json(v);
  return {{"name", c.name}, {"arguments", args}};
}

nlohmann::ordered_json assistant_message(const std::string& reply, const std::vector<Call>& calls) {
  nlohmann::ordered_json tc = nlohmann::ordered_json::array();
  for (const auto& c : calls) tc.push_back({{"type", "function"}, {"function", call_json(c)}});
  return {{"role", "assistant"}, {"content", reply}, {"tool_calls", tc}};
}

nlohmann::ordered_json types_json(const Example& ex) {
  nlohmann::ordered_json fns = nlohmann::ordered_json::array(), args = nlohmann::ordered_json::array();
  for (const auto& c : ex.calls) {
    fns.push_back(c.name);
    for (const auto& [k, v] : c.arguments) args.push_back(cat(c.name, ".", k, "=", arg_text(v)));
  }
  nlohmann::ordered_json ph = nlohmann::ordered_json::array();
  for (const auto& p : ex.phenomena) ph.push_back(p);
  return {{"phenomenon", ph}, {"functions", fns}, {"arguments", args}, {"language", ex.lang},
          {"template", ex.template_id}, {"kind", ex.kind}, {"turn", ex.history.size() + 1}};
}

// Values of free-text arguments the phrasing files say ("get_device_status.room"
// -> bedroom, garage, ...): the only ones a wrong answer may use, since the
// schema does not list them.
using KnownValues = std::map<std::string, std::vector<ArgValue>>;

KnownValues known_string_values(const Phrasebook& pb) {
  std::map<std::string, std::set<std::string>> seen;
  for (const auto& lang : pb.languages)
    for (const auto& in : lang.intents)
      for (const auto& c : in.calls) {
        const FunctionSpec* f = pb.schema.find(c.function);
        for (const auto& [arg, v] : c.literal_args)
          if (f->find_argument(arg)->type == ArgType::String) seen[c.function + "." + arg].insert(std::get<std::string>(v));
        for (const auto& [arg, slot] : c.slot_args) {
          const ArgumentSpec* a = f->find_argument(arg);
          if (a->type != ArgType::String || !lang.values.count(slot)) continue;
          for (const auto& [key, words] : lang.values.at(slot))
            if (auto v = arg_from_text(*a, key); v && a->accepts(*v)) seen[c.function + "." + arg].insert(std::get<std::string>(*v));
        }
      }
  KnownValues out;
  for (const auto& [k, values] : seen) out[k].assign(values.begin(), values.end());
  return out;
}

// A random valid value of `a` (none for free text nobody says).
std::optional<ArgValue> random_value(const FunctionSpec& f, const ArgumentSpec& a, const KnownValues& known, Rng& rng) {
  switch (a.type) {
    case ArgType::Enum: return ArgValue(pick(a.values, rng));
    case ArgType::Integer: return ArgValue(a.min + int64_t(rng.below(uint64_t(a.max - a.min + 1))));
    case ArgType::Number: {
      double x = std::round((a.min_number + rng.uniform() * (a.max_number - a.min_number)) * 2) / 2;
      return ArgValue(std::clamp(x, a.min_number, a.max_number));
    }
    case ArgType::Boolean: return ArgValue(rng.below(2) == 0);
    case ArgType::String:
      if (auto it = known.find(f.name + "." + a.name); it != known.end() && !it->second.empty()) return pick(it->second, rng);
      return std::nullopt;
  }
  return std::nullopt;
}

bool can_leave_out(const ArgumentSpec& a) { return a.optional && !a.default_value; }

// A random valid call of `f`, keeping the values of `keep` where they fit.
// An argument the call may leave out gets a value half of the time.
std::optional<Call> random_call(const FunctionSpec& f, const Call* keep, const KnownValues& known, Rng& rng) {
  Call c;
  c.name = f.name;
  for (const auto& a : f.arguments) {
    if (keep)
      if (auto it = keep->arguments.find(a.name); it != keep->arguments.end() && a.accepts(it->second)) {
        c.arguments[a.name] = it->second;
        continue;
      }
    if (a.optional && (!can_leave_out(a) || rng.below(2) == 0)) continue;
    std::optional<ArgValue> v = random_value(f, a, known, rng);
    if (v) c.arguments[a.name] = *v;
    else if (!a.optional) return std::nullopt;
  }
  return c;
}

// A wrong number close to `m`: hours taken as minutes, or a neighbouring value.
int64_t near_number(const ArgumentSpec& a, int64_t m, Rng& rng) {
  int64_t w;
  if (a.max - a.min > 120) {
    w = m >= 60 && m % 60 == 0 && rng.below(2) ? m / 60 : m + (rng.below(2) ? 30 : -30);
  } else {
    int64_t d = 1 + int64_t(rng.below(3));
    w = rng.below(2) ? m + d : m - d;
    if (w < a.min || w > a.max) w = 2 * m - w;
  }
  if (w < a.min || w > a.max || w == m) w = m == a.min ? a.min + 1 : a.min;
  return w;
}

// A near-miss wrong answer for DPO: wrong enum (or boolean) value, wrong
// free-text value, wrong function, a dropped call, a wrong number, a value
// the request never gave (a partial call filled in), or a call where none
// belongs.
std::optional<std::pair<std::string, std::vector<Call>>> near_miss(const DomainSchema& schema, const KnownValues& known,
                                                                   const Example& ex, Rng& rng) {
  auto value_kind = [&](const Call& c, const std::string& arg) -> std::string {
    const ArgumentSpec* a = schema.find(c.name)->find_argument(arg);
    switch (a->type) {
      case ArgType::Integer:
      case ArgType::Number: return "wrong_number";
      case ArgType::Enum: return a->values.size() > 1 ? "wrong_enum" : "";
      case ArgType::Boolean: return "wrong_enum";
      case ArgType::String: {
        auto it = known.find(c.name + "." + arg);
        return it != known.end() && it->second.size() > 1 ? "wrong_string" : "";
      }
    }
    return "";
  };
  auto inventable = [&](const Call& c, const ArgumentSpec& a) {
    return can_leave_out(a) && !c.arguments.count(a.name) &&
           (a.type != ArgType::String || known.count(c.name + "." + a.name));
  };
  std::vector<std::string> kinds;
  if (ex.calls.empty()) kinds = {"call_where_none_belongs"};
  else {
    kinds.push_back("wrong_function");
    for (const auto& c : ex.calls) {
      for (const auto& [k, v] : c.arguments)
        if (std::string kind = value_kind(c, k); !kind.empty()) kinds.push_back(kind);
      for (const auto& a : schema.find(c.name)->arguments)
        if (inventable(c, a)) kinds.push_back("invented_argument");
    }
    if (ex.calls.size() > 1) kinds.push_back("dropped_call");
  }
  std::string kind = pick(kinds, rng);
  std::vector<Call> bad = ex.calls;
  if (kind == "call_where_none_belongs") {
    auto c = random_call(pick(schema.functions, rng), nullptr, known, rng);
    if (!c) return std::nullopt;
    bad.push_back(*c);
  } else if (kind == "dropped_call") {
    bad.erase(bad.begin() + rng.below(bad.size()));
  } else if (kind == "wrong_function") {
    Call& c = bad[rng.below(bad.size())];
    // Prefer a sibling with the same argument names (set_power / set_child_lock).
    std::vector<const FunctionSpec*> siblings, others;
    for (const auto& f : schema.functions) {
      if (f.name == c.name) continue;
      bool same = !c.arguments.empty();
      for (const auto& [k, v] : c.arguments) same &= f.find_argument(k) != nullptr;
      (same ? siblings : others).push_back(&f);
    }
    if (siblings.empty() && others.empty()) return std::nullopt;
    const FunctionSpec* f = !siblings.empty() && (others.empty() || rng.uniform() < 0.7) ? pick(siblings, rng) : pick(others, rng);
    auto other = random_call(*f, &c, known, rng);
    if (!other) return std::nullopt;
    c = *other;
  } else if (kind == "invented_argument") {
    std::vector<std::pair<size_t, const ArgumentSpec*>> slots;
    for (size_t i = 0; i < bad.size(); ++i)
      for (const auto& a : schema.find(bad[i].name)->arguments)
        if (inventable(bad[i], a)) slots.push_back({i, &a});
    auto [i, a] = pick(slots, rng);
    auto v = random_value(*schema.find(bad[i].name), *a, known, rng);
    if (!v) return std::nullopt;
    bad[i].arguments[a->name] = *v;
  } else {
    std::vector<std::pair<size_t, std::string>> slots;
    for (size_t i = 0; i < bad.size(); ++i)
      for (const auto& [k, v] : bad[i].arguments)
        if (value_kind(bad[i], k) == kind) slots.push_back({i, k});
    auto [i, k] = pick(slots, rng);
    const FunctionSpec& f = *schema.find(bad[i].name);
    const ArgumentSpec* a = f.find_argument(k);
    ArgValue& v = bad[i].arguments[k];
    const ArgValue now = v;
    if (a->type == ArgType::Enum) {
      while (v == now) v = pick(a->values, rng);
    } else if (a->type == ArgType::Boolean) {
      v = !std::get<bool>(now);
    } else if (a->type == ArgType::String) {
      const auto& values = known.at(f.name + "." + k);
      while (v == now) v = pick(values, rng);
    } else if (a->type == ArgType::Integer) {
      v = near_number(*a, std::get<int64_t>(now), rng);
    } else {
      double x = std::get<double>(now), d = rng.below(2) ? 1.0 : 0.5;
      double w = rng.below(2) ? x + d : x - d;
      if (w < a->min_number || w > a->max_number) w = 2 * x - w;
      v = std::clamp(w, a->min_number, a->max_number);
    }
  }
  std::vector<Call> a = ex.calls, b = bad;
  std::sort(a.begin(), a.end());
  std::sort(b.begin(), b.end());
  if (a == b) return std::nullopt;
  for (const auto& c : bad)
    if (!validate_call(schema, c).empty()) return std::nullopt;
  return std::make_pair(kind, bad);
}

void count_into(const Example& ex, std::map<std::string, int64_t>& ph, std::map<std::string, int64_t>& lang,
                std::map<std::string, int64_t>& fn) {
  for (const auto& p : ex.phenomena) ++ph[p];
  ++lang[ex.lang];
  if (ex.calls.empty()) ++fn["(none)"];
  for (const auto& c : ex.calls) ++fn[c.name];
}

std::string distribution_table(const char* title, const std::map<std::string, int64_t>& before, int64_t n_before,
                               const std::map<std::string, int64_t>& after, int64_t n_after) {
  std::string s = cat("\n### ", title, "\n\n| ", title, " | raw draw | share | written | share |\n| --- | ---: | ---: | ---: | ---: |\n");
  std::set<std::string> keys;
  for (const auto& [k, v] : before) keys.insert(k);
  for (const auto& [k, v] : after) keys.insert(k);
  char buf[256];
  for (const auto& k : keys) {
    int64_t b = before.count(k) ? before.at(k) : 0, a = after.count(k) ? after.at(k) : 0;
    std::snprintf(buf, sizeof buf, "| %s | %lld | %.1f%% | %lld | %.1f%% |\n", k.c_str(), (long long)b,
                  n_before ? 100.0 * b / n_before : 0.0, (long long)a, n_after ? 100.0 * a / n_after : 0.0);
    s += buf;
  }
  return s;
}

}  // namespace

DataSummary generate_dataset(const GenerateOptions& o) {
  auto t0 = std::chrono::steady_clock::now();
  if (o.n < 1) fail("--n must be at least 1");
  if (o.valid_fraction < 0 || o.test_fraction < 0 || o.valid_fraction + o.test_fraction >= 0.9)
    fail("valid and test fractions must be >= 0 and leave most templates for training");
  Phrasebook pb = data::load_phrasebook(o.domain_dir);
  Generator gen(pb);
  Pools pools = build_pools(pb);
  Split split = make_split(pb, o.valid_fraction, o.test_fraction);
  Focus focus = read_focus(o.focus_report);
  const KnownValues known_values = known_string_values(pb);

  std::map<std::string, double> kind_w = pb.config.kind_targets, lang_w = pb.config.language_targets, fn_w;
  bool any_partial = false;
  for (const auto& lang : pb.languages)
    for (const auto& in : lang.intents) any_partial |= in.partial;
  if (any_partial && !kind_w.count("partial")) kind_w["partial"] = kDefaultPartialShare;
  for (const auto& f : pb.schema.functions) fn_w[f.name] = focus.function.count(f.name) ? focus.function.at(f.name) : 1.0;

  // A draw of one kind: language, then function, intent and template.
  auto draw_of_kind = [&](const std::string& kind, Rng& rng) -> Draw {
    Draw d;
    d.kind = kind;
    std::string l = pick_weighted(lang_w, rng);
    d.mix = l == kMixedLanguage;
    std::string base = d.mix ? pb.code_switch_base(rng.uniform()).lang : l;
    d.lang = pb.find_language(base);
    if (!d.lang) d.lang = &pb.languages[0];
    base = d.lang->lang;
    // A code-switched draw only picks templates that can switch.
    auto usable = [&](const Intent* in) {
      if (!d.mix) return true;
      for (const auto& t : in->templates)
        if (Generator::can_switch(*d.lang, t.pattern)) return true;
      return false;
    };
    auto filtered = [&](const std::vector<const Intent*>& v) {
      std::vector<const Intent*> out;
      for (const Intent* in : v)
        if (usable(in)) out.push_back(in);
      return out;
    };
    if (d.kind == "multi_call") {
      const auto& explicit_multi = pools.by_kind[base]["multi_call"];
      // Written compounds ("켜고 자동으로") say things chaining cannot (shared
      // objects, 켜서); at 0.2 the model dropped their first call.
      const auto& questions = pools.asks_together[base];
      if (!explicit_multi.empty() && rng.uniform() < 0.3) {
        d.clauses = {clause_of(pick(explicit_multi, rng), rng)};
      } else if (!questions.empty() && rng.uniform() < kTwoQuestions) {
        // Two questions at once, half of them asked as one ("공기질이랑 필터 상태 둘 다 알려줘"):
        // chained multi-commands rarely pair two questions (a question goes first only before another).
        d.clauses = {clause_of(pick_by_function(questions, fn_w, rng), rng), clause_of(pick_by_function(questions, fn_w, rng), rng)};
        if (rng.uniform() < 0.5) d.joining = data::Joining::AskTogether;
      } else if (!pools.chainable[base].empty()) {
        d.clauses = multi_clauses(pools.chainable[base], fn_w, pb, rng);
      }
    } else if (d.kind == "numeric_conversion") {
      d.force_conversion = true;
      auto v = filtered(pools.with_duration[base]);
      if (!v.empty()) d.clauses = {clause_of(pick_by_function(v, fn_w, rng), rng, d.mix ? d.lang : nullptr)};
    } else if (auto v = filtered(pools.by_kind[base][d.kind]); !v.empty()) {
      d.clauses = {clause_of(pick_by_function(v, fn_w, rng), rng, d.mix ? d.lang : nullptr)};
    }
    return d;
  };
  auto render_draw = [&](const Draw& d, Rng& rng) -> std::optional<Example> {
    if (d.clauses.empty()) return std::nullopt;
    auto ex = gen.render(*d.lang, d.clauses, d.mix, d.force_conversion, noise_rate_of(o, focus), rng, d.joining);
    if (ex) ex->kind = d.kind;
    return ex;
  };
  // A single command of a kind drawn by the single-command weights, in `lang`'s phrasing.
  auto single_in = [&](const std::string& kind, const Language& lang, Rng& rng) -> std::optional<Example> {
    for (int tries = 0; tries < 8; ++tries) {
      Draw d = draw_of_kind(kind, rng);
      if (d.lang != &lang) continue;
      if (auto ex = render_draw(d, rng)) return ex;
    }
    return std::nullopt;
  };
  auto single_kind = [&](Rng& rng) {
    std::map<std::string, double> w;
    for (const auto& [k, x] : kind_w)
      if (!data::is_dialogue_kind(k) && x > 0) w[k] = x;
    return pick_weighted(w, rng);
  };
  // A dialogue: the turn it leans on (the anchor), 0-3 earlier single commands
  // before it, and its last turn (data/dialogue.h): 2 to 5 user turns.
  const data::DialogueWriter writer(gen);
  auto draw_dialogue = [&](const std::string& kind, Rng& rng) -> std::optional<Example> {
    const Language& lang = *draw_of_kind("direct", rng).lang;
    std::string anchor_kind = data::DialogueWriter::anchor_kind(kind);
    if (anchor_kind.empty()) {
      const double x = rng.uniform();
      anchor_kind = x < 0.6 ? "direct" : x < 0.8 ? "query" : "indirect";
    }
    auto anchor = single_in(anchor_kind, lang, rng);
    if (!anchor) return std::nullopt;
    std::optional<Example> fresh;
    if (kind == "out_of_scope_mid") fresh = single_in("out_of_scope", lang, rng);
    if (kind == "topic_switch") fresh = single_in(rng.uniform() < 0.8 ? "direct" : "query", lang, rng);
    if ((kind == "out_of_scope_mid" || kind == "topic_switch") && !fresh) return std::nullopt;
    std::optional<Example> last;
    // A setting changed by a whole command of the domain ("set the thermostat to 73"), the others kept.
    if (kind == "keep_setting" && anchor->calls.size() == 1 && rng.uniform() < kKeepSettingByCommandShare)
      for (int tries = 0; tries < 8 && !last; ++tries)
        if (auto command = single_in("direct", lang, rng)) last = writer.keep_setting_by_command(lang, *anchor, *command, rng);
    if (!last) last = writer.last_turn(kind, lang, *anchor, fresh ? &*fresh : nullptr, noise_rate_of(o, focus), rng);
    if (!last) return std::nullopt;
    // Earlier turns never call the anchor's function where the last turn
    // keeps what the conversation established (the anchor alone says it),
    // and never set an argument of a function the last turn calls without it:
    // "heat to 70" ... "set the thermostat to 73" keeps the heating, so a
    // last turn that leaves the mode out must not come after one that set it.
    const bool keeps = kind == "correction" || kind == "keep_setting";
    auto clashes = [&](const Example& turn) {
      for (const auto& c : turn.calls) {
        for (const auto& a : anchor->calls)
          if (keeps && c.name == a.name) return true;
        for (const auto& l : last->calls)
          if (c.name == l.name)
            for (const auto& [arg, v] : c.arguments)
              if (!l.arguments.count(arg)) return true;
      }
      return false;
    };
    // Now and then a turn comes between the anchor and the last turn, which
    // still leans on the anchor: an everyday request of the phrase library's
    // out-of-scope topics ("what's the weather?", which names no thing the
    // follow-up could mean instead) after which "the office too" still means
    // the lights, or, where the last turn keeps the conversation's settings, a
    // command on another function ("lock the back door", then "make it 73"
    // keeps the heating mode).
    std::optional<Example> between;
    if ((kind == "follow_up_target" || kind == "pronoun" || kind == "keep_setting") && rng.uniform() < kInterjectedShare) {
      const bool other_function = kind == "keep_setting" && rng.uniform() < 0.5;
      for (int tries = 0; tries < 6 && !between; ++tries) {
        between = single_in(other_function ? "direct" : "out_of_scope", lang, rng);
        if (between && (clashes(*between) || (!other_function && !between->parts.at(0)->everyday))) between.reset();
      }
    }
    static const int kEarlier[] = {0, 0, 0, 1, 1, 2, 3};
    const int n_earlier = std::min(kEarlier[rng.below(7)], between ? 2 : 3);
    for (int i = 0, tries = 0; i < n_earlier && tries < 12; ++tries) {
      auto turn = single_in(single_kind(rng), lang, rng);
      if (!turn || clashes(*turn)) continue;
      last->history.push_back({turn->text, turn->calls, turn->reply});
      ++i;
    }
    last->history.push_back({anchor->text, anchor->calls, anchor->reply});
    if (between) {
      last->history.push_back({between->text, between->calls, between->reply});
      last->phenomena.insert("interjected");
    }
    return last;
  };

  // Dialogue kinds: the shares generate.toml gives, else kDefaultDialogueShare of
  // all examples spread over the kinds this domain's phrasing can write.
  {
    bool named = false;
    for (const char* k : data::kDialogueKinds) named |= kind_w.count(k) > 0;
    double single_total = 0;
    for (const auto& [k, w] : kind_w)
      if (!data::is_dialogue_kind(k)) single_total += w;
    std::vector<std::string> writable;
    Rng probe(o.seed ^ 0xd1a109ull);
    for (const char* k : data::kDialogueKinds) {
      bool ok = false;
      for (int i = 0; i < 200 && !ok; ++i) ok = draw_dialogue(k, probe).has_value();
      if (ok) writable.push_back(k);
      else kind_w[k] = 0;
    }
    if (!named && !writable.empty() && single_total > 0)
      for (const auto& k : writable)
        kind_w[k] = single_total * kDefaultDialogueShare / (1 - kDefaultDialogueShare) / double(writable.size());
  }
  for (auto& [k, w] : kind_w) w *= focus.kind.count(k) ? focus.kind.at(k) : 1.0;
  for (auto& [k, w] : lang_w) w *= focus.language.count(k) ? focus.language.at(k) : 1.0;
  if (lang_w.count(kMixedLanguage)) lang_w[kMixedLanguage] *= focus.mix;
  const double noise_rate = noise_rate_of(o, focus);
  // Kinds a language cannot produce get no weight.
  for (const char* k : kKinds) if (!kind_w.count(k)) kind_w[k] = 0;

  // The raw generator distribution: every template equally likely, some
  // multi-commands and code switches, no targets.
  auto draw_raw = [&](Rng& rng) -> Draw {
    Draw d;
    const auto& [lang, clause] = pick(pools.all_single, rng);
    d.lang = lang;
    d.kind = clause.intent->type;
    d.mix = lang->rules().raw_mix_rate() > 0 && rng.uniform() < lang->rules().raw_mix_rate();
    if (rng.uniform() < 0.15 && !pools.chainable[lang->lang].empty()) {
      d.kind = "multi_call";
      std::map<std::string, double> none;
      d.clauses = multi_clauses(pools.chainable[lang->lang], none, pb, rng);
    } else {
      d.clauses = {clause};
    }
    return d;
  };

  DataSummary sum;
  sum.n_templates = pb.n_templates();
  Rng rng(o.seed);

  // What the unbalanced generator would give, for the report.
  {
    Rng raw_rng(o.seed ^ 0x5eed5eedull);
    int64_t n_raw = std::min<int64_t>(o.n, 20000), got = 0;
    for (int64_t i = 0; got < n_raw && i < n_raw * 4; ++i) {
      Draw d = draw_raw(raw_rng);
      if (d.clauses.empty()) continue;
      auto ex = gen.render(*d.lang, d.clauses, d.mix, false, noise_rate, raw_rng);
      if (!ex) continue;
      count_into(*ex, sum.raw_by_phenomenon, sum.raw_by_language, sum.raw_by_function);
      ++got;
    }
  }

  std::vector<Example> examples;
  examples.reserve(o.n);
  std::unordered_set<std::string> exact, near;
  std::unordered_map<std::string, std::string> meaning;  // normalised text -> calls (conflicts are dropped)
  int64_t n_conflicts = 0;
  std::vector<std::string> conflict_examples;  // for the report: lexicon entries that mean two things
  std::unique_ptr<ProgressBar> bar;
  if (!o.quiet) bar = std::make_unique<ProgressBar>("generate", o.n, "examples");
  const int64_t max_attempts = o.n * 40 + 1000;
  int64_t attempts = 0;
  while (int64_t(examples.size()) < o.n && attempts < max_attempts) {
    ++attempts;
    std::optional<Example> ex;
    if (o.balance) {
      const std::string kind = pick_weighted(kind_w, rng);
      if (data::is_dialogue_kind(kind)) {
        // A kind whose anchors often cannot take it (no target to change) tries again, so that it gets its share.
        for (int tries = 0; tries < 8 && !ex; ++tries) ex = draw_dialogue(kind, rng);
      } else {
        ex = render_draw(draw_of_kind(kind, rng), rng);
      }
    } else {
      ex = render_draw(draw_raw(rng), rng);
    }
    if (!ex) continue;
    ++sum.n_generated;
    for (const auto& c : ex->calls)
      if (std::string why = validate_call(pb.schema, c); !why.empty())
        fail("generated an invalid call for \"", ex->text, "\" (template ", ex->template_id, "): ", why);
    // A dialogue's last turn is a duplicate only after the same earlier turns.
    std::string context, near_context;
    for (const auto& h : ex->history) context += h.text + "\n", near_context += Generator::normalise(h.text) + "\n";
    if (!exact.insert(context + ex->text).second) { ++sum.n_duplicates; continue; }
    std::string key = near_context + Generator::normalise(ex->text);
    std::string meaning_key = calls_key(ex->calls);
    if (auto it = meaning.find(key); it != meaning.end()) {
      if (it->second != meaning_key && ++n_conflicts <= 10)
        conflict_examples.push_back(cat("\"", ex->text, "\" (", ex->template_id, "): ", meaning_key, " vs ", it->second));
      // Near duplicates are dropped in balanced mode; the raw distribution keeps them.
      if (o.balance || it->second != meaning_key) { ++sum.n_duplicates; continue; }
    } else {
      meaning.emplace(key, meaning_key);
    }
    examples.push_back(std::move(*ex));
    if (bar && examples.size() % 1000 == 0) bar->update(int64_t(examples.size()));
  }
  if (bar) bar->finish();

  // Splits, ids, files.
  std::string out_train, out_valid, out_test, out_cases_valid, out_cases_test, out_dpo;
  Rng dpo_rng(o.seed ^ 0xd90d90ull);
  int64_t id = 0;
  for (const auto& ex : examples) {
    std::string sp = split.of(ex);
    std::string ex_id = cat("g", std::string(6 - std::min<size_t>(6, std::to_string(id).size()), '0'), id);
    ++id;
    nlohmann::ordered_json user = {{"role", "user"}, {"content", ex.text}};
    // A dialogue's earlier turns come first: each user turn with the assistant's calls and reply.
    nlohmann::ordered_json prompt = nlohmann::ordered_json::array();
    for (const auto& h : ex.history) {
      prompt.push_back({{"role", "user"}, {"content", h.text}});
      prompt.push_back(assistant_message(h.reply, h.calls));
    }
    prompt.push_back(user);
    nlohmann::ordered_json messages = prompt;
    messages.push_back(assistant_message(ex.reply, ex.calls));
    nlohmann::ordered_json line = {{"id", ex_id}, {"lang", ex.lang}, {"messages", messages}, {"types", types_json(ex)}};
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::strict) + "\n";
    count_into(ex, sum.by_phenomenon, sum.by_language, sum.by_function);
    if (sp == "train") {
      out_train += text, ++sum.n_train;
      if (dpo_rng.uniform() < o.dpo_fraction) {
        const Language& lang = *pb.find_language(ex.base_lang);
        if (auto bad = near_miss(pb.schema, known_values, ex, dpo_rng); bad && gen.has_reply(lang, bad->second)) {
          std::string bad_reply = gen.reply_for(lang, bad->second, dpo_rng);
          nlohmann::ordered_json pair = {{"id", ex_id}, {"prompt", prompt}, {"chosen", assistant_message(ex.reply, ex.calls)},
                                         {"rejected", assistant_message(bad_reply, bad->second)}, {"kind", bad->first}};
          out_dpo += pair.dump() + "\n";
          ++sum.n_dpo;
        }
      }
      continue;
    }
    nlohmann::ordered_json expected = nlohmann::ordered_json::array();
    nlohmann::ordered_json answer = nlohmann::ordered_json::array();
    for (const auto& c : ex.calls) answer.push_back(call_json(c));
    expected.push_back(answer);
    for (const auto& alt : ex.alternatives) {
      nlohmann::ordered_json a = nlohmann::ordered_json::array();
      for (const auto& c : alt) a.push_back(call_json(c));
      expected.push_back(a);
    }
    nlohmann::ordered_json kase = {{"id", ex_id}, {"lang", ex.lang}, {"text", ex.text}, {"expected", expected}, {"types", types_json(ex)}};
    if (!ex.history.empty()) kase["messages"] = prompt;
    if (sp == "valid") out_valid += text, out_cases_valid += kase.dump() + "\n", ++sum.n_valid;
    else out_test += text, out_cases_test += kase.dump() + "\n", ++sum.n_test;
  }

  nlohmann::ordered_json config = {
      {"n", o.n}, {"balance", o.balance}, {"focus", o.focus_report}, {"valid_fraction", o.valid_fraction},
      {"test_fraction", o.test_fraction}, {"noise_rate", noise_rate}, {"dpo_fraction", o.dpo_fraction},
      {"kind_weights", kind_w}, {"language_weights", lang_w}, {"function_weights", fn_w}};
  std::vector<std::pair<std::string, const std::string*>> files = {
      {"train.jsonl", &out_train}, {"valid.jsonl", &out_valid}, {"test.jsonl", &out_test},
      {"cases/valid.jsonl", &out_cases_valid}, {"cases/test.jsonl", &out_cases_test}, {"dpo.jsonl", &out_dpo}};
  nlohmann::ordered_json file_info = nlohmann::ordered_json::object();
  for (const auto& [name, content] : files)
    file_info[name] = {{"lines", std::count(content->begin(), content->end(), '\n')}, {"bytes", content->size()},
                       {"fnv1a64", data::fnv1a_hex(*content)}};
  nlohmann::ordered_json manifest = {
      {"format", "edgelm-data/1"}, {"domain", pb.schema.name}, {"domain_dir", o.domain_dir},
      {"domain_hash", pb.content_hash}, {"seed", o.seed}, {"config", config},
      {"counts", {{"train", sum.n_train}, {"valid", sum.n_valid}, {"test", sum.n_test}, {"dpo", sum.n_dpo},
                  {"generated", sum.n_generated}, {"duplicates", sum.n_duplicates}, {"conflicts", n_conflicts},
                  {"templates", sum.n_templates}, {"shortfall", o.n - int64_t(examples.size())}}},
      {"distribution", {{"phenomenon", sum.by_phenomenon}, {"language", sum.by_language}, {"function", sum.by_function}}},
      {"files", file_info}};
  sum.manifest = nlohmann::json::parse(manifest.dump());

  if (o.write_files) {
    namespace fs = std::filesystem;
    fs::create_directories(fs::path(o.out_dir) / "cases");
    for (const auto& [name, content] : files) write_file_atomic((fs::path(o.out_dir) / name).string(), *content);
    write_file_atomic((fs::path(o.out_dir) / "manifest.json").string(), manifest.dump(2) + "\n");
    int64_t n_raw = 0, n_all = int64_t(examples.size());
    for (const auto& [k, v] : sum.raw_by_language) n_raw += v;
    std::string report = cat("# Data set: ", pb.schema.name, "\n\n", "Generated by `edgelm data generate` with seed ", o.seed,
                             ", ", o.balance ? "balanced" : "unbalanced (raw generator distribution)", ".\n\n",
                             "| split | examples |\n| --- | ---: |\n| train | ", sum.n_train, " |\n| valid | ", sum.n_valid,
                             " |\n| test | ", sum.n_test, " |\n| DPO pairs | ", sum.n_dpo, " |\n\n", "Candidates drawn: ",
                             sum.n_generated, "; duplicates dropped (exact + normalised): ", sum.n_duplicates,
                             "; same text with different calls: ", n_conflicts, "; templates: ", sum.n_templates,
                             "; shortfall: ", o.n - n_all, ".\n\n",
                             "Splits are disjoint by template: test and valid commands use phrasings never seen in train.\n\n",
                             "## Distribution before (raw draw of ", n_raw, ") and after balancing\n",
                             "Phenomena overlap (a command can be noisy and multi-call), so shares do not add to 100%.\n");
    if (!conflict_examples.empty()) {
      report += "\nSame normalised text, different calls (the later one was dropped; check the lexicons):\n\n";
      for (const auto& c : conflict_examples) report += "- " + c + "\n";
    }
    report += distribution_table("phenomenon", sum.raw_by_phenomenon, n_raw, sum.by_phenomenon, n_all);
    report += distribution_table("language", sum.raw_by_language, n_raw, sum.by_language, n_all);
    report += distribution_table("function", sum.raw_by_function, n_raw, sum.by_function, n_all);
    write_file_atomic((fs::path(o.out_dir) / "report.md").string(), report);
  }
  sum.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return sum;
}

}  // namespace edgelm
