#pragma once
// Renders examples from a loaded phrasebook: one command text with its calls,
// reply, language and types. The generator knows nothing of balancing or
// splits (dataset.cpp); it turns "a Korean multi-command" or "this template"
// into a concrete, typed example, deterministically from the Rng it is given.
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "data/phrasebook.h"
#include "platform/random.h"

namespace edgelm::data {

// An earlier turn of a dialogue: what the user said, the calls the device executed, the reply.
struct PastTurn {
  std::string text;
  std::vector<Call> calls;
  std::string reply;
};

struct Example {
  std::string text;
  std::string lang;       // en, ko or mix
  std::string base_lang;  // the phrasing file it came from (the reply's language)
  std::vector<Call> calls;
  std::vector<std::vector<Call>> alternatives;  // other right answers (indirect complaints)
  std::set<std::string> phenomena;
  std::string template_id;                 // "en.set_mode.3", or "ko.a.1+ko.b.2" for multi-commands (+ "ko.ask_together.4": asked as one)
  std::vector<const Template*> parts;      // the templates used, in order
  std::string reply;
  std::string kind;                        // the kind it was drawn for (balancing)
  std::vector<PastTurn> history;           // a dialogue's earlier turns, oldest first (dialogue.h); empty: one command
};

// A part of a command: one intent rendered from one of its templates.
struct Clause {
  const Intent* intent = nullptr;
  const Template* tmpl = nullptr;
};

// How the clauses of a multi-command are joined: by the language's connectors
// ("is the air ok? and how's the filter"), or, for two queries that ask
// together (Intent::asks_together), as one question about both of their
// targets ("공기질이랑 필터 상태 둘 다 알려줘", the language's `ask_together`).
enum class Joining { Connectors, AskTogether };

class Generator {
 public:
  explicit Generator(const Phrasebook& pb);

  // One command from the given clauses (several: a multi-command joined by
  // the language's connectors). `mix` prefers code-switched words;
  // `force_conversion` prefers durations that need a unit conversion.
  // nullopt when the clauses cannot be joined (Korean clause without a verb
  // before a connective; AskTogether without two queries that ask together or
  // a language without `ask_together`) or a requested code switch did not happen.
  std::optional<Example> render(const Language& lang, const std::vector<Clause>& clauses, bool mix, bool force_conversion,
                                 double noise_rate, Rng& rng, Joining joining = Joining::Connectors) const;

  // A phrase on its own (a follow-up of a conversation, the words for a value):
  // slots named in `fill` take that text ({target}, {value}, {command}, {it});
  // slots bound to argument values take them from `values` (slot -> value: a
  // value slot's words, or a number said as digits or words); other slots come
  // from the lexicon. Korean particles agree with the text before them. Spaces
  // tidied; no wrapper, capitals or noise.
  std::string render_phrase(const Language& lang, const Pattern& p, const std::map<std::string, std::string>& fill,
                            const std::map<std::string, ArgValue>& values, bool mix, Rng& rng) const;

  // The reply for these calls (or none: out of scope) in the language's words;
  // `asks` is set when a reply asks for a value a partial call left out.
  std::string reply_for(const Language& lang, const std::vector<Call>& calls, Rng& rng, bool* asks = nullptr) const;
  // Whether the language has a reply for every one of these calls (a made-up wrong answer may not).
  bool has_reply(const Language& lang, const std::vector<Call>& calls) const;
  // Lowercase, no spaces or punctuation: the key for near-duplicate detection.
  static std::string normalise(const std::string& text);

  const Phrasebook& phrasebook() const { return pb_; }
  // Whether the pattern can produce words of the other script (a code switch).
  static bool can_switch(const Language& lang, const Pattern& p, int depth = 0);
  // Whether the intent has a {x:duration} slot.
  static bool has_duration(const Intent& intent);

 private:
  const Phrasebook& pb_;
};

}  // namespace edgelm::data
