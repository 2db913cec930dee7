#pragma once
// Dialogues: the last user turn of a conversation, written from the domain's
// own phrasing and the phrase library's follow-ups (phrases/<lang>.toml,
// [follow_up]). The data set (dataset.cpp) draws the earlier turns as ordinary
// single commands; this file writes the turn that leans on them and its calls,
// following the conversation rules of docs/DOMAIN_FORMAT.md ("Follow-ups"):
//
//   follow_up_target  the previous action for another target   "the bedroom too"
//   pronoun           the previous target, another action      "turn it off"
//   correction        the previous call, one argument changed   "no, I meant 68"
//   keep_setting      one setting changed, the others kept      "make it cooling"
//   slot_answer       the value a partial call asked for        "the hallway"
//   repeat            the previous step again                   "a bit more"
//   undo              what generate.toml's [undo] says undoes it "cancel that" (set_timer -> cancel_timer)
//   topic_switch      a new request on another function         "and lock the back door"
//   out_of_scope_mid  a request no function serves, mid-talk    "what's the weather?"
//
// Each kind is a type of its own: drawn to a target share, split by phrase
// (follow-up phrases carry template ids), audited like single commands.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "data/generator.h"

namespace edgelm::data {

inline constexpr const char* kDialogueKinds[] = {"follow_up_target", "pronoun", "correction", "keep_setting",
                                                 "slot_answer", "repeat", "undo", "topic_switch", "out_of_scope_mid"};
bool is_dialogue_kind(std::string_view kind);

class DialogueWriter {
 public:
  explicit DialogueWriter(const Generator& gen);

  // What the turn before a dialogue's last one must be: "partial" (slot_answer),
  // "relative" (repeat), "out_of_scope" never; else any single command.
  static std::string anchor_kind(const std::string& kind);
  // Whether `language` has the phrases a kind needs (follow_up lists, pronouns).
  bool language_can(const Language& language, const std::string& kind) const;

  // The last turn of a dialogue of `kind` after `anchor` (the turn before it).
  // topic_switch and out_of_scope_mid take `fresh`, a newly drawn single
  // command (on another function / out of scope). The result's history is
  // left for the caller to fill. nullopt when this anchor cannot take the kind
  // (no target to change, nothing left out, no phrase for it...).
  std::optional<Example> last_turn(const std::string& kind, const Language& language, const Example& anchor,
                                   const Example* fresh, double noise_rate, Rng& rng) const;
  // keep_setting said as a whole command of the domain ("set the thermostat to 73" after "heat to 70"):
  // `command`, a single command on the anchor's function that sets one setting, changes that setting of
  // the anchor's call and keeps its others (the heating). nullopt when it does not fit this anchor.
  std::optional<Example> keep_setting_by_command(const Language& language, const Example& anchor, const Example& command,
                                                 Rng& rng) const;

  // The words for one argument value alone ("the bedroom", "68 degrees", 침실),
  // or for the thing it names when `as_target` ("the bedroom lights"), in
  // `call`: only words of intents whose fixed arguments agree with the call's
  // other arguments (after a door's status, "the garage door", not "the garage
  // lights"). nullopt when the domain's phrasing cannot say that value there.
  std::optional<std::string> say_value(const Language& language, const Call& call, const std::string& argument,
                                       const ArgValue& value, bool as_target, Rng& rng) const;

  // Whether an intent of the language could make `call`: its fixed arguments, and a value its words
  // can say for every other (a follow-up never asks for the lights of the garage).
  static bool expressible(const Language& language, const Call& call);

 private:
  // How one argument's values are said on their own, per language.
  struct Way {
    std::string slot;   // the slot the pattern binds to the value
    Pattern pattern;    // "{room}", "{temperature:number}{deg}", "{room} {lamp}"
    bool library = false;  // from an intent of the phrase library: names the value plainly
    std::vector<std::pair<std::string, ArgValue>> fixed;  // the literal arguments of the intent's call ("device_type=door")
  };
  struct ArgWords {
    std::vector<Way> plain, target;
    bool setting = false;  // a `value` of a library intent, or a number: keep_setting changes it
  };
  using Index = std::map<std::string, ArgWords>;  // "function.argument" -> words

  const ArgWords* words(const Language& language, const std::string& function, const std::string& argument) const;
  bool can_say(const Language& language, const Way& way, const ArgValue& value) const;
  // Values of `argument` of `call` (its function `f`) that its words can say in that call, other than its value now.
  std::vector<ArgValue> other_values(const Language& language, const FunctionSpec& f, const Call& call, const ArgumentSpec& a,
                                     Rng& rng) const;
  std::optional<Example> finish(const Language& language, std::string text, std::vector<Call> calls,
                                const std::string& kind, std::vector<const Template*> parts, double noise_rate, Rng& rng) const;
  // The previous call's value for the next call's `argument`, said with `slot`: the previous call's own
  // `argument`, or the argument an intent of its function says with `slot` (room, then door).
  static std::optional<ArgValue> carried(const Language& language, const Call& previous, const std::string& argument,
                                         const std::string& slot);
  std::optional<Example> pronoun_turn(const Language& language, const Call& previous, double noise_rate, Rng& rng) const;

  const Generator& gen_;
  std::map<std::string, Index> index_;  // language code -> its words
};

}  // namespace edgelm::data
