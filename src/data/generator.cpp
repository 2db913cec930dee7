#include "data/generator.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "data/numbers.h"
#include "platform/error.h"

namespace edgelm::data {
namespace {

// A slot's value: the argument value, and the value-slot key whose words
// say it (empty for numbers said as digits or words).
struct SlotValue {
  ArgValue value;
  std::string key;
};
using SlotValues = std::map<std::string, SlotValue>;

// Per-clause rendering state.
struct RenderState {
  const Phrasebook& pb;
  const Language& lang;
  Rng& rng;
  bool mix = false;               // prefer code-switched entries
  bool force_conversion = false;  // prefer durations in hours
  bool conversion = false;        // a duration needing conversion was said
  bool connective = false;        // the clause's verb takes a connective ending
  const SlotValues* slot_values = nullptr;
  const Verb* verb = nullptr;     // while rendering an ending
  std::string out;
};

using Special = std::function<bool(const std::string& slot, RenderState& st)>;

// Picks an entry, keeping a single-language example free of the other script
// and steering a code-switched one towards entries that switch.
const Pattern& pick_entry(const std::vector<Pattern>& entries, RenderState& st) {
  const Script own = st.lang.info->script;
  auto foreign = [&](const Pattern& p) { return p.has_other_script(own); };
  size_t n_foreign = 0;
  for (const auto& e : entries) n_foreign += foreign(e);
  if (n_foreign == 0 || n_foreign == entries.size()) return pick(entries, st.rng);
  bool want_foreign = st.mix && st.rng.uniform() < 0.6;
  size_t k = st.rng.below(want_foreign ? n_foreign : entries.size() - n_foreign);
  for (const auto& e : entries)
    if (foreign(e) == want_foreign && k-- == 0) return e;
  return entries[0];
}

void render_pattern(const Pattern& p, RenderState& st, const Special& special);

void render_slot(const PatternNode& n, RenderState& st, const Special& special) {
  if (n.optional && st.rng.below(2) == 0) return;
  if (special && special(n.text, st)) return;
  if (st.verb && (n.text == "a" || n.text == "stem")) {
    st.out += n.text == "a" ? st.verb->a : st.verb->stem;
    return;
  }
  if (n.format == "duration") {
    int64_t minutes = std::get<int64_t>(st.slot_values->at(n.text).value);
    std::vector<DurationForm> forms = duration_forms(minutes, st.lang.rules());
    std::vector<DurationForm> conv;
    for (const auto& f : forms)
      if (f.conversion) conv.push_back(f);
    const DurationForm& f = st.force_conversion && !conv.empty() ? pick(conv, st.rng) : pick(forms, st.rng);
    st.out += f.text;
    st.conversion |= f.conversion;
    return;
  }
  if (n.format == "number") {
    const ArgValue& v = st.slot_values->at(n.text).value;
    const auto* i = std::get_if<int64_t>(&v);
    st.out += pick(i ? number_forms(*i, st.lang.rules()) : number_forms(std::get<double>(v), st.lang.rules()), st.rng);
    return;
  }
  if (auto it = st.lang.values.find(n.text); it != st.lang.values.end()) {
    render_pattern(pick_entry(it->second.at(st.slot_values->at(n.text).key), st), st, special);
    return;
  }
  render_pattern(pick_entry(st.lang.lexicon.at(n.text), st), st, special);
}

void render_pattern(const Pattern& p, RenderState& st, const Special& special) {
  for (const auto& n : p.nodes) {
    switch (n.kind) {
      case PatternNode::Kind::Text: st.out += n.text; break;
      case PatternNode::Kind::Choice:
        if (n.optional && st.rng.below(2) == 0) break;
        render_pattern(pick(n.choices, st.rng), st, special);
        break;
      case PatternNode::Kind::Slot: render_slot(n, st, special); break;
      case PatternNode::Kind::Verb: {
        RenderState inner{st.pb, st.lang, st.rng};
        inner.verb = &st.lang.verbs.at(n.text);
        inner.slot_values = st.slot_values;
        const auto& endings = st.connective ? st.lang.connective_endings : st.lang.final_endings;
        render_pattern(pick(endings, st.rng), inner, nullptr);
        st.out += inner.out;
        break;
      }
      case PatternNode::Kind::Particle: st.lang.rules().append_particle(st.out, n.text); break;
    }
  }
}

// Collapses runs of spaces, trims, and removes spaces before punctuation.
std::string tidy(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == ' ' && (out.empty() || out.back() == ' ')) continue;
    if ((c == ',' || c == '.' || c == '?' || c == '!') && !out.empty() && out.back() == ' ') out.pop_back();
    if (c == '?' && !out.empty() && out.back() == '?') continue;
    out += c;
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ',')) out.pop_back();
  return out;
}

Call make_call(const CallTemplate& ct, const SlotValues& slots) {
  Call c;
  c.name = ct.function;
  for (const auto& [arg, value] : ct.literal_args) c.arguments[arg] = value;
  for (const auto& [arg, slot] : ct.slot_args) c.arguments[arg] = slots.at(slot).value;
  return c;
}

bool has_conversion_form(int64_t minutes, const lang::LanguageRules& rules) {
  for (const auto& f : duration_forms(minutes, rules))
    if (f.conversion) return true;
  return false;
}

// Whether a template of the intent says the slot as a duration.
bool said_as_duration(const Intent& intent, const std::string& slot) {
  bool found = false;
  for (const auto& t : intent.templates)
    for_each_node(t.pattern, [&](const PatternNode& n) { found |= n.text == slot && n.format == "duration"; });
  return found;
}

// Values for the slots an intent binds: for a value slot, one of its keys
// that is a value of the argument (enum values, free text, true / false);
// integers and numbers from the domain's pools of values people say (or, now
// and then, any value in range).
SlotValues choose_slot_values(const Phrasebook& pb, const Language& lang, const Intent& intent, bool force_conversion, Rng& rng) {
  SlotValues out;
  for (const auto& c : intent.calls) {
    const FunctionSpec* f = pb.schema.find(c.function);
    for (const auto& [arg, slot] : c.slot_args) {
      if (out.count(slot)) continue;
      const ArgumentSpec* a = f->find_argument(arg);
      if (auto it = lang.values.find(slot); it != lang.values.end()) {
        std::vector<SlotValue> values;
        for (const auto& [key, words] : it->second)
          if (std::optional<ArgValue> v = arg_from_text(*a, key); v && a->accepts(*v)) values.push_back({*v, key});
        out[slot] = pick(values, rng);
        continue;
      }
      const std::string pool_name = c.function + "." + arg;
      if (a->type == ArgType::Number) {
        auto pool = pb.config.decimal_pools.find(pool_name);
        double x;
        if (pool != pb.config.decimal_pools.end() && rng.uniform() < 0.85) {
          x = pick(pool->second, rng);
        } else {
          // Any value in range, in the steps people say: halves, or tenths in a narrow range.
          double step = a->max_number - a->min_number >= 5 ? 0.5 : 0.1;
          double n_steps = std::floor((a->max_number - a->min_number) / step);
          x = a->min_number + step * double(rng.below(uint64_t(n_steps) + 1));
          x = std::clamp(std::round(x * 1000) / 1000, a->min_number, a->max_number);
        }
        out[slot] = {x, ""};
        continue;
      }
      std::vector<int64_t> pool;
      if (auto it = pb.config.number_pools.find(pool_name); it != pb.config.number_pools.end()) pool = it->second;
      const bool duration = said_as_duration(intent, slot);
      if (force_conversion && duration) {
        std::vector<int64_t> conv;
        for (int64_t v : pool.empty() ? std::vector<int64_t>{30, 60, 90, 120} : pool)
          if (v >= a->min && v <= a->max && has_conversion_form(v, lang.rules())) conv.push_back(v);
        if (!conv.empty()) {
          out[slot] = {pick(conv, rng), ""};
          continue;
        }
      }
      // Durations are said up to a day.
      const int64_t hi = duration ? std::min<int64_t>(a->max, 1440) : a->max;
      if (!pool.empty() && rng.uniform() < 0.85) out[slot] = {pick(pool, rng), ""};
      else out[slot] = {a->min + int64_t(rng.below(uint64_t(hi - a->min + 1))), ""};
    }
  }
  return out;
}

bool is_imperative(const Intent& intent, const Template& t) { return !t.question && intent.wrap; }

}  // namespace

Generator::Generator(const Phrasebook& pb) : pb_(pb) {}

bool Generator::can_switch(const Language& lang, const Pattern& p, int depth) {
  if (p.has_other_script(lang.info->script)) return true;
  if (depth > 8) return false;
  bool found = false;
  for_each_node(p, [&](const PatternNode& n) {
    if (found || n.kind != PatternNode::Kind::Slot) return;
    auto check = [&](const std::vector<Pattern>& entries) {
      for (const auto& e : entries) found = found || can_switch(lang, e, depth + 1);
    };
    if (auto it = lang.lexicon.find(n.text); it != lang.lexicon.end()) check(it->second);
    if (auto it = lang.values.find(n.text); it != lang.values.end())
      for (const auto& [v, entries] : it->second) check(entries);
  });
  return found;
}

bool Generator::has_duration(const Intent& intent) {
  for (const auto& t : intent.templates) {
    bool found = false;
    for_each_node(t.pattern, [&](const PatternNode& n) { found |= n.format == "duration"; });
    if (found) return true;
  }
  return false;
}

std::optional<Example> Generator::render(const Language& lang, const std::vector<Clause>& clauses, bool mix,
                                         bool force_conversion, double noise_rate, Rng& rng, Joining joining) const {
  if (clauses.empty()) fail("Generator::render: no clauses");
  if (joining == Joining::AskTogether &&
      (clauses.size() != 2 || lang.ask_together.empty() || !clauses[0].intent->asks_together || !clauses[1].intent->asks_together))
    return std::nullopt;
  Example ex;
  ex.base_lang = lang.lang;
  std::vector<SlotValues> values(clauses.size());
  bool conversion = false;
  for (size_t i = 0; i < clauses.size(); ++i) {
    const Intent& in = *clauses[i].intent;
    // Two slots bound to the same argument ("{room} and {room2}") must not
    // make the same call twice: draw again.
    std::vector<Call> calls;
    for (int tries = 0; tries < 20; ++tries) {
      values[i] = choose_slot_values(pb_, lang, in, force_conversion, rng);
      calls.clear();
      for (const auto& c : in.calls) calls.push_back(make_call(c, values[i]));
      std::vector<Call> sorted = calls;
      std::sort(sorted.begin(), sorted.end());
      if (std::adjacent_find(sorted.begin(), sorted.end()) == sorted.end()) break;
    }
    ex.calls.insert(ex.calls.end(), calls.begin(), calls.end());
    ex.parts.push_back(clauses[i].tmpl);
    ex.template_id += (i ? "+" : "") + clauses[i].tmpl->id;
    ex.phenomena.insert(in.type);
    if (clauses.size() == 1)
      for (const auto& alt : in.alternatives) {
        std::vector<Call> calls;
        for (const auto& c : alt) calls.push_back(make_call(c, values[i]));
        ex.alternatives.push_back(std::move(calls));
      }
  }
  // Two requests of a multi-command on one function act in different places
  // (the bedroom and the hallway); in the same place one would undo or repeat the other.
  // Two questions on one function ask about different things.
  for (size_t i = 0; i < clauses.size(); ++i)
    for (size_t j = i + 1; j < clauses.size(); ++j) {
      const std::string fn = clauses[i].intent->primary_function();
      if (fn != clauses[j].intent->primary_function()) continue;
      if (clauses[i].intent->type == "query" && clauses[j].intent->type == "query") {
        auto calls_of = [&](size_t k) {
          std::vector<Call> out;
          for (const auto& c : clauses[k].intent->calls) out.push_back(make_call(c, values[k]));
          return out;
        };
        if (calls_of(i) == calls_of(j)) return std::nullopt;
        continue;
      }
      auto place = [&](const SlotValues& v, const Intent& in) {
        std::map<std::string, ArgValue> out;
        for (const auto& c : in.calls) {
          Call call = make_call(c, v);
          if (call.name != fn) continue;
          if (auto it = pb_.place_args.find(fn); it != pb_.place_args.end())
            for (const auto& a : it->second)
              if (call.arguments.count(a)) out[a] = call.arguments.at(a);
        }
        return out;
      };
      if (place(values[i], *clauses[i].intent) == place(values[j], *clauses[j].intent)) return std::nullopt;
    }
  if (ex.calls.size() > 1) ex.phenomena.insert("multi_call");
  ex.phenomena.erase("direct");
  if (ex.phenomena.empty()) ex.phenomena.insert("direct");

  // Renders clause i (and, through a connector, the clauses after it).
  std::function<std::optional<std::string>(size_t, bool)> render_from = [&](size_t i, bool connective) -> std::optional<std::string> {
    RenderState st{pb_, lang, rng};
    st.mix = mix;
    st.force_conversion = force_conversion;
    st.connective = connective;
    st.slot_values = &values[i];
    render_pattern(clauses[i].tmpl->pattern, st, nullptr);
    conversion |= st.conversion;
    return st.out;
  };
  std::function<std::optional<std::string>(size_t)> join_from = [&](size_t i) -> std::optional<std::string> {
    if (i + 1 == clauses.size()) return render_from(i, false);
    // A question goes first only before another question ("is the front door
    // locked, and what's the thermostat at?"), through the connectors of two questions.
    const bool question = clauses[i].tmpl->question;
    if (question && !clauses[i + 1].tmpl->question) return std::nullopt;
    std::vector<const Pattern*> usable;
    if (question) {
      for (const auto& c : lang.question_connectors) usable.push_back(&c);
    } else {
      // Korean joins with a connective ending (켜고) only after a verb.
      for (const auto& c : lang.connectors) {
        bool conn = false;
        for_each_node(c, [&](const PatternNode& n) { conn |= n.kind == PatternNode::Kind::Slot && n.text == "first_conn"; });
        if (!conn || clauses[i].tmpl->has_verb) usable.push_back(&c);
      }
    }
    if (usable.empty()) return std::nullopt;
    const Pattern& connector = *pick(usable, rng);
    bool ok = true;
    RenderState st{pb_, lang, rng};
    st.mix = mix;
    Special special = [&](const std::string& slot, RenderState& s) {
      if (slot == "first" || slot == "first_conn") {
        std::string part = render_from(i, slot == "first_conn").value_or("");
        // The connector of two questions says where the first one ends.
        while (question && !part.empty() && (part.back() == '?' || part.back() == ' ')) part.pop_back();
        s.out += part;
        return true;
      }
      if (slot == "rest") {
        auto rest = join_from(i + 1);
        if (!rest) ok = false;
        s.out += rest.value_or("");
        return true;
      }
      return false;
    };
    render_pattern(connector, st, special);
    if (!ok) return std::nullopt;
    return st.out;
  };
  // Two questions as one: each says what it asks about (one of its targets, with its values). The
  // template id names the clauses' templates (the split holds them out) and the pattern used:
  // "en.get_air_quality.3+en.get_filter_status.0+en.ask_together.5".
  auto ask_together = [&]() -> std::string {
    RenderState st{pb_, lang, rng};
    st.mix = mix;
    Special special = [&](const std::string& slot, RenderState& s) {
      if (slot != "first" && slot != "rest") return false;
      const size_t i = slot == "first" ? 0 : 1;
      RenderState t{pb_, lang, rng};
      t.mix = mix;
      t.slot_values = &values[i];
      render_pattern(pick(clauses[i].intent->targets, rng), t, nullptr);
      conversion |= t.conversion;
      s.out += t.out;
      return true;
    };
    const Pattern& together = pick(lang.ask_together, rng);
    render_pattern(together, st, special);
    ex.template_id += cat("+", lang.lang, ".ask_together.", &together - lang.ask_together.data());
    return st.out;
  };
  std::optional<std::string> body = joining == Joining::AskTogether ? std::optional<std::string>(ask_together()) : join_from(0);
  if (!body) return std::nullopt;

  std::string text = tidy(*body);
  // Politeness and fillers wrap a plain request, never a question or a complaint.
  // A multi-command is wrapped when its first request is (never "please is the filter ok, and ...").
  if (is_imperative(*clauses[0].intent, *clauses[0].tmpl)) {
    if (rng.uniform() < 0.45) {
      RenderState st{pb_, lang, rng};
      st.mix = mix;
      Special special = [&](const std::string& slot, RenderState& s) {
        if (slot != "command") return false;
        s.out += text;
        return true;
      };
      render_pattern(pick(lang.wrappers, rng), st, special);
      text = tidy(st.out);
    }
  }
  lang.rules().vary_case(text, rng);
  if (conversion) ex.phenomena.insert("numeric_conversion");
  if (noise_rate > 0 && rng.uniform() < noise_rate) {
    std::string noisy = lang.rules().add_noise(text, rng);
    if (noisy != text && !noisy.empty()) text = noisy, ex.phenomena.insert("noisy");
  }
  const bool switched = has_other_script(text, lang.info->script);
  if (mix && !switched) return std::nullopt;
  ex.lang = switched ? kMixedLanguage : lang.lang;
  if (switched) ex.phenomena.insert("code_switched");
  ex.text = text;
  bool asks = false;
  ex.reply = reply_for(lang, ex.calls, rng, &asks);
  if (clauses.size() == 1 && !clauses[0].intent->replies.empty()) ex.reply = pick(clauses[0].intent->replies, rng);
  // A partial call: the reply asks for a value the request left out.
  if (asks) ex.phenomena.insert("partial");
  return ex;
}

std::string Generator::render_phrase(const Language& lang, const Pattern& p, const std::map<std::string, std::string>& fill,
                                     const std::map<std::string, ArgValue>& values, bool mix, Rng& rng) const {
  SlotValues slots;
  for (const auto& [slot, v] : values) {
    std::string key;
    if (auto it = lang.values.find(slot); it != lang.values.end())
      for (const auto& [k, words] : it->second)
        if (k == arg_text(v)) key = k;
    slots[slot] = {v, key};
  }
  RenderState st{pb_, lang, rng};
  st.mix = mix;
  st.slot_values = &slots;
  Special special = [&](const std::string& slot, RenderState& s) {
    auto it = fill.find(slot);
    if (it == fill.end()) return false;
    s.out += it->second;
    return true;
  };
  render_pattern(p, st, special);
  return tidy(st.out);
}

std::string Generator::reply_for(const Language& lang, const std::vector<Call>& calls, Rng& rng, bool* asks) const {
  if (asks) *asks = false;
  if (calls.empty()) return pick(lang.replies.at("out_of_scope"), rng);
  std::string out;
  for (const auto& c : calls) {
    bool ask = false;
    const std::vector<std::string>* texts = find_reply(lang, *pb_.schema.find(c.name), c, &ask);
    if (!texts) fail(lang.file, ": no [reply] for ", call_to_string(c));
    if (asks) *asks |= ask;
    if (!out.empty()) out += lang.reply_join;
    out += pick(*texts, rng);
  }
  return out;
}

bool Generator::has_reply(const Language& lang, const std::vector<Call>& calls) const {
  if (calls.empty()) return lang.replies.count("out_of_scope") > 0;
  for (const auto& c : calls)
    if (!find_reply(lang, *pb_.schema.find(c.name), c)) return false;
  return true;
}

std::string Generator::normalise(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (c < 0x80 && !std::isalnum(c)) continue;
    out += char(c < 0x80 ? std::tolower(c) : c);
  }
  return out;
}

}  // namespace edgelm::data
