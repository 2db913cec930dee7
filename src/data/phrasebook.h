#pragma once
// A domain folder loaded for generation: the function schema (functions.toml),
// the generation settings (generate.toml) and one phrasing file per language
// (en.toml, ko.toml): lexicons, value words, Korean verbs and endings,
// politeness wrappers, multi-command connectors, intents with their templates,
// and reply templates. See docs/DOMAIN_FORMAT.md.
//
// Everything is checked when loading (unknown slot, slot bound to no
// argument, value outside the enum, reply placeholder the device cannot fill,
// bad UTF-8...), and every error names the file and line.
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "data/pattern.h"
#include "domain/schema.h"

namespace edgelm::data {

// One call of an intent: literal arguments, or arguments bound to a slot
// whose value the generator picks ("set_mode(mode={mode})"). Optional
// arguments without a default may be left out: a partial call.
struct CallTemplate {
  std::string function;
  std::vector<std::pair<std::string, ArgValue>> literal_args;  // argument -> value, in the argument's type
  std::vector<std::pair<std::string, std::string>> slot_args;  // argument -> slot name
};

struct Template {
  std::string id;        // "ko.set_mode.4"
  Pattern pattern;
  int line = 0;
  bool has_verb = false; // ends in a conjugated verb, so it can be the first part of a Korean multi-command
  bool question = false; // a question: never the first part of a multi-command
  bool everyday = false; // an everyday request of the phrase library's [out_of_scope] topics: names no device thing
};

struct Intent {
  std::string id;        // "set_mode"
  std::string type;      // direct, relative, query, indirect, out_of_scope, multi_call
  std::vector<CallTemplate> calls;                    // the answer the model is trained on
  std::vector<std::vector<CallTemplate>> alternatives;  // other answers that also count as right
  std::vector<Template> templates;
  bool chain = true;     // may be part of a multi-command
  bool last = false;     // in a multi-command, only as the last request (switching the device off)
  bool wrap = true;      // takes politeness wrappers ("please ...", "can you ...?"); off for questions and complaints
  bool partial = false;  // a direct request whose every call leaves out a value the reply asks for (the "partial" kind)
  std::vector<std::string> library;          // the phrase-library intents it serves (switch_on, set_value, ...)
  // Its `target` patterns: the things a library intent acts on, and what a query asks
  // about (a query with targets that say every slot its calls bind can be asked
  // together with another: "공기질이랑 필터 상태 둘 다 알려줘"); `value` patterns (library intents).
  std::vector<Pattern> targets, values;
  bool asks_together = false;  // a query whose targets say every slot its calls bind
  // Its own replies (`reply = [...]`, out-of-scope intents only): what the device says to a
  // thanks or a goodbye ("You're welcome.") instead of the language's out-of-scope reply.
  std::vector<std::string> replies;
  std::string primary_function() const { return calls.empty() ? "none" : calls[0].function; }
};

// a: the 아/어 form endings attach to (켜, 꺼, 바꿔, 틀어); stem: the stem 고
// attaches to (켜, 끄, 바꾸, 틀).
using Verb = lang::VerbForms;

struct Language {
  std::string lang;  // a language code (src/domain/language.h)
  const LanguageInfo* info = nullptr;  // its row in the language table: script and module
  std::string file;
  const lang::LanguageRules& rules() const { return *info->rules; }
  std::map<std::string, std::vector<Pattern>> lexicon;                       // {slot} -> entries
  std::map<std::string, std::map<std::string, std::vector<Pattern>>> values;  // {slot} -> value -> words
  std::map<std::string, Verb> verbs;                                          // dictionary form -> forms
  std::vector<Pattern> final_endings, connective_endings;  // with {a} / {stem}
  std::vector<Pattern> wrappers;    // whole-command politeness and fillers, with {command}
  std::vector<Pattern> connectors;  // multi-commands, with {first} or {first_conn}, and {rest}
  // Two questions in one ("is the front door locked, and what's the thermostat at?"), with {first}
  // (the first question without its closing "?") and {rest}; none: questions are never chained first.
  std::vector<Pattern> question_connectors;
  // Two questions asked as one, with {first} and {rest} the targets of two queries
  // ("check {first} and {rest}", "{first}~랑 {rest} 둘 다 <알려주다>"); empty: never.
  std::vector<Pattern> ask_together;
  // "set_mode.sleep", "set_timer", "set_thermostat.cool.temperature", "toggle_lights.room?", "out_of_scope"
  std::map<std::string, std::vector<std::string>> replies;
  std::string reply_join = " ";     // between the replies of several calls
  std::vector<Intent> intents;
  // Conversation follow-ups from the phrase library's [follow_up] (empty when the
  // language has no library): list -> phrases (phrase_library.h, kFollowUpLists).
  std::map<std::string, std::vector<Template>> follow_ups;
  std::vector<Pattern> pronouns;
};

// What the demo's report card checks on the domain's hand-written cases
// (generate.toml [report_targets]); the defaults are those of a new device.
struct ReportTargets {
  double functional_success = 0.95;  // share of cases fully right, for each model in `models`
  double every_language = 0.93;      // the same for each language (and code-switched) alone
  double out_of_scope = 0.95;        // out-of-scope requests handled: no call, or the call the cases expect
  double out_of_scope_acted = 0.01;  // at most this share of them answered with a state-changing call
  std::vector<std::string> models = {"model", "model-q8_0"};  // the model files (without .gguf) held to them
  int64_t max_params = 30'000'000;
  double max_minutes = 15;           // all demo stages together
};

struct GenerationConfig {
  std::map<std::string, std::vector<int64_t>> number_pools;  // "set_timer.minutes" -> values people say (integers)
  std::map<std::string, std::vector<double>> decimal_pools;  // the same for number arguments ("set_temp.celsius")
  std::map<std::string, double> kind_targets;            // share of examples per kind (direct, multi_call, ...)
  std::map<std::string, double> language_targets;        // each language, and kMixedLanguage (code-switched)
  std::vector<std::string> languages;                    // phrasing files to load: en -> en.toml (default: every known language)
  std::map<std::string, Call> undo;                      // [undo]: what "cancel that" calls after a function (set_timer -> cancel_timer())
  double lead_in = 0.2;                                  // [dialogue] lead_in: share of follow-ups opened by a word to the reply ("ok, ...")
  ReportTargets report_targets;
};

struct Phrasebook {
  std::string dir;
  DomainSchema schema;
  // function -> the arguments that name where its effects act (device.toml keys
  // such as {room} or {door}); a function without any acts in one place.
  std::map<std::string, std::set<std::string>> place_args;
  GenerationConfig config;
  std::vector<Language> languages;
  std::string content_hash;  // of every file loaded, for the manifest
  int64_t n_templates() const;
  const Language* find_language(const std::string& lang) const;
  // The language a code-switched example is based in, for a uniform draw
  // `u` in [0, 1): the languages' mix_base_weight() shares, heaviest first.
  const Language& code_switch_base(double u) const;
};

Phrasebook load_phrasebook(const std::string& domain_dir);

// The reply texts for a call: of the [reply] keys whose parts all hold for
// the call (a value of one of its arguments, an argument it has, "ARG?" for
// an optional argument it leaves out), the most specific; a key that asks
// for a missing value wins (`asks` is then set). Null when none holds.
const std::vector<std::string>* find_reply(const Language& lang, const FunctionSpec& f, const Call& call, bool* asks = nullptr);

// 64-bit FNV-1a as 16 hex digits (content hashes in manifests).
std::string fnv1a_hex(std::string_view bytes);
uint64_t fnv1a(std::string_view bytes, uint64_t h = 0xcbf29ce484222325ull);

}  // namespace edgelm::data
