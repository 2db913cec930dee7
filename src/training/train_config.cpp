#include "training/train_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <limits>
#include <map>
#include <sstream>
#include <toml++/toml.h>

#include "platform/atomic_file.h"
#include "platform/error.h"
#include "platform/utf8.h"

namespace edgelm::training {

namespace {

using Setter = std::function<void(TrainConfig&, const toml::node&, const std::string& where)>;

template <class T>
T get_value(const toml::node& node, const std::string& where, const char* kind) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!node.is_boolean()) fail(where, " must be true or false");
    return *node.value<bool>();
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!node.is_string()) fail(where, " must be a string");
    return *node.value<std::string>();
  } else if constexpr (std::is_integral_v<T>) {
    if (!node.is_integer()) fail(where, " must be ", kind);
    const int64_t v = *node.value<int64_t>();
    // A negative seed would wrap to a uint64 that TOML cannot write back; an int field keeps its range.
    if (v < int64_t(std::numeric_limits<T>::min()) || (v > 0 && uint64_t(v) > uint64_t(std::numeric_limits<T>::max())))
      fail(where, " is out of range (", v, ")");
    return T(v);
  } else {
    if (!node.is_number()) fail(where, " must be a number");
    const double v = *node.value<double>();
    // Converting a double past float's range is undefined behaviour; infinities and NaN convert.
    if (std::isfinite(v) && std::fabs(v) > double(std::numeric_limits<float>::max()))
      fail(where, " is out of range for a 32-bit float (", v, ")");
    return T(v);
  }
}

template <class T, class Field>
Setter set(Field field, const char* kind = "an integer") {
  return [field, kind](TrainConfig& c, const toml::node& n, const std::string& where) {
    field(c) = get_value<T>(n, where, kind);
  };
}

// "q,v" -> the targets; "all" -> every block matrix.
std::vector<LoraTarget> parse_lora_targets(const std::string& text, const std::string& where) {
  std::vector<LoraTarget> out;
  if (text == "all") {
    for (int t = 0; t < kLoraTargets; ++t) out.push_back(LoraTarget(t));
    return out;
  }
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    auto t = lora_target_from_name(item);
    if (!t) fail(where, ": '", item, "' is not a matrix LoRA can target (q, k, v, o, gate, up, down, or \"all\")");
    if (std::find(out.begin(), out.end(), *t) == out.end()) out.push_back(*t);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Every key the config understands, as "section.key" (or "key" at the top).
const std::map<std::string, Setter>& setters() {
  static const std::map<std::string, Setter> table = {
      {"mode", set<std::string>([](TrainConfig& c) -> auto& { return c.mode; })},
      {"out", set<std::string>([](TrainConfig& c) -> auto& { return c.out_dir; })},
      {"model.shape", set<std::string>([](TrainConfig& c) -> auto& { return c.model_shape; })},
      {"model.init", set<std::string>([](TrainConfig& c) -> auto& { return c.init_model; })},
      {"model.reference", set<std::string>([](TrainConfig& c) -> auto& { return c.reference_model; })},
      {"model.seed", set<uint64_t>([](TrainConfig& c) -> auto& { return c.model_seed; })},
      {"model.dim", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.dim; })},
      {"model.layers", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.n_layers; })},
      {"model.heads", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.n_heads; })},
      {"model.kv_heads", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.n_kv_heads; })},
      {"model.head_dim", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.head_dim; })},
      {"model.ffn", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.ffn_dim; })},
      {"model.vocab", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.n_vocab; })},
      {"model.context", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.context_length; })},
      {"model.sliding_window", set<int64_t>([](TrainConfig& c) -> auto& { return c.model.sliding_window; })},
      {"model.rope_theta", set<float>([](TrainConfig& c) -> auto& { return c.model.rope_theta; })},
      {"model.norm_eps", set<float>([](TrainConfig& c) -> auto& { return c.model.norm_eps; })},
      {"model.tied", set<bool>([](TrainConfig& c) -> auto& { return c.model.tied_embeddings; })},
      {"data.train", set<std::string>([](TrainConfig& c) -> auto& { return c.train_data; })},
      {"data.valid", set<std::string>([](TrainConfig& c) -> auto& { return c.valid_data; })},
      {"data.tokenizer", set<std::string>([](TrainConfig& c) -> auto& { return c.tokenizer; })},
      {"train.batch", set<int64_t>([](TrainConfig& c) -> auto& { return c.batch; })},
      {"train.seq", set<int64_t>([](TrainConfig& c) -> auto& { return c.seq; })},
      {"train.accum", set<int64_t>([](TrainConfig& c) -> auto& { return c.accum; })},
      {"train.steps", set<int64_t>([](TrainConfig& c) -> auto& { return c.steps; })},
      {"train.seed", set<uint64_t>([](TrainConfig& c) -> auto& { return c.seed; })},
      {"train.eval_every", set<int64_t>([](TrainConfig& c) -> auto& { return c.eval_every; })},
      {"train.eval_batches", set<int64_t>([](TrainConfig& c) -> auto& { return c.eval_batches; })},
      {"train.checkpoint_every", set<int64_t>([](TrainConfig& c) -> auto& { return c.checkpoint_every; })},
      {"train.log_every", set<int64_t>([](TrainConfig& c) -> auto& { return c.log_every; })},
      {"train.threads", set<int>([](TrainConfig& c) -> auto& { return c.threads; })},
      {"train.save_type", set<std::string>([](TrainConfig& c) -> auto& { return c.save_type; })},
      {"train.bf16", set<bool>([](TrainConfig& c) -> auto& { return c.bf16; })},
      {"train.recompute", set<bool>([](TrainConfig& c) -> auto& { return c.recompute; })},
      {"train.dropout", set<double>([](TrainConfig& c) -> auto& { return c.dropout; })},
      {"train.prompt_weight", set<double>([](TrainConfig& c) -> auto& { return c.prompt_weight; })},
      {"train.dpo_beta", set<double>([](TrainConfig& c) -> auto& { return c.dpo_beta; })},
      {"train.dpo_sft_weight", set<double>([](TrainConfig& c) -> auto& { return c.dpo_sft_weight; })},
      {"train.overlap_comm", set<bool>([](TrainConfig& c) -> auto& { return c.overlap_comm; })},
      {"optim.lr", set<float>([](TrainConfig& c) -> auto& { return c.optim.lr; })},
      {"optim.min_lr", set<float>([](TrainConfig& c) -> auto& { return c.optim.min_lr; })},
      {"optim.warmup", set<int64_t>([](TrainConfig& c) -> auto& { return c.optim.warmup_steps; })},
      {"optim.weight_decay", set<float>([](TrainConfig& c) -> auto& { return c.optim.weight_decay; })},
      {"optim.decay_embeddings", set<bool>([](TrainConfig& c) -> auto& { return c.optim.decay_embeddings; })},
      {"optim.beta1", set<float>([](TrainConfig& c) -> auto& { return c.optim.beta1; })},
      {"optim.beta2", set<float>([](TrainConfig& c) -> auto& { return c.optim.beta2; })},
      {"optim.eps", set<float>([](TrainConfig& c) -> auto& { return c.optim.eps; })},
      {"optim.grad_clip", set<float>([](TrainConfig& c) -> auto& { return c.optim.grad_clip; })},
      {"optim.ema", set<double>([](TrainConfig& c) -> auto& { return c.optim.ema; })},
      {"optim.ema_start", set<double>([](TrainConfig& c) -> auto& { return c.optim.ema_start; })},
      {"lora.rank", set<int64_t>([](TrainConfig& c) -> auto& { return c.lora.rank; })},
      {"lora.alpha", set<float>([](TrainConfig& c) -> auto& { return c.lora.alpha; })},
      {"lora.dropout", set<float>([](TrainConfig& c) -> auto& { return c.lora.dropout; })},
      {"lora.keep_base_type", set<bool>([](TrainConfig& c) -> auto& { return c.lora.keep_base_type; })},
      {"lora.targets", [](TrainConfig& c, const toml::node& n, const std::string& where) {
         c.lora.targets = parse_lora_targets(get_value<std::string>(n, where, ""), where);
       }},
  };
  return table;
}

std::string known_keys(const std::string& section) {
  std::string out;
  for (const auto& [key, _] : setters()) {
    const auto dot = key.find('.');
    const std::string sec = dot == std::string::npos ? "" : key.substr(0, dot);
    if (sec == section) out += (out.empty() ? "" : ", ") + (dot == std::string::npos ? key : key.substr(dot + 1));
  }
  return out;
}

bool is_section(const std::string& name) {
  return name == "model" || name == "data" || name == "train" || name == "optim" || name == "lora";
}

// Puts "a.b=value" into the table; value is parsed as TOML, or taken as a bare string.
void apply_override(toml::table& root, const std::string& item) {
  const auto eq = item.find('=');
  if (eq == std::string::npos || eq == 0) fail("override '", item, "' is not of the form section.key=value");
  const std::string key = item.substr(0, eq), text = item.substr(eq + 1);
  if (!setters().count(key)) {
    const auto dot = key.find('.');
    fail("override '", item, "': unknown key '", key, "' (known", dot == std::string::npos ? "" : " in [" + key.substr(0, dot) + "]",
         ": ", known_keys(dot == std::string::npos ? "" : key.substr(0, dot)), ")");
  }
  // A config is TOML, which is UTF-8: a value that is not would make the run's written config.toml unreadable.
  if (const std::string bad = utf8_problem(text); !bad.empty()) fail("override '", key, "=...': the value has ", bad);
  toml::table parsed;
  try {
    parsed = toml::parse("v = " + text);
  } catch (const toml::parse_error&) {
    parsed.insert_or_assign("v", text);  // a bare string such as a path
  }
  toml::node* value = parsed.get("v");
  const auto dot = key.find('.');
  if (dot == std::string::npos) {
    root.insert_or_assign(key, *value);
    return;
  }
  const std::string section = key.substr(0, dot), name = key.substr(dot + 1);
  if (!root.contains(section)) root.insert_or_assign(section, toml::table{});
  toml::table* sec = root.get_as<toml::table>(section);
  if (!sec) fail("override '", item, "': '", section, "' in the config is not a table");
  sec->insert_or_assign(name, *value);
}

}  // namespace

TrainConfig parse_train_config(const std::string& toml_text, const std::vector<std::string>& overrides,
                               const std::string& name) {
  toml::table root;
  try {
    root = toml::parse(toml_text, name);
  } catch (const toml::parse_error& e) {
    const auto& where = e.source().begin;
    fail(name, " line ", where.line, ": ", e.description());
  }
  for (const auto& item : overrides) apply_override(root, item);

  // The model shape first: the other [model] keys override its fields.
  TrainConfig c;
  if (const toml::node* shape = root.at_path("model.shape").node()) c.model_shape = get_value<std::string>(*shape, name + ": model.shape", "");
  try {
    c.model = model_shape(c.model_shape);
  } catch (const Error& e) {
    fail(name, ": model.shape: ", e.what());
  }
  bool head_dim_given = false;
  for (auto&& [k, v] : root) {
    const std::string key(k.str());
    if (v.is_table()) {
      if (!is_section(key)) fail(name, ": unknown section [", key, "] (known: [model], [data], [train], [optim], [lora])");
      for (auto&& [k2, v2] : *v.as_table()) {
        const std::string full = key + "." + std::string(k2.str());
        auto it = setters().find(full);
        if (it == setters().end())
          fail(name, ": unknown key '", k2.str(), "' in [", key, "] (known: ", known_keys(key), ")");
        it->second(c, v2, name + ": " + full);
        if (key == "model") c.model_keys_given.push_back(std::string(k2.str()));
        if (full == "model.head_dim") head_dim_given = true;
      }
    } else {
      auto it = setters().find(key);
      if (it == setters().end()) fail(name, ": unknown key '", key, "' (known at the top: ", known_keys(""), ")");
      it->second(c, v, name + ": " + key);
    }
  }
  // Without an explicit model.vocab the vocabulary comes from the tokenizer (or the data): 0 until then.
  if (!root.at_path("model.vocab").node()) c.model.n_vocab = 0;
  // A changed dim or head count changes the per-head size unless it is given.
  if (!head_dim_given && c.model.n_heads > 0) {
    if (c.model.dim % c.model.n_heads)
      fail(name, ": model.dim ", c.model.dim, " is not divisible by model.heads ", c.model.n_heads, " (or set model.head_dim)");
    c.model.head_dim = c.model.dim / c.model.n_heads;
  }
  c.validate();
  return c;
}

TrainConfig load_train_config(const std::string& path, const std::vector<std::string>& overrides) {
  return parse_train_config(read_file(path), overrides, path);
}

void TrainConfig::validate() const {
  if (mode != "pretrain" && mode != "sft" && mode != "dpo")
    fail("mode must be \"pretrain\", \"sft\" or \"dpo\" (got \"", mode, "\")");
  if (mode == "dpo" && init_model.empty()) fail("mode \"dpo\" needs model.init, the (SFT) model to train on preferences");
  if (mode != "dpo" && !reference_model.empty()) fail("model.reference is for mode \"dpo\" only");
  if (!(dpo_beta > 0) || !std::isfinite(dpo_beta)) fail("train.dpo_beta must be positive (got ", dpo_beta, ")");
  if (!(dpo_sft_weight >= 0) || !std::isfinite(dpo_sft_weight))
    fail("train.dpo_sft_weight must be 0 or more (got ", dpo_sft_weight, ")");
  if (dpo_sft_weight > 0 && mode != "dpo") fail("train.dpo_sft_weight is for mode \"dpo\" (got \"", mode, "\")");
  if (!(dropout >= 0 && dropout < 1)) fail("train.dropout must be in [0, 1) (got ", dropout, ")");
  if (dropout > 0 && mode == "dpo") fail("train.dropout is for pretrain and sft (DPO compares exact log-probabilities)");
  if (!(prompt_weight >= 0 && prompt_weight <= 1)) fail("train.prompt_weight must be in [0, 1] (got ", prompt_weight, ")");
  if (prompt_weight > 0 && mode != "sft")
    fail("train.prompt_weight is for sft (a pretraining stream trains on every token; DPO compares the answers)");
  if (out_dir.empty()) fail("out (the run folder) must not be empty");
  if (train_data.empty()) fail("data.train (a token shard from `edgelm data tokenize`) is required");
  auto positive = [](int64_t v, const char* what) {
    if (v <= 0) fail(what, " must be positive (got ", v, ")");
  };
  positive(batch, "train.batch");
  positive(seq, "train.seq");
  positive(accum, "train.accum");
  positive(steps, "train.steps");
  positive(log_every, "train.log_every");
  if (eval_every < 0 || eval_batches < 0 || checkpoint_every < 0) fail("train.eval_every, eval_batches and checkpoint_every must not be negative");
  if (threads < 0) fail("train.threads must not be negative (0: all cores)");
  if (save_type != "f32" && save_type != "f16" && save_type != "bf16") fail("train.save_type must be f32, f16 or bf16 (got ", save_type, ")");
  if (!(optim.lr > 0)) fail("optim.lr must be positive (got ", optim.lr, ")");
  if (optim.min_lr < 0 || optim.min_lr > optim.lr) fail("optim.min_lr must be in [0, lr] (got ", optim.min_lr, ")");
  if (optim.warmup_steps < 0) fail("optim.warmup must not be negative");
  if (!(optim.beta1 >= 0 && optim.beta1 < 1 && optim.beta2 >= 0 && optim.beta2 < 1)) fail("optim.beta1 and beta2 must be in [0, 1)");
  if (!(optim.eps > 0)) fail("optim.eps must be positive");
  if (optim.weight_decay < 0 || optim.grad_clip < 0) fail("optim.weight_decay and grad_clip must not be negative");
  if (!(optim.ema >= 0 && optim.ema < 1)) fail("optim.ema must be in [0, 1) (0: no average; got ", optim.ema, ")");
  if (!(optim.ema_start >= 0 && optim.ema_start < 1)) fail("optim.ema_start must be in [0, 1) (got ", optim.ema_start, ")");
  if (optim.ema > 0 && lora.enabled()) fail("optim.ema averages a model's weights, not a [lora] adapter's");
  if (lora.enabled()) {
    if (init_model.empty()) fail("[lora] trains an adapter on a base model: set model.init");
    if (!(lora.alpha > 0)) fail("lora.alpha must be positive (got ", lora.alpha, ")");
    if (!(lora.dropout >= 0 && lora.dropout < 1)) fail("lora.dropout must be in [0, 1) (got ", lora.dropout, ")");
    if (lora.targets.empty()) fail("lora.targets names no matrix");
  } else if (lora.rank < 0) {
    fail("lora.rank must not be negative (0: no LoRA)");
  }
  if (init_model.empty()) {
    // Shape checks that can be made before reading any file (the vocabulary may come from the tokenizer).
    const ModelConfig& m = model;
    if (m.n_heads <= 0 || m.n_kv_heads <= 0) fail("model.heads and model.kv_heads must be positive");
    if (m.n_heads % m.n_kv_heads) fail("model.heads (", m.n_heads, ") must be a multiple of model.kv_heads (", m.n_kv_heads, ")");
    if (m.head_dim <= 0 || m.head_dim % 2) fail("model.head_dim (", m.head_dim, ") must be positive and even (RoPE rotates pairs); "
                                                "model.dim ", m.dim, " / heads ", m.n_heads, " does not give one");
    if (m.dim <= 0 || m.ffn_dim <= 0 || m.n_layers <= 0) fail("model.dim, ffn and layers must be positive");
    if (m.context_length > 0 && seq > m.context_length)
      fail("train.seq ", seq, " exceeds model.context ", m.context_length);
  }
}

std::string train_config_to_toml(const TrainConfig& c) {
  std::ostringstream o;
  // A TOML basic string: quotes, backslashes and control characters escaped (a path may hold any of them).
  auto q = [](const std::string& s) {
    std::string r = "\"";
    for (char ch : s) {
      const auto u = static_cast<unsigned char>(ch);
      if (ch == '"' || ch == '\\') {
        r += '\\';
        r += ch;
      } else if (u < 0x20 || u == 0x7F) {
        char esc[16];
        std::snprintf(esc, sizeof esc, "\\u%04X", unsigned(u));
        r += esc;
      } else {
        r += ch;
      }
    }
    return r + "\"";
  };
  o.precision(9);
  o << "mode = " << q(c.mode) << "\nout = " << q(c.out_dir) << "\n\n[model]\nshape = " << q(c.model_shape)
    << "\ninit = " << q(c.init_model) << "\nreference = " << q(c.reference_model) << "\nseed = " << c.model_seed << "\ndim = " << c.model.dim
    << "\nlayers = " << c.model.n_layers << "\nheads = " << c.model.n_heads << "\nkv_heads = " << c.model.n_kv_heads
    << "\nhead_dim = " << c.model.head_dim << "\nffn = " << c.model.ffn_dim << "\nvocab = " << c.model.n_vocab
    << "\ncontext = " << c.model.context_length << "\nsliding_window = " << c.model.sliding_window
    << "\nrope_theta = " << double(c.model.rope_theta) << "\nnorm_eps = " << double(c.model.norm_eps)
    << "\ntied = " << (c.model.tied_embeddings ? "true" : "false") << "\n\n[data]\ntrain = " << q(c.train_data)
    << "\nvalid = " << q(c.valid_data) << "\ntokenizer = " << q(c.tokenizer) << "\n\n[train]\nbatch = " << c.batch
    << "\nseq = " << c.seq << "\naccum = " << c.accum << "\nsteps = " << c.steps << "\nseed = " << c.seed
    << "\neval_every = " << c.eval_every << "\neval_batches = " << c.eval_batches
    << "\ncheckpoint_every = " << c.checkpoint_every << "\nlog_every = " << c.log_every << "\nthreads = " << c.threads
    << "\nsave_type = " << q(c.save_type) << "\nbf16 = " << (c.bf16 ? "true" : "false")
    << "\nrecompute = " << (c.recompute ? "true" : "false") << "\ndropout = " << c.dropout
    << "\nprompt_weight = " << c.prompt_weight << "\ndpo_beta = " << c.dpo_beta << "\ndpo_sft_weight = " << c.dpo_sft_weight
    << "\noverlap_comm = " << (c.overlap_comm ? "true" : "false") << "\n\n[optim]\nlr = " << double(c.optim.lr)
    << "\nmin_lr = " << double(c.optim.min_lr) << "\nwarmup = " << c.optim.warmup_steps
    << "\nweight_decay = " << double(c.optim.weight_decay)
    << "\ndecay_embeddings = " << (c.optim.decay_embeddings ? "true" : "false") << "\nbeta1 = " << double(c.optim.beta1)
    << "\nbeta2 = " << double(c.optim.beta2) << "\neps = " << double(c.optim.eps)
    << "\ngrad_clip = " << double(c.optim.grad_clip) << "\nema = " << c.optim.ema << "\nema_start = " << c.optim.ema_start
    << "\n";
  if (c.lora.enabled()) {
    std::string targets;
    for (LoraTarget t : c.lora.targets) targets += (targets.empty() ? "" : ",") + std::string(lora_target_tensor(t));
    o << "\n[lora]\nrank = " << c.lora.rank << "\nalpha = " << double(c.lora.alpha) << "\ndropout = " << double(c.lora.dropout)
      << "\ntargets = " << q(targets) << "\nkeep_base_type = " << (c.lora.keep_base_type ? "true" : "false") << "\n";
  }
  return o.str();
}

}  // namespace edgelm::training
