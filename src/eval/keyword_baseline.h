#pragma once
// A keyword baseline derived from a domain's own phrasing files, for any
// device: the kind of matcher a device team writes before any model, and the
// yardstick the trained agent is compared against.
//
// From the domain folder it collects (1) the words each function's intents use
// (template text and the lexicon entries they name, weighted by how few
// functions share a word), (2) the words for every argument value ([values.*]),
// (3) the separators of multi-commands (`connect`), and (4) durations in each
// language's words. A command is split at the separators; each part goes to the
// intent whose keywords and value words it holds most, and the intent's calls
// are filled with the values found (integers from digits or duration words).
#include <memory>
#include <string>
#include <vector>

#include "data/phrasebook.h"
#include "domain/schema.h"
#include "eval/evaluate.h"

namespace edgelm {

class KeywordBaseline {
 public:
  explicit KeywordBaseline(const data::Phrasebook& phrasebook);
  // Calls for one command; every call is valid for the schema (others are dropped).
  std::vector<Call> calls(const std::string& text) const;
  // A short reply in the command's language, from the domain's reply templates.
  std::string reply(const std::string& text, const std::vector<Call>& calls) const;
  const DomainSchema& schema() const;

  struct Tables;

 private:
  std::shared_ptr<const Tables> tables_;
};

// The baseline as an evaluation predictor.
Predictor keyword_baseline_predictor(std::shared_ptr<const KeywordBaseline> baseline);
// Loads the domain folder's phrasing and builds the baseline.
Predictor keyword_baseline_predictor(const std::string& domain_dir);

}  // namespace edgelm
