#pragma once
// The shared base model: a general tokenizer and a model pretrained once on
// the general corpus (scripts/build-corpus), which `edgelm demo --base`
// fine-tunes into each device's agent (docs/PRETRAINING.md).
//
// The tokenizer is trained on the corpus and on generated examples of every
// domain it is built for, with the agent format's role and end tokens and a
// block of reserved special tokens. A device binds its own function and
// placeholder tokens to reserved ones (bind_reserved_tokens), so every id the
// base model learned keeps its meaning and a device added later needs no new
// base. Stages are stamped as the demo's are (OUT/manifest.json), so a second
// run reuses what is done.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "domain/schema.h"

namespace edgelm {

struct BaseOptions {
  std::string corpus;                // corpus.jsonl of `edgelm data corpus`
  std::string out_dir = "runs/base";
  std::vector<std::string> domains;  // names or folders whose data the tokenizer also learns from (empty: the built-in ones)
  bool quick = false, force = false, quiet = false;
  int threads = 0;
  uint64_t seed = 1;
  // The shape must be the one the demo fine-tunes (its defaults are the demo's).
  int64_t vocab_size = 2048, n_reserved = 96;
  int64_t dim = 192, layers = 4, heads = 4, kv_heads = 2, ffn_dim = 384, context = 256;
  int64_t steps = 1000, batch = 16, seq_len = 192;
  double learning_rate = 2e-3;
  int64_t domain_examples = 6000;    // generated per domain for the tokenizer's training text
};

// Runs (or resumes) the base stages and returns the summary written to
// OUT/base.json: {model, tokenizer, corpus, pretrain: {steps, tokens, seconds, ...}, seconds}.
nlohmann::json run_base(const BaseOptions& options);

// The demo's side: the device's tokenizer made from the base model's (its
// reserved tokens bound to agent_special_tokens(schema)), written to out_gguf.
nlohmann::json bind_demo_tokenizer(const DomainSchema& schema, const std::string& base_model, const std::string& out_gguf);

}  // namespace edgelm
