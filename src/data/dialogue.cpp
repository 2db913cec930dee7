#include "data/dialogue.h"

#include <algorithm>
#include <cmath>
#include <set>

#include "domain/language.h"
#include "platform/error.h"

namespace edgelm::data {
namespace {

// The slots of `p` (at any depth) that are among `bound`.
std::set<std::string> bound_slots_said(const Pattern& p, const std::set<std::string>& bound) {
  std::set<std::string> out;
  for_each_node(p, [&](const PatternNode& n) {
    if (n.kind == PatternNode::Kind::Slot && bound.count(n.text)) out.insert(n.text);
  });
  return out;
}

bool says_slot(const Pattern& p, const std::string& slot) {
  bool found = false;
  for_each_node(p, [&](const PatternNode& n) { found |= n.kind == PatternNode::Kind::Slot && n.text == slot; });
  return found;
}

// Whether {value} ends the phrase: words said by a verb (Korean 켜 줘) take
// no particle after them, so only such phrases can carry them.
bool value_ends_phrase(const Pattern& p) {
  return !p.nodes.empty() && p.nodes.back().kind == PatternNode::Kind::Slot && p.nodes.back().text == "value";
}

bool has_verb(const std::vector<Pattern>& entries) {
  bool found = false;
  for (const auto& e : entries)
    for_each_node(e, [&](const PatternNode& n) { found |= n.kind == PatternNode::Kind::Verb; });
  return found;
}

// The format a slot is said in by the intent's templates ("number", "duration").
std::string slot_format(const Intent& intent, const std::string& slot) {
  std::string format;
  for (const auto& t : intent.templates)
    for_each_node(t.pattern, [&](const PatternNode& n) {
      if (n.kind == PatternNode::Kind::Slot && n.text == slot && !n.format.empty()) format = n.format;
    });
  return format.empty() ? "number" : format;
}

// Whether `call` has every fixed argument's value but `skip`'s (an intent's literal arguments).
bool fixed_hold(const std::vector<std::pair<std::string, ArgValue>>& fixed, const Call& call, const std::string& skip = "") {
  for (const auto& [arg, v] : fixed) {
    if (arg == skip) continue;
    auto it = call.arguments.find(arg);
    if (it == call.arguments.end() || it->second != v) return false;
  }
  return true;
}

std::string lower_first(std::string s) {
  if (!s.empty() && s[0] >= 'A' && s[0] <= 'Z') s[0] = char(s[0] - 'A' + 'a');
  return s;
}

}  // namespace

bool is_dialogue_kind(std::string_view kind) {
  return std::find(std::begin(kDialogueKinds), std::end(kDialogueKinds), kind) != std::end(kDialogueKinds);
}

DialogueWriter::DialogueWriter(const Generator& gen) : gen_(gen) {
  const Phrasebook& pb = gen.phrasebook();
  for (const auto& lang : pb.languages) {
    Index& index = index_[lang.lang];
    // Values are said the way the domain's direct requests name them: complaints
    // ("it's freezing") and situations ("I'm off to bed") name no value.
    for (const auto& in : lang.intents) {
      if (in.type == "out_of_scope" || in.type == "indirect") continue;
      const bool library = !in.library.empty();
      auto add = [&](std::vector<Way>& ways, const std::string& slot, const Pattern& p, const CallTemplate& c) {
        for (auto& w : ways)
          if (w.slot == slot && w.pattern.source == p.source && w.fixed == c.literal_args) return void(w.library |= library);
        ways.push_back({slot, p, library, c.literal_args});
      };
      std::set<std::string> bound;
      for (const auto& c : in.calls)
        for (const auto& [arg, slot] : c.slot_args) bound.insert(slot);
      for (const auto& c : in.calls) {
        const FunctionSpec* f = pb.schema.find(c.function);
        for (const auto& [arg, slot] : c.slot_args) {
          ArgWords& w = index[c.function + "." + arg];
          const ArgumentSpec* a = f->find_argument(arg);
          if (lang.values.count(slot)) {
            add(w.plain, slot, parse_pattern(cat("{", slot, "}"), lang.file, *lang.info), c);
          } else if (a->type == ArgType::Integer || a->type == ArgType::Number) {
            add(w.plain, slot, parse_pattern(cat("{", slot, ":", slot_format(in, slot), "}"), lang.file, *lang.info), c);
          }
          if (a->type == ArgType::Integer || a->type == ArgType::Number) w.setting = true;
          for (const auto& vp : in.values)
            if (bound_slots_said(vp, bound) == std::set<std::string>{slot}) add(w.plain, slot, vp, c), w.setting = true;
          for (const auto& tp : in.targets)
            if (bound_slots_said(tp, bound) == std::set<std::string>{slot}) add(w.target, slot, tp, c);
        }
      }
    }
  }
}

std::string DialogueWriter::anchor_kind(const std::string& kind) {
  if (kind == "slot_answer") return "partial";
  if (kind == "repeat") return "relative";
  return "";
}

bool DialogueWriter::language_can(const Language& lang, const std::string& kind) const {
  auto has = [&](const char* list) { return lang.follow_ups.count(list) > 0; };
  if (kind == "follow_up_target") return has("same_action");
  if (kind == "correction") return has("correction");
  if (kind == "keep_setting") return has("change");
  if (kind == "slot_answer") return has("answer");
  if (kind == "repeat") return has("repeat");
  if (kind == "undo") return has("undo") && !gen_.phrasebook().config.undo.empty();
  if (kind == "pronoun") {
    if (lang.pronouns.empty()) return false;
    for (const auto& [list, phrases] : lang.follow_ups)
      if (list.rfind("pronoun.", 0) == 0) return true;
    return false;
  }
  return kind == "topic_switch" || kind == "out_of_scope_mid";
}

const DialogueWriter::ArgWords* DialogueWriter::words(const Language& lang, const std::string& function,
                                                      const std::string& argument) const {
  auto it = index_.find(lang.lang);
  if (it == index_.end()) return nullptr;
  auto w = it->second.find(function + "." + argument);
  return w == it->second.end() ? nullptr : &w->second;
}

bool DialogueWriter::can_say(const Language& lang, const Way& way, const ArgValue& value) const {
  bool ok = true;
  for_each_node(way.pattern, [&](const PatternNode& n) {
    if (n.kind != PatternNode::Kind::Slot || n.text != way.slot) return;
    if (auto it = lang.values.find(n.text); it != lang.values.end()) ok &= it->second.count(arg_text(value)) > 0;
    else if (n.format == "duration") ok &= std::holds_alternative<int64_t>(value) && std::get<int64_t>(value) >= 1;
    else ok &= std::holds_alternative<int64_t>(value) || std::holds_alternative<double>(value);
  });
  return ok;
}

std::optional<std::string> DialogueWriter::say_value(const Language& lang, const Call& call, const std::string& argument,
                                                     const ArgValue& value, bool as_target, Rng& rng) const {
  const ArgWords* w = words(lang, call.name, argument);
  if (!w) return std::nullopt;
  auto usable = [&](const std::vector<Way>& ways) {
    std::vector<const Way*> out;
    for (const auto& way : ways)
      if (fixed_hold(way.fixed, call, argument) && can_say(lang, way, value)) out.push_back(&way);
    return out;
  };
  std::vector<const Way*> ways;
  if (as_target && rng.uniform() < 0.7) ways = usable(w->target);
  if (ways.empty()) {
    // Where the phrase library's intents name the value, only their words ("cooling", not "cool it down").
    std::vector<const Way*> all = usable(w->plain), named;
    for (const Way* way : all)
      if (way->library) named.push_back(way);
    ways = named.empty() ? all : named;
  }
  if (ways.empty()) return std::nullopt;
  const Way& way = *pick(ways, rng);
  return gen_.render_phrase(lang, way.pattern, {}, {{way.slot, value}}, false, rng);
}

std::vector<ArgValue> DialogueWriter::other_values(const Language& lang, const FunctionSpec& f, const Call& call, const ArgumentSpec& a,
                                                   Rng& rng) const {
  const ArgWords* w = words(lang, f.name, a.name);
  if (!w) return {};
  std::optional<ArgValue> now;
  if (auto it = call.arguments.find(a.name); it != call.arguments.end()) now = it->second;
  std::vector<ArgValue> candidates;
  const GenerationConfig& config = gen_.phrasebook().config;
  switch (a.type) {
    case ArgType::Enum:
      for (const auto& v : a.values) candidates.push_back(v);
      break;
    case ArgType::Boolean: candidates = {ArgValue(true), ArgValue(false)}; break;
    case ArgType::String:
      for (const auto* ways : {&w->plain, &w->target})
        for (const auto& way : *ways)
          if (auto it = lang.values.find(way.slot); fixed_hold(way.fixed, call, a.name) && it != lang.values.end())
            for (const auto& [key, entries] : it->second)
              if (auto v = arg_from_text(a, key); v && a.accepts(*v)) candidates.push_back(*v);
      break;
    case ArgType::Integer: {
      const int64_t hi = std::min<int64_t>(a.max, 1440);
      if (auto it = config.number_pools.find(f.name + "." + a.name); it != config.number_pools.end())
        for (int64_t v : it->second) candidates.push_back(v);
      for (int i = 0; i < 4 && hi >= a.min; ++i) candidates.push_back(a.min + int64_t(rng.below(uint64_t(hi - a.min + 1))));
      break;
    }
    case ArgType::Number: {
      if (auto it = config.decimal_pools.find(f.name + "." + a.name); it != config.decimal_pools.end())
        for (double v : it->second) candidates.push_back(v);
      for (int i = 0; i < 4; ++i) {
        double x = std::round((a.min_number + rng.uniform() * (a.max_number - a.min_number)) * 2) / 2;
        candidates.push_back(std::clamp(x, a.min_number, a.max_number));
      }
      break;
    }
  }
  std::vector<ArgValue> out;
  for (const auto& v : candidates) {
    if (!a.accepts(v) || (now && v == *now) || std::find(out.begin(), out.end(), v) != out.end()) continue;
    bool sayable = false;
    for (const auto* ways : {&w->plain, &w->target})
      for (const auto& way : *ways) sayable = sayable || (fixed_hold(way.fixed, call, a.name) && can_say(lang, way, v));
    if (sayable) out.push_back(v);
  }
  return out;
}

std::optional<Example> DialogueWriter::finish(const Language& lang, std::string text, std::vector<Call> calls, const std::string& kind,
                                              std::vector<const Template*> parts, double noise_rate, Rng& rng) const {
  if (text.empty() || !gen_.has_reply(lang, calls)) return std::nullopt;
  for (const auto& c : calls)
    if (!validate_call(gen_.phrasebook().schema, c).empty()) return std::nullopt;
  // People often answer the device's reply before they go on ("ok, lock it again", "thanks! the hallway too").
  // Not before a correction or an answer to the device's question, whose own words open them.
  if (kind != "correction" && kind != "slot_answer" && lang.follow_ups.count("lead_in") &&
      rng.uniform() < gen_.phrasebook().config.lead_in) {
    const Template& t = pick(lang.follow_ups.at("lead_in"), rng);
    text = gen_.render_phrase(lang, t.pattern, {{"command", lower_first(text)}}, {}, false, rng);
    parts.insert(parts.begin(), &t);
  }
  Example ex;
  ex.phenomena.insert(kind);
  if (noise_rate > 0 && rng.uniform() < noise_rate) {
    std::string noisy = lang.rules().add_noise(text, rng);
    if (noisy != text && !noisy.empty()) text = noisy, ex.phenomena.insert("noisy");
  }
  const bool switched = has_other_script(text, lang.info->script);
  if (switched) ex.phenomena.insert("code_switched");
  ex.text = std::move(text);
  ex.lang = switched ? kMixedLanguage : lang.lang;
  ex.base_lang = lang.lang;
  ex.calls = std::move(calls);
  ex.reply = gen_.reply_for(lang, ex.calls, rng);
  for (const Template* t : parts) ex.template_id += (ex.template_id.empty() ? "" : "+") + t->id;
  ex.parts = std::move(parts);
  ex.kind = kind;
  return ex;
}

std::optional<Example> DialogueWriter::last_turn(const std::string& kind, const Language& lang, const Example& anchor,
                                                 const Example* fresh, double noise_rate, Rng& rng) const {
  if (!language_can(lang, kind)) return std::nullopt;
  const DomainSchema& schema = gen_.phrasebook().schema;
  auto phrases = [&](const char* list) -> const std::vector<Template>& { return lang.follow_ups.at(list); };
  // A phrase of the list that can carry the value's words (after a verb, only
  // phrases that end with {value}).
  auto phrase_for = [&](const char* list, bool verb_value) -> const Template* {
    std::vector<const Template*> ok;
    for (const auto& t : phrases(list))
      if (!verb_value || value_ends_phrase(t.pattern)) ok.push_back(&t);
    return ok.empty() ? nullptr : pick(ok, rng);
  };
  auto verb_value = [&](const std::string& function, const std::string& argument, const ArgValue& v) {
    const ArgWords* w = words(lang, function, argument);
    if (!w) return false;
    for (const auto& way : w->plain)
      if (auto it = lang.values.find(way.slot); it != lang.values.end())
        if (auto k = it->second.find(arg_text(v)); k != it->second.end() && has_verb(k->second)) return true;
    return false;
  };
  // Renders a one-slot follow-up phrase of `list` with the words for `arg` = `v`.
  auto say_in = [&](const char* list, const char* slot, const Call& call, const std::string& arg, const ArgValue& v,
                    bool as_target) -> std::optional<std::pair<std::string, const Template*>> {
    const Template* t = phrase_for(list, verb_value(call.name, arg, v));
    if (!t) return std::nullopt;
    auto words = say_value(lang, call, arg, v, as_target, rng);
    if (!words) return std::nullopt;
    return std::make_pair(gen_.render_phrase(lang, t->pattern, {{slot, *words}}, {}, false, rng), t);
  };

  if (kind == "topic_switch" || kind == "out_of_scope_mid") {
    if (!fresh) fail("DialogueWriter: ", kind, " needs a fresh command");
    Example ex = *fresh;
    std::string text = ex.text;
    std::vector<const Template*> parts = ex.parts;
    if (kind == "topic_switch") {
      for (const auto& a : anchor.calls)
        for (const auto& b : ex.calls)
          if (a.name == b.name) return std::nullopt;
      if (rng.uniform() < 0.35 && lang.follow_ups.count("and_then")) {
        const Template& t = pick(phrases("and_then"), rng);
        text = gen_.render_phrase(lang, t.pattern, {{"command", lower_first(text)}}, {}, false, rng);
        parts.insert(parts.begin(), &t);
      }
    }
    ex.text = text;
    ex.phenomena.insert(kind);
    ex.template_id.clear();
    for (const Template* t : parts) ex.template_id += (ex.template_id.empty() ? "" : "+") + t->id;
    ex.parts = parts;
    ex.kind = kind;
    return ex;
  }

  if (kind == "repeat") {
    if (!anchor.phenomena.count("relative")) return std::nullopt;
    const Template& t = pick(phrases("repeat"), rng);
    return finish(lang, gen_.render_phrase(lang, t.pattern, {}, {}, false, rng), anchor.calls, kind, {&t}, noise_rate, rng);
  }

  // Follow-ups lean on one call the device executed (never on an out-of-scope turn).
  if (anchor.calls.size() != 1 || anchor.phenomena.count("out_of_scope")) return std::nullopt;
  const Call& prev = anchor.calls[0];
  const FunctionSpec* f = schema.find(prev.name);
  if (!f) return std::nullopt;

  if (kind == "pronoun") return pronoun_turn(lang, prev, noise_rate, rng);
  if (kind == "undo") {
    const auto& undo = gen_.phrasebook().config.undo;
    auto it = undo.find(prev.name);
    if (it == undo.end() || anchor.phenomena.count("partial")) return std::nullopt;
    const Template& t = pick(phrases("undo"), rng);
    return finish(lang, gen_.render_phrase(lang, t.pattern, {}, {}, false, rng), {it->second}, kind, {&t}, noise_rate, rng);
  }

  // The arguments this kind may change, and whether each is said as a target.
  struct Option {
    const ArgumentSpec* arg;
    bool target;
  };
  std::vector<Option> options;
  for (const auto& a : f->arguments) {
    const ArgWords* w = words(lang, f->name, a.name);
    if (!w) continue;
    const bool present = prev.arguments.count(a.name) > 0;
    if (kind == "follow_up_target" && present && !w->target.empty()) options.push_back({&a, true});
    if (kind == "correction" && present && (!w->plain.empty() || !w->target.empty())) options.push_back({&a, !w->target.empty()});
    if (kind == "keep_setting" && w->setting && !w->plain.empty() && f->arguments.size() >= 2 &&
        prev.arguments.size() - (present ? 1 : 0) >= 1)
      options.push_back({&a, false});
    if (kind == "slot_answer" && !present && a.optional && !a.default_value && anchor.phenomena.count("partial"))
      options.push_back({&a, !w->target.empty()});
  }
  if (options.empty()) return std::nullopt;
  const Option& o = pick(options, rng);
  std::vector<ArgValue> values = other_values(lang, *f, prev, *o.arg, rng);
  if (values.empty()) return std::nullopt;
  const ArgValue v = pick(values, rng);
  Call next = prev;
  next.arguments[o.arg->name] = v;
  const char* list = kind == "follow_up_target" ? "same_action"
                     : kind == "correction"     ? "correction"
                     : kind == "keep_setting"   ? "change"
                                                : "answer";
  if (kind != "keep_setting" && !expressible(lang, next)) return std::nullopt;  // no "lights" in the garage
  auto said = say_in(list, kind == "follow_up_target" ? "target" : "value", next, o.arg->name, v, o.target);
  if (!said) return std::nullopt;
  return finish(lang, said->first, {next}, kind, {said->second}, noise_rate, rng);
}

std::optional<Example> DialogueWriter::keep_setting_by_command(const Language& lang, const Example& anchor, const Example& command,
                                                               Rng& rng) const {
  if (anchor.calls.size() != 1 || command.calls.size() != 1 || anchor.phenomena.count("out_of_scope") ||
      command.phenomena.count("partial"))
    return std::nullopt;
  const Call& prev = anchor.calls[0];
  const Call& said = command.calls[0];
  if (said.name != prev.name || said.arguments.size() != 1) return std::nullopt;
  const auto& [arg, value] = *said.arguments.begin();
  auto is_setting = [&](const std::string& a) {
    const ArgWords* w = words(lang, prev.name, a);
    return w && w->setting;
  };
  if (!is_setting(arg)) return std::nullopt;
  auto now = prev.arguments.find(arg);
  if (now != prev.arguments.end() && now->second == value) return std::nullopt;  // nothing would change
  bool kept = false;
  for (const auto& [a, v] : prev.arguments) {
    if (a == arg) continue;
    if (!is_setting(a)) return std::nullopt;  // only settings carry over, never a room or a door
    kept = true;
  }
  if (!kept) return std::nullopt;
  Call next = prev;
  next.arguments[arg] = value;
  auto ex = finish(lang, command.text, {next}, "keep_setting", command.parts, 0.0, rng);
  if (ex && command.phenomena.count("noisy")) ex->phenomena.insert("noisy");
  return ex;
}

bool DialogueWriter::expressible(const Language& lang, const Call& call) {
  for (const auto& in : lang.intents) {
    if (in.type == "out_of_scope") continue;
    for (const auto& c : in.calls) {
      if (c.function != call.name) continue;
      bool ok = fixed_hold(c.literal_args, call);
      for (const auto& [arg, v] : call.arguments) {
        bool bound = false;
        for (const auto& [la, lv] : c.literal_args) bound |= la == arg;
        for (const auto& [sa, slot] : c.slot_args) {
          if (sa != arg) continue;
          bound = true;
          if (auto vt = lang.values.find(slot); vt != lang.values.end()) ok = ok && vt->second.count(arg_text(v)) > 0;
        }
        ok = ok && bound;
      }
      if (ok) return true;
    }
  }
  return false;
}

std::optional<ArgValue> DialogueWriter::carried(const Language& lang, const Call& prev, const std::string& argument,
                                                const std::string& slot) {
  if (auto it = prev.arguments.find(argument); it != prev.arguments.end()) return it->second;
  // Another name for the same thing: "is the back door locked?" — "lock it then" carries
  // get_device_status(room=back) to lock_door(door=back), both said with {door}.
  for (const auto& in : lang.intents) {
    if (in.type == "out_of_scope") continue;
    for (const auto& c : in.calls) {
      if (c.function != prev.name || !fixed_hold(c.literal_args, prev)) continue;
      for (const auto& [arg, s] : c.slot_args)
        if (s == slot && prev.arguments.count(arg)) return prev.arguments.at(arg);
    }
  }
  return std::nullopt;
}

// "Turn it off": an intent of the phrase library whose call keeps the previous
// target (same function: every argument kept but the ones the intent sets;
// another function: the target carried by argument name, as "is it on?"
// after switching the kitchen lights, or by the slot both intents say it with),
// said with a pronoun.
std::optional<Example> DialogueWriter::pronoun_turn(const Language& lang, const Call& prev, double noise_rate, Rng& rng) const {
  const DomainSchema& schema = gen_.phrasebook().schema;
  struct Candidate {
    const Intent* intent;
    std::string list;
  };
  std::vector<Candidate> candidates;
  for (const auto& in : lang.intents) {
    if (in.type == "out_of_scope" || in.calls.size() != 1 || in.partial) continue;
    for (const auto& lib : in.library)
      if (lang.follow_ups.count("pronoun." + lib)) candidates.push_back({&in, "pronoun." + lib});
  }
  for (size_t tries = 0; tries < 6 && !candidates.empty(); ++tries) {
    const size_t i = rng.below(candidates.size());
    const Candidate cand = candidates[i];
    candidates.erase(candidates.begin() + long(i));
    const Intent& in = *cand.intent;
    const CallTemplate& ct = in.calls[0];
    const FunctionSpec* f = schema.find(ct.function);
    std::set<std::string> bound;
    for (const auto& [arg, slot] : ct.slot_args) bound.insert(slot);
    std::set<std::string> target_slots;
    for (const auto& tp : in.targets)
      for (const auto& s : bound_slots_said(tp, bound)) target_slots.insert(s);
    const bool same = ct.function == prev.name;
    Call next;
    next.name = ct.function;
    if (same) next.arguments = prev.arguments;
    for (const auto& [arg, value] : ct.literal_args) next.arguments[arg] = value;
    bool ok = true, kept_target = false;
    std::optional<std::pair<std::string, ArgValue>> said_value;  // the argument {value} says
    for (const auto& [arg, slot] : ct.slot_args) {
      const ArgumentSpec* a = f->find_argument(arg);
      if (target_slots.count(slot)) {
        // The target stays the previous turn's, and the intent's words must fit it.
        std::optional<ArgValue> target = carried(lang, prev, arg, slot);
        if (!target || !a->accepts(*target)) { ok = false; break; }
        auto vt = lang.values.find(slot);
        if (vt == lang.values.end() || !vt->second.count(arg_text(*target))) { ok = false; break; }
        next.arguments[arg] = *target;
        kept_target = true;
        continue;
      }
      bool said_by_value = false;
      for (const auto& vp : in.values) said_by_value |= says_slot(vp, slot);
      // One {value} in the phrase says one argument: "set it to cooling" never sets a temperature too.
      if (!said_by_value || said_value) { ok = false; break; }
      auto values = other_values(lang, *f, next, *a, rng);
      if (values.empty()) { ok = false; break; }
      next.arguments[arg] = pick(values, rng);
      said_value = {arg, next.arguments[arg]};
    }
    if (!ok || (!same && !kept_target) || next == prev || !expressible(lang, next)) continue;
    // "Turn it up to 75" only where 75 is up from the value before.
    if (said_value && same && prev.arguments.count(said_value->first)) {
      const bool up = cand.list == "pronoun.raise", down = cand.list == "pronoun.lower";
      auto number = [](const ArgValue& v) {
        return std::holds_alternative<int64_t>(v) ? double(std::get<int64_t>(v))
               : std::holds_alternative<double>(v) ? std::get<double>(v) : 0.0;
      };
      const double before = number(prev.arguments.at(said_value->first)), after = number(said_value->second);
      if ((up && after <= before) || (down && after >= before)) continue;
    }
    // Phrases that say {value} exactly when the intent sets a value.
    std::vector<const Template*> usable;
    for (const auto& t : lang.follow_ups.at(cand.list))
      if (says_slot(t.pattern, "value") == said_value.has_value()) usable.push_back(&t);
    if (usable.empty()) continue;
    const Template& t = *pick(usable, rng);
    std::map<std::string, std::string> fill = {{"it", gen_.render_phrase(lang, pick(lang.pronouns, rng), {}, {}, false, rng)}};
    if (said_value) {
      auto words = say_value(lang, next, said_value->first, said_value->second, false, rng);
      if (!words) continue;
      fill["value"] = *words;
    }
    return finish(lang, gen_.render_phrase(lang, t.pattern, fill, {}, false, rng), {next}, "pronoun", {&t}, noise_rate, rng);
  }
  return std::nullopt;
}

}  // namespace edgelm::data
