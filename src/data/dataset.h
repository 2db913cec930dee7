#pragma once
// The domain data pipeline's public API: generate a typified, balanced,
// split data set from a domain folder (functions.toml + per-language phrasing
// files, see docs/DOMAIN_FORMAT.md), and audit a generated folder's coverage.
//
//   GenerateOptions o; o.domain_dir = resolve_domain_dir("air-purifier"); o.out_dir = "out/data";
//   DataSummary s = generate_dataset(o);          // train/valid/test.jsonl, cases/, dpo.jsonl, manifest.json, report.md
//   AuditReport a = audit_dataset("out/data");    // coverage table, gaps, lengths; audit.md / audit.json / audit.svg
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace edgelm {

// The phenomena an example can carry (its "types.phenomenon" list).
inline constexpr const char* kPhenomena[] = {"direct",   "relative",           "multi_call",    "query", "out_of_scope",
                                             "indirect", "numeric_conversion", "code_switched", "noisy"};

struct GenerateOptions {
  std::string domain_dir;          // folder with functions.toml, en.toml, ko.toml, ...
  std::string out_dir;             // created if absent
  int64_t n = 20000;               // examples over all splits (after dedup and balancing)
  uint64_t seed = 1;
  bool balance = true;             // false: the raw generator distribution (template-uniform), exact dedup only
  std::string focus_report;        // eval report JSON: raise the weight of what failed (empty: none)
  double valid_fraction = 0.05;    // share of templates held out for valid / test
  double test_fraction = 0.10;
  double noise_rate = 0.25;        // share of examples that get surface noise
  double dpo_fraction = 0.25;      // DPO pairs per train example (about)
  bool write_files = true;         // false: generate in memory only (benchmarks, tests)
  bool quiet = true;               // no progress bar
};

struct DataSummary {
  int64_t n_train = 0, n_valid = 0, n_test = 0, n_dpo = 0;
  int64_t n_generated = 0;         // candidates drawn, before dedup
  int64_t n_duplicates = 0;        // exact + normalised duplicates dropped
  int64_t n_templates = 0;
  std::map<std::string, int64_t> by_phenomenon, by_language, by_function;  // over all splits
  std::map<std::string, int64_t> raw_by_phenomenon, raw_by_language, raw_by_function;  // the unbalanced draw
  double seconds = 0;
  nlohmann::json manifest;         // what manifest.json holds
};

// Throws Error (file, line, problem) on a malformed domain folder before
// generating anything.
DataSummary generate_dataset(const GenerateOptions& options);

// Checks a domain folder (schema + phrasing files) and returns the number of
// templates; throws Error naming the file, line and problem.
int64_t check_domain(const std::string& domain_dir);

struct AuditCell {
  std::string function, argument, value, language, phenomenon;
  int64_t count = 0;
};

struct AuditGap {
  std::string what;   // e.g. "set_mode mode=turbo ko"
  int64_t count = 0, target = 0;
  bool missing() const { return count == 0; }
};

struct LengthStats {
  int64_t n = 0, min = 0, max = 0;
  double mean = 0, p50 = 0, p95 = 0;
};

// The domain folder a generated data folder was made from (its manifest.json),
// else the built-in default domain.
std::string domain_dir_of_data(const std::string& dir);

// An evaluation case as training data would say it: its user turns, oldest
// first (one for a single command).
struct CaseText {
  std::string id;
  std::vector<std::string> user_turns;
};

// The ids of `cases` whose user turns, normalised (lowercase, no spaces or
// punctuation), are those of some example of a training file (JSONL with
// `messages`): cases the model has in effect trained on, which cannot measure
// how it generalises. Errors name the file and line.
std::vector<std::string> cases_in_training(const std::string& train_jsonl, const std::vector<CaseText>& cases);

struct AuditOptions {
  std::string tokenizer_gguf;      // empty: whitespace words and UTF-8 characters
  std::string domain_dir;          // empty: from manifest.json, else the built-in air-purifier
  double min_share = 0.25;         // a cell is "under target" below min_share x the mean of its table
  int64_t min_count = 5;           // ... or below this absolute count
  bool write_files = true;         // audit.md, audit.json, audit.svg in the folder
  // Evaluation case files (name, cases) to look for in train.jsonl (cases_in_training).
  std::vector<std::pair<std::string, std::vector<CaseText>>> case_sets;
};

struct CasesInTraining {
  std::string name;                // the case file
  int64_t n = 0;                   // its cases
  std::vector<std::string> seen;   // ids of those whose text is a training text
};

struct AuditReport {
  int64_t n_examples = 0;
  std::vector<AuditCell> cells;    // function x argument value x language x phenomenon
  std::vector<AuditGap> gaps;      // missing or under target
  std::map<std::string, LengthStats> lengths;  // "user_words", "user_chars", "answer_words", ... or "user_tokens"
  std::vector<CasesInTraining> cases_in_training;  // one per AuditOptions::case_sets
  std::string table_markdown;      // the text report (audit.md)
  nlohmann::json to_json() const;
};

// Reads DIR/{train,valid,test}.jsonl (whichever exist).
AuditReport audit_dataset(const std::string& dir, const AuditOptions& options = {});

}  // namespace edgelm
