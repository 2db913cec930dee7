#pragma once
// The shared phrase library: per language, templates for the common
// device-control intents (switch_on, set_value, lock, ask_state, ...) written
// once with the placeholders {target} (the thing: "the kitchen lights") and
// {value} ("72 degrees", "sleep mode"). A domain's intent names the library
// intent it serves (`library = "switch_on"`) and gives its targets and values;
// the phrasebook loader then adds the library's templates to the intent with
// the targets and values filled in (docs/DOMAIN_FORMAT.md, "Phrase library").
#include <map>
#include <string>
#include <vector>

#include "data/phrasebook.h"

namespace edgelm::data {

struct LibraryTemplate {
  std::string text;   // as written, with {target} and maybe {value}
  int index = 0;      // position in its list: the stable part of the template id
  int line = 0;
  bool says_target = false;
  bool says_value = false;
};

// The lists of [follow_up] (conversations: docs/DOMAIN_FORMAT.md, "Follow-ups"),
// what each says: same_action {target} ("the bedroom too"), correction {value}
// ("no, I meant 68"), change {value} ("make it cooling"), answer {value} (to the
// device's question), repeat and undo (nothing: "a bit more", "cancel that"), and_then {command} (a new
// request after others), lead_in {command} (a word to the device's answer before the follow-up: "ok, {command}",
// "thanks! {command}"), and pronoun.<library intent> {it} and maybe {value} ("turn it off"; {it} is one of `pronouns`).
inline constexpr const char* kFollowUpLists[] = {"same_action", "correction", "change", "answer", "repeat", "undo", "and_then", "lead_in"};

struct PhraseLibrary {
  std::string file;                                            // phrases/<lang>.toml
  std::map<std::string, std::vector<LibraryTemplate>> phrases;  // library intent -> templates
  // [out_of_scope]: topic ("weather", "shopping") -> everyday requests that name
  // no device of a domain; an out-of-scope intent takes the topics its device
  // does not serve (`out_of_scope = ["weather", ...]`). No slots.
  std::map<std::string, std::vector<LibraryTemplate>> out_of_scope;
  std::map<std::string, Verb> verbs;                           // Korean verbs the templates use
  std::vector<Pattern> final_endings, connective_endings;      // Korean: for domains without [endings]
  std::vector<Pattern> wrappers, connectors;                   // for domains without `wrap` / `connect`
  std::vector<Pattern> question_connectors;                    // two questions: for domains without `connect_questions`
  std::vector<Pattern> ask_together;                           // two questions as one: for domains without `ask_together`
  std::string bytes;                                           // the file, for content hashes
  // [follow_up]: list name ("same_action", "pronoun.switch_off") -> phrases, with ids
  // "<lang>.follow.<list>.<index>" so that splits can hold phrases out.
  std::map<std::string, std::vector<Template>> follow_ups;
  std::vector<Pattern> pronouns;                               // [follow_up] pronouns: "it", "them", 그거
};

// $EDGELM_HOME/phrases when that folder exists, else the source tree's phrases/;
// throws Error when neither exists (a program moved away from its source tree
// with no EDGELM_HOME would otherwise generate without the library's phrases).
std::string resolve_phrases_dir();
// The same with the two places given (home: null when EDGELM_HOME is unset).
std::string resolve_phrases_dir(const char* home, const std::string& source_dir);

// Loads and checks <dir>/<lang>.toml: every template of [phrases] says {target} or
// {value} and uses no other slot, [out_of_scope] requests use none, and every
// verb is in its [verbs] (or is a regular 하다 verb). Errors name the file and line.
PhraseLibrary load_phrase_library(const std::string& dir, const std::string& lang);

}  // namespace edgelm::data
