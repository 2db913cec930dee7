// edgelm data tokenize --input FILE --tokenizer MODEL.gguf --out SHARD [--chat|--pairs --domain DIR] [--field text]
// edgelm data concat --out SHARD SHARD...
//
// Pretraining text: a plain-text file (documents separated by a blank line) or
// JSONL (one document per line, the string under --field). Each document is
// followed by the end-of-text token. With --chat, each JSONL line is an SFT
// example rendered in the agent format, with the loss mask on the answer. With
// --pairs, each line is a preference pair (the generator's dpo.jsonl) and the
// shard is a pairs shard for `edgelm train --mode dpo`.
#include <functional>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "agent/format.h"
#include "cli/command.h"
#include "device/device.h"
#include "domain/schema.h"
#include "platform/error.h"
#include "tokenizer/tokenizer.h"
#include "training/shard.h"

namespace edgelm::cli {
namespace cmd_data_tokenize {

struct TokenizeOptions {
  std::string input, tokenizer, out, domain = kDefaultDomain, field = "text";
  bool chat = false, pairs = false, no_eos = false;
};

bool looks_like_jsonl(const std::string& path, std::ifstream& in) {
  if (path.size() >= 6 && path.substr(path.size() - 6) == ".jsonl") return true;
  std::string line;
  while (std::getline(in, line))
    if (line.find_first_not_of(" \t\r") != std::string::npos) break;
  in.clear();
  in.seekg(0);
  const auto p = line.find_first_not_of(" \t\r");
  return p != std::string::npos && line[p] == '{';
}

void run_tokenize(const TokenizeOptions& o) {
  Tokenizer tok = load_tokenizer(o.tokenizer);
  std::ifstream in(o.input, std::ios::binary);
  if (!in) fail("cannot open --input '", o.input, "'");
  training::ShardWriter writer(tok.n_vocab());
  std::vector<int32_t> ids;
  auto add_text = [&](const std::string& text) {
    if (text.empty()) return;
    ids = tok.encode(text);
    if (!o.no_eos && tok.eos_id() >= 0) ids.push_back(tok.eos_id());
    writer.add_document(ids);
  };
  std::string line;
  int64_t line_no = 0;
  if (o.chat && o.pairs) fail("--chat and --pairs exclude each other");
  // Each non-blank line of a JSONL input, parsed, to `add`; an error names its line.
  auto for_each_example = [&](const std::function<void(const nlohmann::json&)>& add) {
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded()) fail(o.input, " line ", line_no, ": not valid JSON");
      try {
        add(j);
      } catch (const Error& e) {
        fail(o.input, " line ", line_no, ": ", e.what());
      }
    }
  };
  if (o.pairs) {
    const DomainSchema schema = load_device(resolve_domain_dir(o.domain)).schema;
    for_each_example([&](const nlohmann::json& j) {
      const RenderedPair pair = render_preference_pair(schema, tok, j);
      writer.add_pair(pair.chosen.tokens, pair.chosen.loss_mask, pair.rejected.tokens, pair.rejected.loss_mask);
    });
  } else if (o.chat) {
    const DomainSchema schema = load_device(resolve_domain_dir(o.domain)).schema;
    for_each_example([&](const nlohmann::json& j) {
      const RenderedExample ex = render_training_example(schema, tok, j);
      writer.add_document(ex.tokens, ex.loss_mask);
    });
  } else if (looks_like_jsonl(o.input, in)) {
    while (std::getline(in, line)) {
      ++line_no;
      if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
      nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
      if (j.is_discarded() || !j.is_object()) fail(o.input, " line ", line_no, ": not a JSON object");
      auto it = j.find(o.field);
      if (it == j.end() || !it->is_string()) fail(o.input, " line ", line_no, ": no string field \"", o.field, "\" (see --field)");
      add_text(it->get<std::string>());
    }
  } else {
    std::string doc;
    while (std::getline(in, line)) {
      if (line.find_first_not_of(" \t\r") == std::string::npos) {
        add_text(doc);
        doc.clear();
      } else {
        doc += line + "\n";
      }
    }
    add_text(doc);
  }
  if (writer.n_tokens() == 0) fail(o.input, ": no text to tokenize");
  writer.write(o.out);
  std::printf("wrote %s: %lld documents, %lld tokens (vocabulary %d)\n", o.out.c_str(), (long long)writer.n_docs(),
              (long long)writer.n_tokens(), tok.n_vocab());
}

// `data concat`: shards of one tokenizer joined into one.
void add_concat(CLI::App* data) {
  auto inputs = std::make_shared<std::vector<std::string>>();
  auto out = std::make_shared<std::string>();
  CLI::App* cmd = data->add_subcommand(
      "concat", "Join token shards of one tokenizer into one (e.g. several devices' examples for one base model)");
  cmd->add_option("inputs", *inputs, "token shards, in order (documents or preference pairs, not both)")->required();
  cmd->add_option("--out", *out, "output token shard (written atomically)")->required();
  cmd->callback([inputs, out] {
    const training::ShardCounts c = training::concat_shards(*inputs, *out);
    std::printf("wrote %s: %lld documents, %lld tokens (vocabulary %lld) from %zu shards\n", out->c_str(),
                (long long)c.n_docs, (long long)c.n_tokens, (long long)c.n_vocab, inputs->size());
  });
}

void setup(CLI::App& app) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* data = command_group(app, "data", "Domain data: generate, audit, tokenize");
  CLI::App* cmd = data->add_subcommand("tokenize", "Turn text or SFT JSONL into a token shard for `edgelm train`");
  cmd->add_option("--input", o->input, "text file, JSONL, or (with --chat) SFT JSONL")->required();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer: a GGUF model/vocabulary or tokenizer.json")->required();
  cmd->add_option("--out", o->out, "output token shard")->required();
  cmd->add_flag("--chat", o->chat, "render SFT examples in the agent format (loss on the answer only)");
  cmd->add_flag("--pairs", o->pairs, "render preference pairs (dpo.jsonl of `data generate`) into a pairs shard for DPO");
  cmd->add_option("--domain", o->domain, "domain name or folder for --chat and --pairs")->capture_default_str();
  cmd->add_option("--field", o->field, "JSONL field holding the text")->capture_default_str();
  cmd->add_flag("--no-eos", o->no_eos, "do not end each text with the end-of-text token");
  cmd->callback([o] { run_tokenize(*o); });
  add_concat(data);
}

CommandRegistration reg(setup);

}  // namespace cmd_data_tokenize
}  // namespace edgelm::cli
