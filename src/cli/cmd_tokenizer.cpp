// edgelm tokenizer train | encode | decode | info
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>

#include <nlohmann/json.hpp>

#include "agent/format.h"
#include "cli/command.h"
#include "device/device.h"
#include "domain/schema.h"
#include "platform/atomic_file.h"
#include "platform/error.h"
#include "tokenizer/pretokenizer.h"
#include "tokenizer/tokenizer.h"

namespace edgelm::cli {
namespace cmd_tokenizer {

struct TrainArgs {
  std::vector<std::string> inputs;
  int32_t vocab_size = 4096;
  std::string out, jsonl_field, special_tokens_file, domain, pre = "gpt-2";
  int64_t min_frequency = 2;
};

std::string read_stdin() {
  std::string s((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return s;
}

void run_train(const TrainArgs& a) {
  std::vector<std::string> specials;
  if (!a.domain.empty()) {
    DomainSchema schema = load_device(resolve_domain_dir(a.domain)).schema;
    specials = agent_special_tokens(schema);
  }
  if (!a.special_tokens_file.empty()) {
    std::string content = read_file(a.special_tokens_file);
    for (size_t pos = 0; pos < content.size();) {
      size_t end = content.find('\n', pos);
      if (end == std::string::npos) end = content.size();
      std::string line = content.substr(pos, end - pos);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (!line.empty() && std::find(specials.begin(), specials.end(), line) == specials.end()) specials.push_back(line);
      pos = end + 1;
    }
  }
  std::vector<std::string> texts = read_training_texts(a.inputs, a.jsonl_field);
  size_t n_bytes = 0;
  for (const auto& t : texts) n_bytes += t.size();
  std::fprintf(stderr, "training on %zu texts (%.2f MB), %zu special tokens\n", texts.size(), double(n_bytes) / 1e6,
               specials.size());
  TrainOptions options;
  options.pre = a.pre;
  options.min_frequency = a.min_frequency;
  options.show_progress = true;
  Tokenizer t = train_bpe(texts, a.vocab_size, specials, options);
  t.save_gguf(a.out);
  std::printf("wrote %s: %d tokens (%zu special, 256 bytes, %d merges), pre-tokenizer %s, eos %d\n", a.out.c_str(),
              t.n_vocab(), specials.size(), t.n_merges(), t.pre().c_str(), t.eos_id());
}

void run_encode(const std::string& model, const std::string* text, bool special, bool show_pieces) {
  Tokenizer t = load_tokenizer(model);
  std::string input = text ? *text : read_stdin();
  std::vector<int32_t> ids = t.encode(input, special);
  std::string line;
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i) line += ' ';
    line += std::to_string(ids[i]);
  }
  std::printf("%s\n", line.c_str());
  if (show_pieces) {
    for (int32_t id : ids) std::printf("%8d  %s\n", id, t.token_text(id).c_str());
  }
}

void run_decode(const std::string& model, const std::vector<std::string>& args) {
  Tokenizer t = load_tokenizer(model);
  std::string joined;
  if (args.empty()) joined = read_stdin();
  for (const auto& s : args) joined += s + " ";
  std::vector<int32_t> ids;
  size_t pos = 0;
  while (pos < joined.size()) {
    size_t start = joined.find_first_not_of(" \t\r\n,", pos);
    if (start == std::string::npos) break;
    size_t end = joined.find_first_of(" \t\r\n,", start);
    if (end == std::string::npos) end = joined.size();
    std::vector<int32_t> one = parse_int_list(joined.substr(start, end - start));
    ids.insert(ids.end(), one.begin(), one.end());
    pos = end;
  }
  std::string text = t.decode(ids);
  std::fwrite(text.data(), 1, text.size(), stdout);
}

void run_info(const std::string& model, bool list) {
  Tokenizer t = load_tokenizer(model);
  int32_t n_special = 0;
  for (int32_t i = 0; i < t.n_vocab(); ++i) n_special += t.is_special(i);
  std::printf("file: %s\n", model.c_str());
  std::printf("model: %s, pre-tokenizer: %s\n", t.model().c_str(), t.pre().c_str());
  std::printf("tokens: %d (%d special), merges: %d\n", t.n_vocab(), n_special, t.n_merges());
  std::printf("bos: %d, eos: %d, pad: %d\n", t.bos_id(), t.eos_id(), t.pad_id());
  for (int32_t i = 0; i < t.n_vocab(); ++i)
    if (t.is_special(i)) std::printf("  special %6d  %s\n", i, t.token_bytes(i).c_str());
  if (list)
    for (int32_t i = 0; i < t.n_vocab(); ++i) std::printf("%6d  %s\n", i, t.token_text(i).c_str());
}

// Reads JSON strings, one per line, and prints each one's pre-tokens as a
// JSON array: for checking a pre-tokenizer against the regex it implements.
void run_split(const std::string& pre_name) {
  auto pre = PreTokenizer::from_name(pre_name);
  if (!pre) fail("unknown pre-tokenizer '", pre_name, "'");
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty()) continue;
    nlohmann::json in = nlohmann::json::parse(line, nullptr, false);
    if (!in.is_string()) fail("split: each input line must be a JSON string");
    nlohmann::json out = pre->split(in.get<std::string>());
    std::printf("%s\n", out.dump(-1, ' ', true, nlohmann::json::error_handler_t::replace).c_str());
  }
}

void setup(CLI::App& app) {
  CLI::App* group = command_group(app, "tokenizer", "Train and inspect byte-level BPE tokenizers");

  auto a = std::make_shared<TrainArgs>();
  CLI::App* train = group->add_subcommand("train", "Train a byte-level BPE vocabulary; writes a vocabulary-only GGUF");
  train->add_option("--input", a->inputs, "text or JSONL files")->required()->expected(1, -1);
  train->add_option("--vocab-size", a->vocab_size, "vocabulary size, special and byte tokens included")->capture_default_str();
  train->add_option("--out", a->out, "output GGUF file")->required();
  train->add_option("--jsonl-field", a->jsonl_field, "JSONL field with the text (default: text, else messages' content)");
  train->add_option("--special-tokens", a->special_tokens_file, "file with one special token per line");
  train->add_option("--domain", a->domain, "reserve the agent's special tokens of this domain (name or folder)");
  train->add_option("--pre", a->pre, "pre-tokenizer: gpt-2, llama-bpe, qwen2, smollm, ...")->capture_default_str();
  train->add_option("--min-frequency", a->min_frequency, "stop when the best pair occurs fewer times")->capture_default_str();
  train->callback([a] { run_train(*a); });

  struct EncodeArgs {
    std::string model, text;
    bool special = false, pieces = false;
  };
  auto e = std::make_shared<EncodeArgs>();
  CLI::App* encode = group->add_subcommand("encode", "Print the token ids of a text (standard input by default)");
  encode->add_option("--model", e->model, "GGUF file or tokenizer.json")->required();
  auto* text_opt = encode->add_option("--text", e->text, "text to encode instead of standard input");
  encode->add_flag("--special", e->special, "turn special-token text such as <|end|> into its id");
  encode->add_flag("--pieces", e->pieces, "also print each token's text");
  encode->callback([e, text_opt] { run_encode(e->model, text_opt->count() ? &e->text : nullptr, e->special, e->pieces); });

  struct DecodeArgs {
    std::string model;
    std::vector<std::string> ids;
  };
  auto d = std::make_shared<DecodeArgs>();
  CLI::App* decode = group->add_subcommand("decode", "Print the text of token ids (arguments or standard input)");
  decode->add_option("--model", d->model, "GGUF file or tokenizer.json")->required();
  decode->add_option("ids", d->ids, "token ids, separated by spaces or commas");
  decode->callback([d] { run_decode(d->model, d->ids); });

  struct InfoArgs {
    std::string model;
    bool list = false;
  };
  auto i = std::make_shared<InfoArgs>();
  CLI::App* info = group->add_subcommand("info", "Summarise a tokenizer");
  info->add_option("--model", i->model, "GGUF file or tokenizer.json")->required();
  info->add_flag("--list", i->list, "list every token");
  info->callback([i] { run_info(i->model, i->list); });

  auto pre = std::make_shared<std::string>("gpt-2");
  CLI::App* split = group->add_subcommand("split", "Pre-tokenize JSON strings from standard input (one per line)");
  split->add_option("--pre", *pre, "pre-tokenizer name")->capture_default_str();
  split->callback([pre] { run_split(*pre); });
}

CommandRegistration reg(setup);

}  // namespace cmd_tokenizer
}  // namespace edgelm::cli
