#include "training/trainer.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>

#include "model/weights.h"
#include "platform/atomic_file.h"
#include "platform/dist.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "platform/progress.h"
#include "platform/random.h"
#include "platform/svg_chart.h"
#include "training/checkpoint.h"
#include "training/data_parallel.h"
#include "training/dpo.h"
#include "training/loader.h"
#include "training/lora.h"
#include "training/shard.h"
#include "training/transformer.h"

namespace edgelm::training {

namespace {

using Clock = std::chrono::steady_clock;

// The tokenizer.* keys of a GGUF file (tokenizer or model): what makes the trained model self-contained.
GgufMetadata tokenizer_keys(const GgufFile& f) {
  GgufMetadata meta;
  for (const auto& [key, value] : f.metadata().entries())
    if (key.rfind("tokenizer.", 0) == 0) meta.set(key, value);
  return meta;
}

// The edgelm.* keys a model keeps when it is trained further (its domain), not a checkpoint's loop state.
void copy_model_keys(const GgufFile& f, GgufMetadata& meta) {
  for (const auto& [key, value] : f.metadata().entries())
    if (key.rfind("edgelm.", 0) == 0 && key.rfind("edgelm.train.", 0) != 0) meta.set(key, value);
}

int64_t tokenizer_vocab(const GgufMetadata& meta) {
  const GgufValue* tokens = meta.find("tokenizer.ggml.tokens");
  return tokens ? int64_t(tokens->as_array("tokenizer.ggml.tokens").size()) : 0;
}

// The [model] keys the config sets must agree with the model file it starts from.
void check_model_against_config(const TrainConfig& c, const ModelConfig& file, const std::string& path) {
  auto check = [&](const char* key, double want, double have) {
    for (const auto& k : c.model_keys_given)
      if (k == key && want != have)
        fail("model.", key, " = ", want, " in the config, but ", path, " has ", have,
             " (remove the key or pick the matching model)");
  };
  check("dim", double(c.model.dim), double(file.dim));
  check("layers", double(c.model.n_layers), double(file.n_layers));
  check("heads", double(c.model.n_heads), double(file.n_heads));
  check("kv_heads", double(c.model.n_kv_heads), double(file.n_kv_heads));
  check("head_dim", double(c.model.head_dim), double(file.head_dim));
  check("ffn", double(c.model.ffn_dim), double(file.ffn_dim));
  check("vocab", double(c.model.n_vocab), double(file.n_vocab));
  check("tied", double(c.model.tied_embeddings), double(file.tied_embeddings));
  check("sliding_window", double(c.model.sliding_window), double(file.sliding_window));
}

// Drops metrics lines past `step` (a resumed run rewrites what came after its checkpoint).
void truncate_metrics(const std::string& path, int64_t step) {
  std::ifstream in(path);
  if (!in) return;
  std::string line, kept;
  while (std::getline(in, line)) {
    try {
      if (nlohmann::json::parse(line).value("step", int64_t(0)) <= step) kept += line + "\n";
    } catch (const nlohmann::json::exception&) {
      // A half-written last line from a crash: drop it.
    }
  }
  write_file_atomic(path, kept);
}

// A training step's dropout key: a function of the run's seed, the step and the
// micro-batch alone, so a resumed run, or one split over processes, draws the masks a
// straight one would.
uint64_t dropout_key(uint64_t seed, uint64_t step, uint64_t micro) {
  Rng r((seed * 0x9e3779b97f4a7c15ull + step) * 0xbf58476d1ce4e5b9ull + micro);
  return r.next();
}

double mean_loss(Transformer& model, BatchLoader& loader, int64_t n_batches) {
  Batch batch;
  double sum = 0, n = 0;
  for (int64_t i = 0; i < n_batches; ++i) {
    loader.next(batch);
    if (batch.n_weighted() <= 0) continue;
    sum += model.loss(batch);
    n += batch.n_weighted();
  }
  double sums[2] = {sum, n};  // over every rank's rows
  dist::allreduce_sum(sums, 2);
  return sums[1] > 0 ? sums[0] / sums[1] : -1;
}

double mean_dpo_loss(DpoObjective& dpo, BatchLoader& loader, int64_t n_batches) {
  Batch batch;
  DpoStats total;
  for (int64_t i = 0; i < n_batches; ++i) {
    loader.next(batch);
    const DpoStats s = dpo.loss(batch);
    total.loss_sum += s.loss_sum;
    total.n_pairs += s.n_pairs;
  }
  return total.n_pairs > 0 ? total.mean_loss() : -1;
}

PackMode pack_mode(const std::string& mode) {
  if (mode == "dpo") return PackMode::Pairs;
  return mode == "sft" ? PackMode::Examples : PackMode::Stream;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

void write_loss_svg(const std::string& path, const std::vector<std::pair<int64_t, double>>& train,
                    const std::vector<std::pair<int64_t, double>>& valid) {
  LineChart chart;
  chart.title = "Training loss";
  chart.x_label = "step";
  chart.y_label = "loss";
  auto series = [](const char* name, const char* color, const std::vector<std::pair<int64_t, double>>& points) {
    LineSeries s{name, {}, color};
    for (auto [step, loss] : points) s.points.emplace_back(double(step), loss);
    return s;
  };
  chart.series = {series("train loss", "steelblue", train), series("validation loss", "darkorange", valid)};
  write_file_atomic(path, line_chart_svg(chart));
}

TrainResult train_model(const TrainConfig& config, const TrainOptions& options) {
  const auto t_start = Clock::now();
  TrainConfig c = config;
  c.validate();
  // Data parallel (mpirun -np N): rank r trains on rows [r*B/N, (r+1)*B/N) of every micro-batch;
  // rank 0 alone writes files. See data_parallel.h.
  const int n_ranks = dist::size(), rank = dist::rank();
  const bool root = rank == 0;
  if (c.batch % n_ranks != 0)
    fail("train.batch = ", c.batch, " does not split evenly over ", n_ranks, " processes: make it a multiple of ", n_ranks,
         " (each process trains on train.batch / ", n_ranks, " rows of every micro-batch)");
  const int64_t rank_batch = c.batch / n_ranks;

  // ---- Everything is read and checked before the first step.
  GgufMetadata tok_meta;  // the saved model's keys besides its config: the tokenizer's, the init model's edgelm.*
  if (!c.tokenizer.empty()) {
    GgufFile tf = GgufFile::open(c.tokenizer);
    tok_meta = tokenizer_keys(tf);
    if (tokenizer_vocab(tok_meta) == 0) fail(c.tokenizer, ": no tokenizer in this file (tokenizer.ggml.tokens missing)");
  }
  Shard train_shard = Shard::open(c.train_data);
  std::optional<Shard> valid_shard;
  if (!c.valid_data.empty()) valid_shard.emplace(Shard::open(c.valid_data));

  WeightsF32 weights;
  if (!c.init_model.empty()) {
    GgufFile mf = GgufFile::open(c.init_model);
    const ModelConfig file_config = read_model_config(mf);
    check_model_against_config(c, file_config, c.init_model);
    if (c.tokenizer.empty()) tok_meta = tokenizer_keys(mf);
    copy_model_keys(mf, tok_meta);
    // A LoRA run's frozen base may stay in its file's types (ParamSet::frozen_packed, below).
    if (!(c.lora.enabled() && c.lora.keep_base_type)) weights = load_weights_f32(mf);
    else weights.config = file_config;
  } else {
    ModelConfig m = c.model;
    if (m.n_vocab == 0) m.n_vocab = tokenizer_vocab(tok_meta);
    if (m.n_vocab == 0) m.n_vocab = train_shard.n_vocab();
    if (m.n_vocab == 0)
      fail("the vocabulary size is unknown: set model.vocab, or data.tokenizer, or use a shard that records it");
    try {
      m.validate();
    } catch (const Error& e) {
      fail("model config: ", e.what());
    }
    weights = init_random_weights(m, c.model_seed);
  }
  const ModelConfig& mc = weights.config;
  c.model = mc;  // config.toml says the shape trained (from model.init too), so that a replay of it checks out
  const int64_t tok_vocab = tokenizer_vocab(tok_meta);
  if (tok_vocab > 0 && tok_vocab != mc.n_vocab)
    fail("the tokenizer has ", tok_vocab, " tokens but the model's vocabulary is ", mc.n_vocab);
  for (const Shard* s : {&train_shard, valid_shard ? &*valid_shard : nullptr}) {
    if (s && s->n_vocab() > mc.n_vocab)
      fail(s->path(), ": made for a vocabulary of ", s->n_vocab(), " tokens, the model has ", mc.n_vocab);
  }
  if (c.seq > mc.context_length) fail("train.seq ", c.seq, " exceeds the model's context length ", mc.context_length);
  if (c.mode == "sft" && !train_shard.has_mask())
    fail(c.train_data, ": an SFT run needs a shard with a loss mask (`edgelm data tokenize --chat`)");
  for (const Shard* s : {&train_shard, valid_shard ? &*valid_shard : nullptr}) {
    if (s && (c.mode == "dpo") != s->is_pairs())
      fail(s->path(), c.mode == "dpo" ? ": a DPO run needs a shard of preference pairs (`edgelm data tokenize --pairs`)"
                                      : cat(": a shard of preference pairs is for mode \"dpo\", not \"", c.mode, "\""));
  }
  if (n_ranks > 1 && (c.mode == "dpo" || c.lora.enabled()))
    fail(c.mode == "dpo" ? "DPO" : "a [lora] run", " does not run data-parallel yet: start it as one process (without mpirun -np ", n_ranks, ")");
  // DPO's frozen reference: the model it starts from unless model.reference names another of the same shape.
  // A LoRA run's reference is its own frozen base, shared (no second copy).
  const bool reference_is_base = c.mode == "dpo" && c.lora.enabled() && c.reference_model.empty();
  std::optional<WeightsF32> reference_weights;
  if (c.mode == "dpo" && !reference_is_base) {
    const std::string& path = c.reference_model.empty() ? c.init_model : c.reference_model;
    reference_weights = load_weights_f32(GgufFile::open(path));
    if (reference_weights->config.summary() != mc.summary())
      fail("model.reference ", path, " (", reference_weights->config.summary(), ") has another shape than the model (",
           mc.summary(), ")");
  }

  const PackMode pack = pack_mode(c.mode);
  BatchLoader loader(train_shard, c.batch, c.seq, pack, c.seed);
  loader.set_rows(rank * rank_batch, (rank + 1) * rank_batch);
  loader.set_prompt_weight(float(c.prompt_weight));  // validation stays the answer's loss alone
  std::optional<BatchLoader> valid_loader;
  if (valid_shard) {
    valid_loader.emplace(*valid_shard, c.batch, c.seq, pack, c.seed, false);
    valid_loader->set_rows(rank * rank_batch, (rank + 1) * rank_batch);
  }

  std::unique_ptr<ThreadPool> own_pool;
  if (c.threads > 0) own_pool = std::make_unique<ThreadPool>(c.threads);
  ThreadPool& pool = own_pool ? *own_pool : default_thread_pool();

  // A LoRA base keeps no gradients, and by default its file's tensor types.
  std::unique_ptr<ParamSet> params_holder =
      c.lora.enabled() && c.lora.keep_base_type && !c.init_model.empty()
          ? ParamSet::frozen_packed(GgufFile::open(c.init_model))
          : std::make_unique<ParamSet>(std::move(weights), /*trainable=*/!c.lora.enabled());
  ParamSet& params = *params_holder;
  TransformerOptions model_options;
  model_options.bf16 = c.bf16;
  model_options.recompute = c.recompute;
  model_options.dropout = c.dropout;
  // A [lora] run trains only an adapter over the frozen model.init (training/lora.h).
  std::unique_ptr<LoraTrainer> lora;
  if (c.lora.enabled()) {
    lora = std::make_unique<LoraTrainer>(mc, c.lora, c.batch * c.seq, c.seed);
    model_options.lora = lora.get();
  }
  Transformer model(params, rank_batch, c.seq, pool, model_options);
  GradientAllReduce grad_sync(params, c.overlap_comm);
  // The reference model only runs forward: recomputation keeps its activations to one
  // layer's worth, and its forward values are the same bit for bit.
  std::unique_ptr<ParamSet> reference_params;
  std::unique_ptr<Transformer> reference;
  std::unique_ptr<DpoObjective> dpo;
  if (c.mode == "dpo") {
    if (reference_weights) reference_params = std::make_unique<ParamSet>(std::move(*reference_weights), /*trainable=*/false);
    TransformerOptions ref_options = model_options;
    ref_options.recompute = true;
    ref_options.lora = nullptr;  // the reference is the frozen model as it was, without the adapter being trained
    reference = std::make_unique<Transformer>(reference_is_base ? params : *reference_params, c.batch, c.seq, pool, ref_options);
    dpo = std::make_unique<DpoObjective>(model, *reference, c.dpo_beta, c.dpo_sft_weight);
  }

  namespace fs = std::filesystem;
  if (root) fs::create_directories(c.out_dir);
  // A LoRA run's checkpoint holds the adapter and its moments (the base never changes).
  const std::string ckpt_path = c.out_dir + (lora ? "/adapter-checkpoint.gguf" : "/checkpoint.gguf");
  const std::string metrics_path = c.out_dir + "/metrics.jsonl";
  // A run killed while writing (SIGKILL, the OOM killer) leaves only temporaries behind: the files it
  // had finished are whole, since every write is a rename. Clear the temporaries of dead processes.
  if (root)
    for (const char* name : {"checkpoint.gguf", "adapter-checkpoint.gguf", "model.gguf", "adapter.gguf", "metrics.jsonl",
                             "config.toml", "loss.svg"})
      remove_stale_temporaries(c.out_dir + "/" + name);
  TrainState state;
  std::vector<float> average;  // optim.ema's moving average of the weights, once it has begun
  if (options.resume && root) {
    if (!fs::exists(ckpt_path)) fail("--resume: no checkpoint at ", ckpt_path);
    state = lora ? load_lora_checkpoint(ckpt_path, *lora) : load_checkpoint(ckpt_path, params, &average);
    truncate_metrics(metrics_path, state.step);
  } else if (root) {
    std::error_code ec;
    fs::remove(metrics_path, ec);
  }
  // Every rank starts from rank 0's weights, moments and position (no shared file system needed).
  broadcast_train_state(params, state, average);
  loader.set_position(state.data);
  if (root) write_file_atomic(c.out_dir + "/config.toml", train_config_to_toml(c));
  for (const auto& [key, value] : options.model_metadata.entries()) tok_meta.set(key, value);

  // Earlier metrics feed the loss curve of a resumed run.
  std::vector<std::pair<int64_t, double>> train_curve, valid_curve;
  if (options.resume && root) {
    std::ifstream in(metrics_path);
    std::string line;
    while (std::getline(in, line)) {
      // A line that is not a metrics record (a half-written last line after a crash) is skipped.
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) continue;
      int64_t step = j["step"].get<int64_t>();
      if (j.contains("loss") && j["loss"].is_number()) train_curve.push_back({step, j["loss"].get<double>()});
      if (j.contains("valid_loss") && j["valid_loss"].is_number()) valid_curve.push_back({step, j["valid_loss"].get<double>()});
    }
  }
  std::FILE* metrics = root ? std::fopen(metrics_path.c_str(), "a") : nullptr;
  if (root && !metrics) fail("cannot write ", metrics_path);
  std::unique_ptr<std::FILE, int (*)(std::FILE*)> metrics_guard(metrics, std::fclose);
  auto write_metrics = [&](const nlohmann::json& record) {
    if (!metrics) return;
    std::fprintf(metrics, "%s\n", record.dump().c_str());
    std::fflush(metrics);
  };

  TrainResult result;
  result.n_params = lora ? lora->n_params() : mc.n_params();
  result.checkpoint_path = ckpt_path;
  std::unique_ptr<ProgressBar> bar;
  if (options.progress_bar && root) bar = std::make_unique<ProgressBar>(c.mode, c.steps, "steps");

  auto evaluate = [&](int64_t step) {
    if (!valid_loader || c.eval_batches == 0) return;
    valid_loader->set_position({});
    if (lora) lora->set_training(false);  // no dropout while evaluating
    const double vl = dpo ? mean_dpo_loss(*dpo, *valid_loader, c.eval_batches) : mean_loss(model, *valid_loader, c.eval_batches);
    if (lora) lora->set_training(true);
    if (vl < 0) return;
    result.valid_loss = vl;
    valid_curve.push_back({step, vl});
    write_metrics({{"step", step}, {"valid_loss", vl}});
    if (options.on_step) {
      TrainProgress p;
      p.step = step;
      p.total_steps = c.steps;
      p.loss = result.final_loss;
      p.valid_loss = vl;
      options.on_step(p);
    }
  };

  std::vector<Batch> micro(size_t(c.accum));
  const auto loop_start = Clock::now();
  const int64_t first_step = state.step;
  const int64_t tokens_per_step = c.batch * c.seq * c.accum;
  double smoothed = -1;
  while (state.step < c.steps) {
    for (auto& b : micro) loader.next(b);
    const float lr = learning_rate(c.optim, state.step, c.steps);
    // The step's loss, its gradients accumulated into params: DPO's, or the next-token loss over the
    // step's trained tokens (all micro-batches' count first, summed over the ranks, so accumulation
    // and data parallelism give one big batch's gradient).
    double loss = 0;
    DpoStats dpo_stats;
    if (dpo) {
      dpo_stats = dpo->accumulate(micro);
      loss = dpo_stats.mean_loss();
    } else {
      double n_weighted = 0, loss_sum = 0;
      for (const auto& b : micro) n_weighted += b.n_weighted();
      dist::allreduce_sum(&n_weighted, 1);  // the whole global batch's trained tokens
      if (n_weighted > 0) {
        for (size_t m = 0; m < micro.size(); ++m) {
          const Batch& b = micro[m];
          if (c.dropout > 0) model.set_dropout_key(dropout_key(c.seed, uint64_t(state.step), m), rank * rank_batch);
          model.forward(b);
          if (&b == &micro.back()) grad_sync.attach(model);  // only the last backward completes a block's gradients
          loss_sum += model.backward(b, float(1.0 / n_weighted));
        }
        grad_sync.detach(model);
      }
      grad_sync.finish();
      dist::allreduce_sum(&loss_sum, 1);
      loss = n_weighted > 0 ? loss_sum / n_weighted : 0;
    }
    const double grad_norm = lora ? lora_optimizer_step(*lora, c.optim, lr, state.step + 1, pool)
                                  : optimizer_step(params, c.optim, lr, state.step + 1, pool);
    state.step += 1;
    if (!lora && averages_weights_at(c.optim, state.step, c.steps)) update_weight_average(params, average, c.optim.ema);
    state.tokens_seen += tokens_per_step;
    state.data = loader.position();
    if (!std::isfinite(loss)) fail("the loss became ", loss, " at step ", state.step, " (try a lower optim.lr)");
    result.final_loss = loss;
    smoothed = smoothed < 0 ? loss : 0.9 * smoothed + 0.1 * loss;
    const double session_s = std::chrono::duration<double>(Clock::now() - loop_start).count();
    const double tps = double((state.step - first_step) * tokens_per_step) / std::max(1e-9, session_s);
    result.losses.push_back({state.step, loss});
    if (state.step % c.log_every == 0 || state.step == c.steps) {
      train_curve.push_back({state.step, loss});
      nlohmann::json record{{"step", state.step}, {"loss", loss}, {"lr", lr}, {"grad_norm", grad_norm},
                            {"tokens_per_s", tps}, {"elapsed_s", state.elapsed_seconds + session_s}};
      if (dpo) record["accuracy"] = dpo_stats.accuracy(), record["margin"] = dpo_stats.mean_margin();
      if (dpo && c.dpo_sft_weight > 0) record["chosen_nll"] = dpo_stats.mean_chosen_nll();
      if (n_ranks > 1) record["comm_wait_s"] = grad_sync.wait_seconds();  // this session, blocked on gradients
      write_metrics(record);
    }
    if (bar) bar->update(state.step, cat("loss ", fmt("%.4f", smoothed), " | ", fmt("%.0f", tps), " tok/s | lr ", fmt("%.2e", lr)));
    if (options.on_step) {
      TrainProgress p{state.step, c.steps, loss, lr, grad_norm, tps, state.elapsed_seconds + session_s, -1};
      options.on_step(p);
    }
    if (c.eval_every > 0 && state.step % c.eval_every == 0 && state.step < c.steps) {
      evaluate(state.step);
      if (root) write_loss_svg(c.out_dir + "/loss.svg", train_curve, valid_curve);
    }
    // Every rank stops at the same step when any was asked to (mpirun passes SIGINT to all, not at once).
    double stop_votes = options.stop && options.stop->load() ? 1 : 0;
    if (n_ranks > 1) dist::allreduce_sum(&stop_votes, 1);
    const bool stop = stop_votes > 0;
    if (stop || (c.checkpoint_every > 0 && state.step % c.checkpoint_every == 0 && state.step < c.steps)) {
      TrainState s = state;
      s.elapsed_seconds += session_s;
      if (lora) {
        save_lora_checkpoint(ckpt_path, *lora, s);  // LoRA runs are one process
      } else {
        check_replicas_identical(params, state.step);
        if (root) save_checkpoint(ckpt_path, params, s, &tok_meta, &average);
      }
    }
    if (stop) {
      result.interrupted = true;
      break;
    }
  }
  const double session_s = std::chrono::duration<double>(Clock::now() - loop_start).count();
  if (bar) bar->finish(cat("loss ", fmt("%.4f", smoothed)));
  if (!result.interrupted && lora) {
    evaluate(state.step);
    state.elapsed_seconds += session_s;
    save_lora_checkpoint(ckpt_path, *lora, state);
    result.model_path = c.out_dir + "/adapter.gguf";
    save_lora_adapter(result.model_path, lora->to_adapter("edgelm-lora-" + c.mode));
  } else if (!result.interrupted) {
    check_replicas_identical(params, state.step);
    state.elapsed_seconds += session_s;
    // The checkpoint keeps the last step's weights (a longer run resumes from them); the model
    // is the weights' average when optim.ema made one, and so is the final validation.
    if (root) save_checkpoint(ckpt_path, params, state, &tok_meta, &average);
    if (!average.empty()) load_weight_average(params, average);
    evaluate(state.step);
    result.model_path = options.model_path.empty() ? c.out_dir + "/model.gguf" : options.model_path;
    if (root) {
      const auto type = tensor_type_from_name(c.save_type);
      save_weights_gguf(result.model_path, params.weights(), *type, &tok_meta, "edgelm-" + c.mode);
    }
  }
  if (root) write_loss_svg(c.out_dir + "/loss.svg", train_curve, valid_curve);
  result.steps_done = state.step;
  result.tokens_seen = state.tokens_seen;
  result.seconds = std::chrono::duration<double>(Clock::now() - t_start).count();
  result.tokens_per_s = double((state.step - first_step) * tokens_per_step) / std::max(1e-9, session_s);
  result.n_ranks = n_ranks;
  result.comm_wait_seconds = grad_sync.wait_seconds();
  result.loop_seconds = session_s;
  return result;
}

}  // namespace edgelm::training
