// Reading and writing tokenizers: GGUF (tokenizer.ggml.*, as llama.cpp reads
// and writes them) and Hugging Face tokenizer.json (byte-level BPE).
#include <algorithm>

#include <nlohmann/json.hpp>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/json.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/tokenizer_data.h"
#include "tokenizer/unicode.h"

namespace edgelm {
namespace {

const std::string kSpmSpace = "\xE2\x96\x81";  // U+2581, SentencePiece's visible space

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (size_t pos = 0; (pos = s.find(from, pos)) != std::string::npos; pos += to.size()) s.replace(pos, from.size(), to);
  return s;
}

int hex_digit_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The bytes a token stands for, from its text as stored in a file.
std::string token_text_to_bytes(const std::string& model, const std::string& text, TokenType type) {
  if (is_special_type(type)) return text;
  if (model == "gpt2") {
    std::string bytes;
    if (unicode::from_byte_level(text, bytes)) return bytes;
    return text;  // not byte-level text: take it literally
  }
  if (type == TokenType::BYTE && text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>') {
    int high = hex_digit_value(text[3]), low = hex_digit_value(text[4]);
    if (high >= 0 && low >= 0) return std::string(1, char(high * 16 + low));
    // Not two hex digits: take it literally, as any other text that is not <0xHH>.
  }
  return replace_all(text, kSpmSpace, " ");
}

// Resolves "a b" merge strings (byte-level text) to token ids.
void resolve_merges(TokenizerData& d, const std::vector<std::pair<std::string, std::string>>& pairs,
                    const std::string& what) {
  d.merges.clear();
  d.merges.reserve(pairs.size());
  auto id_of = [&](const std::string& text, size_t rank, const char* role) {
    std::string bytes = token_text_to_bytes("gpt2", text, TokenType::NORMAL);
    auto it = d.normal_ids.find(bytes);
    if (it == d.normal_ids.end())
      fail(what, ": merge ", rank, " ('", pairs[rank].first, " ", pairs[rank].second, "'): ", role, " '", text,
           "' is not a token of the vocabulary");
    return it->second;
  };
  for (size_t r = 0; r < pairs.size(); ++r) {
    int32_t a = id_of(pairs[r].first, r, "left part");
    int32_t b = id_of(pairs[r].second, r, "right part");
    auto it = d.normal_ids.find(d.token_bytes[a] + d.token_bytes[b]);
    if (it == d.normal_ids.end())
      fail(what, ": merge ", r, " ('", pairs[r].first, " ", pairs[r].second, "'): the merged token '",
           pairs[r].first + pairs[r].second, "' is not in the vocabulary");
    d.merges.push_back({a, b, it->second});
  }
}

std::pair<std::string, std::string> split_merge(const std::string& m, size_t rank, const std::string& what) {
  size_t pos = m.find(' ', 1);
  if (pos == std::string::npos || pos + 1 >= m.size() || m.find(' ', pos + 1) != std::string::npos)
    fail(what, ": merge ", rank, " '", m, "' is not two tokens separated by one space");
  return {m.substr(0, pos), m.substr(pos + 1)};
}

PreTokenizer pre_from_name(const std::string& name, const std::string& what) {
  auto pre = PreTokenizer::from_name(name);
  if (!pre) {
    std::string known;
    for (const auto& n : PreTokenizer::known_names()) known += (known.empty() ? "" : ", ") + n;
    fail(what, ": unsupported pre-tokenizer tokenizer.ggml.pre = '", name, "' (known: ", known, ")");
  }
  return *pre;
}

// obj[key] when it is true or false; false when absent or null.
bool optional_bool(const nlohmann::json& obj, const char* key, const std::string& name, const char* what) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return false;
  if (!it->is_boolean()) fail(name, ": ", what, " is ", it->dump(), ", not true or false");
  return it->get<bool>();
}

int32_t optional_id(const GgufMetadata& meta, const std::string& key, const std::string& name) {
  const GgufValue* v = meta.find(key);
  if (!v) return -1;
  int64_t id = v->as_int(cat(name, ": ", key));
  return (id < 0 || id > INT32_MAX) ? -1 : int32_t(id);
}

}  // namespace

bool gguf_has_tokenizer(const GgufMetadata& meta) {
  const GgufValue* model = meta.find("tokenizer.ggml.model");
  if (!model) return false;
  // A key that is not a string is a malformed tokenizer, which from_gguf reports.
  if (model->type() != GgufType::STRING) return true;
  return !gguf_means_no_vocabulary(model->as_string());
}

Tokenizer Tokenizer::from_gguf(const GgufFile& f) { return from_gguf_metadata(f.metadata(), f.path()); }

Tokenizer Tokenizer::from_gguf_metadata(const GgufMetadata& meta, const std::string& name) {
  const GgufValue* model_value = meta.find("tokenizer.ggml.model");
  if (!model_value) fail(name, ": no tokenizer in this file (metadata key tokenizer.ggml.model is missing)");
  // The accessors' errors name the key; `key` puts the file's name before it.
  auto key = [&](const char* k) { return cat(name, ": ", k); };
  auto d = std::make_shared<TokenizerData>();
  d->model = model_value->as_string(key("tokenizer.ggml.model"));
  if (gguf_means_no_vocabulary(d->model))
    fail(name, ": no tokenizer in this file (tokenizer.ggml.model is '", d->model, "': a model of token ids only)");
  if (d->model != "gpt2" && d->model != "llama")
    fail(name, ": tokenizer.ggml.model '", d->model, "' is not supported (gpt2: byte-level BPE, llama: SentencePiece)");
  const GgufValue* tokens_value = meta.find("tokenizer.ggml.tokens");
  if (!tokens_value) fail(name, ": metadata key tokenizer.ggml.tokens is missing");
  const GgufArray& tokens = tokens_value->as_array(key("tokenizer.ggml.tokens"));
  if (tokens.elem_type != GgufType::STRING) fail(name, ": tokenizer.ggml.tokens is not an array of strings");
  size_t n = tokens.strings.size();
  d->token_types.assign(n, TokenType::NORMAL);
  if (const GgufValue* v = meta.find("tokenizer.ggml.token_type")) {
    const GgufArray& types = v->as_array(key("tokenizer.ggml.token_type"));
    if (types.ints.size() != n)
      fail(name, ": tokenizer.ggml.token_type has ", types.size(), " entries for ", n, " tokens");
    for (size_t i = 0; i < n; ++i) {
      int64_t t = types.ints[i];
      if (t < 0 || t > 6) fail(name, ": token ", i, " has unknown token type ", t);
      d->token_types[i] = TokenType(t);
    }
  }
  if (d->model == "llama") {
    if (const GgufValue* v = meta.find("tokenizer.ggml.scores")) {
      const GgufArray& s = v->as_array(key("tokenizer.ggml.scores"));
      if (s.reals.size() != n) fail(name, ": tokenizer.ggml.scores has ", s.size(), " entries for ", n, " tokens");
      d->scores.assign(s.reals.begin(), s.reals.end());
    } else {
      fail(name, ": a SentencePiece (llama) vocabulary needs tokenizer.ggml.scores");
    }
    if (const GgufValue* v = meta.find("tokenizer.ggml.add_space_prefix"))
      d->add_space_prefix = v->as_bool(key("tokenizer.ggml.add_space_prefix"));
  }
  d->token_bytes.reserve(n);
  for (size_t i = 0; i < n; ++i) d->token_bytes.push_back(token_text_to_bytes(d->model, tokens.strings[i], d->token_types[i]));
  d->bos = optional_id(meta, "tokenizer.ggml.bos_token_id", name);
  d->eos = optional_id(meta, "tokenizer.ggml.eos_token_id", name);
  d->pad = optional_id(meta, "tokenizer.ggml.padding_token_id", name);
  d->unk = optional_id(meta, "tokenizer.ggml.unknown_token_id", name);
  for (int32_t* id : {&d->bos, &d->eos, &d->pad, &d->unk})
    if (*id >= int32_t(n)) *id = -1;  // llama.cpp tolerates these; an id past the end means none
  d->finalize(name);
  if (d->model == "gpt2") {
    const GgufValue* pre_value = meta.find("tokenizer.ggml.pre");
    d->pre = pre_from_name(pre_value ? pre_value->as_string(key("tokenizer.ggml.pre")) : "default", name);
    const GgufValue* merges_value = meta.find("tokenizer.ggml.merges");
    if (!merges_value) fail(name, ": a byte-level BPE (gpt2) vocabulary needs tokenizer.ggml.merges, which is missing");
    const GgufArray& merges = merges_value->as_array(key("tokenizer.ggml.merges"));
    if (merges.elem_type != GgufType::STRING) fail(name, ": tokenizer.ggml.merges is not an array of strings");
    std::vector<std::pair<std::string, std::string>> pairs;
    pairs.reserve(merges.strings.size());
    for (size_t r = 0; r < merges.strings.size(); ++r) pairs.push_back(split_merge(merges.strings[r], r, name));
    resolve_merges(*d, pairs, name);
    d->finalize(name);
  }
  return make_tokenizer(std::move(d));
}

void Tokenizer::write_to(GgufMetadata& meta) const {
  const TokenizerData& d = *data_;
  meta.set("tokenizer.ggml.model", GgufValue::string(d.model));
  if (d.model == "gpt2") meta.set("tokenizer.ggml.pre", GgufValue::string(d.pre.name()));
  std::vector<std::string> texts;
  texts.reserve(d.token_bytes.size());
  for (int32_t i = 0; i < n_vocab(); ++i) {
    if (d.model == "llama" && d.token_types[i] == TokenType::BYTE && d.token_bytes[i].size() == 1) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "<0x%02X>", unsigned(uint8_t(d.token_bytes[i][0])));
      texts.emplace_back(buf);
    } else if (d.model == "llama" && !is_special(i)) {
      texts.push_back(replace_all(d.token_bytes[i], " ", kSpmSpace));
    } else {
      texts.push_back(token_text(i));
    }
  }
  meta.set("tokenizer.ggml.tokens", GgufValue::string_array(std::move(texts)));
  std::vector<int32_t> types;
  for (TokenType t : d.token_types) types.push_back(int32_t(t));
  meta.set("tokenizer.ggml.token_type", GgufValue::i32_array(types));
  if (d.model == "gpt2") {
    std::vector<std::string> merges;
    merges.reserve(d.merges.size());
    for (const auto& m : d.merges) merges.push_back(token_text(m.left) + " " + token_text(m.right));
    meta.set("tokenizer.ggml.merges", GgufValue::string_array(std::move(merges)));
  } else {
    meta.set("tokenizer.ggml.scores", GgufValue::f32_array(d.scores));
    meta.set("tokenizer.ggml.add_space_prefix", GgufValue::boolean(d.add_space_prefix));
  }
  if (d.bos >= 0) meta.set("tokenizer.ggml.bos_token_id", GgufValue::u32(uint32_t(d.bos)));
  if (d.eos >= 0) meta.set("tokenizer.ggml.eos_token_id", GgufValue::u32(uint32_t(d.eos)));
  if (d.pad >= 0) meta.set("tokenizer.ggml.padding_token_id", GgufValue::u32(uint32_t(d.pad)));
  if (d.unk >= 0) meta.set("tokenizer.ggml.unknown_token_id", GgufValue::u32(uint32_t(d.unk)));
  // edgelm's chat format places its own special tokens; llama.cpp must not add any.
  meta.set("tokenizer.ggml.add_bos_token", GgufValue::boolean(false));
  meta.set("tokenizer.ggml.add_eos_token", GgufValue::boolean(false));
}

void Tokenizer::save_gguf(const std::string& path) const {
  GgufWriter w;
  w.metadata().set("general.architecture", GgufValue::string("llama"));
  w.metadata().set("general.type", GgufValue::string("vocab"));
  w.metadata().set("general.name", GgufValue::string("edgelm-tokenizer"));
  write_to(w.metadata());
  w.write(path);
}

Tokenizer Tokenizer::from_hf_json(const std::string& path) { return from_hf_json_text(read_file(path), path); }

Tokenizer Tokenizer::from_hf_json_text(std::string_view json_text, const std::string& name) {
  using nlohmann::json;
  json j = parse_json(json_text, name);
  try {
    if (!j.is_object() || !j.contains("model") || !j["model"].is_object()) fail(name, ": no \"model\" object");
    const json& model = j["model"];
    if (model.contains("type") && model["type"] != "BPE")
      fail(name, ": model type ", model["type"].dump(), " is not supported (only BPE)");
    if (!model.contains("vocab") || !model["vocab"].is_object()) fail(name, ": model.vocab is missing or not an object");
    if (!model.contains("merges") || !model["merges"].is_array()) fail(name, ": model.merges is missing or not an array");
    auto d = std::make_shared<TokenizerData>();
    d->model = "gpt2";
    std::vector<std::string> texts;
    std::vector<char> seen;
    // `id_value` is a JSON integer. Non-negative ones parse as unsigned, so 2^64 - 1
    // is not read as -1; the message quotes the file's number as written.
    auto place = [&](const json& id_value, const std::string& text, TokenType type, bool may_repeat) {
      constexpr int64_t kMaxId = 10'000'000;
      int64_t id = -1;
      if (id_value.is_number_unsigned()) id = int64_t(std::min<uint64_t>(id_value.get<uint64_t>(), kMaxId + 1));
      else if (id_value.is_number_integer()) id = id_value.get<int64_t>();
      if (id < 0 || id > kMaxId) fail(name, ": token '", text, "' has id ", id_value.dump(), " outside 0..", kMaxId);
      if (size_t(id) >= texts.size()) {
        texts.resize(size_t(id) + 1);
        seen.resize(size_t(id) + 1, 0);
        d->token_types.resize(size_t(id) + 1, TokenType::NORMAL);
      }
      if (seen[id] && !(may_repeat && texts[id] == text))
        fail(name, ": id ", id, " is given to two tokens, '", texts[id], "' and '", text, "'");
      seen[id] = 1;
      texts[id] = text;
      d->token_types[id] = type;
    };
    for (const auto& [text, id] : model["vocab"].items()) {
      if (!id.is_number_integer()) fail(name, ": model.vocab entry '", text, "' has a non-integer id");
      place(id, text, TokenType::NORMAL, false);
    }
    if (j.contains("added_tokens") && j["added_tokens"].is_array()) {
      for (const json& t : j["added_tokens"]) {
        if (!t.is_object() || !t.contains("id") || !t.contains("content") || !t["id"].is_number_integer() ||
            !t["content"].is_string())
          fail(name, ": an added_tokens entry lacks an integer \"id\" or a string \"content\"");
        bool special = optional_bool(t, "special", name, "an added_tokens entry's \"special\"");
        place(t["id"], t["content"].get<std::string>(), special ? TokenType::CONTROL : TokenType::USER_DEFINED, true);
      }
    }
    for (size_t i = 0; i < texts.size(); ++i)
      if (!seen[i]) fail(name, ": no token has id ", i, " (ids must run from 0 without gaps)");
    for (size_t i = 0; i < texts.size(); ++i) d->token_bytes.push_back(token_text_to_bytes("gpt2", texts[i], d->token_types[i]));

    std::vector<std::pair<std::string, std::string>> pairs;
    const json& merges = model["merges"];
    for (size_t r = 0; r < merges.size(); ++r) {
      const json& m = merges[r];
      if (m.is_string()) {
        pairs.push_back(split_merge(m.get<std::string>(), r, name));
      } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
        pairs.emplace_back(m[0].get<std::string>(), m[1].get<std::string>());
      } else {
        fail(name, ": merge ", r, " is neither \"a b\" nor [\"a\", \"b\"]");
      }
    }

    // The pre-tokenizer, recognised from its pattern.
    std::string pre = "gpt-2";
    const json& pt = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
    std::string dump = pt.dump();
    if (dump.find("\"Digits\"") != std::string::npos && dump.find("\"individual_digits\":true") != std::string::npos) {
      pre = "smollm";
    } else if (dump.find("\\\\p{N}{1,3}") != std::string::npos) {
      pre = "llama-bpe";
    } else if (dump.find("|\\\\p{N}|") != std::string::npos) {
      pre = "qwen2";
    } else if (!pt.is_null() && dump.find("\"ByteLevel\"") == std::string::npos) {
      fail(name, ": pre_tokenizer ", dump.substr(0, 200), " is not a byte-level one edgelm knows");
    }
    d->pre = pre_from_name(pre, name);
    d->finalize(name);
    resolve_merges(*d, pairs, name);
    bool ignore_merges = optional_bool(model, "ignore_merges", name, "model.ignore_merges");
    if (ignore_merges != d->pre.ignore_merges()) {
      // Llama 3 files say ignore_merges; honour what the file says for other patterns too.
      auto p = PreTokenizer::from_name(ignore_merges ? "llama-bpe" : "dbrx");
      if (d->pre.kind() == PreTokenizerKind::LLAMA3 && p) d->pre = *p;
    }
    for (const char* eos : {"<|eot_id|>", "<|im_end|>", "<|end|>", "<|endoftext|>", "</s>"}) {
      auto it = d->special_ids.find(eos);
      if (it != d->special_ids.end()) {
        d->eos = it->second;
        break;
      }
    }
    for (const char* bos : {"<|begin_of_text|>", "<s>"}) {
      auto it = d->special_ids.find(bos);
      if (it != d->special_ids.end()) {
        d->bos = it->second;
        break;
      }
    }
    d->finalize(name);
    return make_tokenizer(std::move(d));
  } catch (const json::exception& e) {
    fail(name, ": unexpected structure (", e.what(), ")");
  }
}

}  // namespace edgelm
