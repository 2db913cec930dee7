// edgelm data corpus --inputs LIST.tsv --out DIR [--languages en,ko] [--max-bytes-per-language N] [--provenance FILE]
//
// Builds the general pretraining corpus (data/corpus.h) from the files the
// list names and writes DIR/corpus.jsonl and DIR/manifest.json (sizes,
// sources, what each filter dropped, a fingerprint of every input and of the
// corpus). scripts/build-corpus makes the list from Debian's packages.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "data/corpus.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm::cli {
namespace cmd_data_corpus {

struct CorpusCliOptions {
  std::string inputs, out, languages = "en,ko", provenance;
  int64_t max_bytes_per_language = 0, max_chars = 600, min_chars = 16;
  double max_source_share = 0.5;
};

std::string hex64(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", (unsigned long long)v);
  return buf;
}

void run_corpus(const CorpusCliOptions& o) {
  auto start = std::chrono::steady_clock::now();
  data::CorpusOptions options;
  options.languages.clear();
  for (size_t pos = 0; pos <= o.languages.size();) {
    size_t comma = o.languages.find(',', pos);
    if (comma == std::string::npos) comma = o.languages.size();
    if (comma > pos) options.languages.push_back(o.languages.substr(pos, comma - pos));
    pos = comma + 1;
  }
  options.max_bytes_per_language = o.max_bytes_per_language;
  options.max_chars = o.max_chars;
  options.min_chars = o.min_chars;
  if (!(o.max_source_share > 0 && o.max_source_share <= 1)) fail("--max-source-share must be in (0, 1], not ", o.max_source_share);
  options.max_source_share = o.max_source_share;

  std::vector<data::CorpusInput> inputs = data::parse_corpus_inputs(read_file(o.inputs), o.inputs);
  if (inputs.empty()) fail(o.inputs, ": no inputs listed");
  std::vector<data::Segment> segments;
  nlohmann::json inputs_json = nlohmann::json::array();
  int64_t input_bytes = 0;
  for (const auto& in : inputs) {
    std::string bytes = read_file(in.path);
    std::vector<data::Segment> s = data::read_corpus_input(in, bytes);
    inputs_json.push_back({{"format", in.format}, {"source", in.source}, {"path", in.path}, {"bytes", bytes.size()},
                           {"fnv1a", hex64(data::corpus_hash(bytes))}, {"segments", s.size()}});
    input_bytes += int64_t(bytes.size());
    segments.insert(segments.end(), std::make_move_iterator(s.begin()), std::make_move_iterator(s.end()));
  }
  data::Corpus corpus = data::build_corpus(segments, options);
  if (corpus.entries.empty()) fail("no segment of the ", inputs.size(), " inputs passed the filters");
  std::string jsonl = data::corpus_jsonl(corpus);

  std::filesystem::create_directories(o.out);
  write_file_atomic(o.out + "/corpus.jsonl", jsonl);
  nlohmann::json manifest = data::corpus_summary(corpus, options);
  manifest["corpus_fnv1a"] = hex64(data::corpus_hash(jsonl));
  manifest["corpus_file_bytes"] = jsonl.size();
  manifest["input_bytes"] = input_bytes;
  manifest["inputs"] = inputs_json;
  if (!o.provenance.empty()) manifest["provenance"] = read_file(o.provenance);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  manifest["seconds"] = seconds;
  write_file_atomic(o.out + "/manifest.json", manifest.dump(2) + "\n");
  std::printf("wrote %s/corpus.jsonl: %zu segments, %.2f MB from %zu inputs (%.1f MB) in %.1f s\n", o.out.c_str(),
              corpus.entries.size(), double(jsonl.size()) / 1e6, inputs.size(), double(input_bytes) / 1e6, seconds);
  for (const auto& [code, bytes] : corpus.bytes_by_language)
    std::printf("  %s: %lld segments, %.2f MB (of %.2f MB that passed the filters)\n", code.c_str(),
                (long long)corpus.segments_by_language[code], double(bytes) / 1e6,
                double(corpus.candidate_bytes_by_language[code]) / 1e6);
}

void setup(CLI::App& app) {
  auto o = std::make_shared<CorpusCliOptions>();
  CLI::App* cmd = command_group(app, "data", "Domain data: generate, audit, tokenize")
                      ->add_subcommand("corpus", "Build the general pretraining corpus (cleaned, filtered, deduplicated, balanced)");
  cmd->add_option("--inputs", o->inputs, "list of inputs: format<TAB>source<TAB>path per line (formats: mo, wordnet, html, text)")
      ->required();
  cmd->add_option("--out", o->out, "output folder: corpus.jsonl and manifest.json")->required();
  cmd->add_option("--languages", o->languages, "comma-separated language codes to keep and balance")->capture_default_str();
  cmd->add_option("--max-bytes-per-language", o->max_bytes_per_language, "cap on each language's bytes (0: the smallest language's)")
      ->capture_default_str();
  cmd->add_option("--max-source-share", o->max_source_share, "most of a language's bytes one source may give")->capture_default_str();
  cmd->add_option("--min-chars", o->min_chars, "shortest segment kept (code points)")->capture_default_str();
  cmd->add_option("--max-chars", o->max_chars, "longest segment kept (code points; longer ones are split at sentence ends)")
      ->capture_default_str();
  cmd->add_option("--provenance", o->provenance, "text copied into the manifest (the packages and versions the inputs came from)");
  cmd->callback([o] { run_corpus(*o); });
}

CommandRegistration reg(setup);

}  // namespace cmd_data_corpus
}  // namespace edgelm::cli
