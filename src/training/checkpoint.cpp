#include "training/checkpoint.h"

#include <cstring>

#include "model/weights.h"
#include "platform/error.h"
#include "platform/gguf.h"
#include "training/lora.h"

namespace edgelm::training {

namespace {

const char* const kDropoutStateKey = "edgelm.train.lora_dropout_state";
// The tensors of a LoRA checkpoint: the adapter's own names, then its two AdamW moments'.
const std::string kMomentPrefix[] = {"", "optimizer.m.", "optimizer.v."};

void write_state(GgufMetadata& m, const TrainState& state) {
  m.set("edgelm.train.step", GgufValue::u64(uint64_t(state.step)));
  m.set("edgelm.train.data_epoch", GgufValue::u64(state.data.epoch));
  m.set("edgelm.train.data_index", GgufValue::u64(state.data.index));
  m.set("edgelm.train.tokens_seen", GgufValue::u64(uint64_t(state.tokens_seen)));
  m.set("edgelm.train.elapsed_seconds", GgufValue::real(GgufType::FLOAT64, state.elapsed_seconds));
}

TrainState read_state(const GgufMetadata& m) {
  TrainState s;
  s.step = m.at("edgelm.train.step").as_int("edgelm.train.step");
  s.data.epoch = uint64_t(m.at("edgelm.train.data_epoch").as_int("edgelm.train.data_epoch"));
  s.data.index = uint64_t(m.at("edgelm.train.data_index").as_int("edgelm.train.data_index"));
  s.tokens_seen = m.at("edgelm.train.tokens_seen").as_int("edgelm.train.tokens_seen");
  s.elapsed_seconds = m.at("edgelm.train.elapsed_seconds").as_float("edgelm.train.elapsed_seconds");
  return s;
}

}  // namespace

void save_checkpoint(const std::string& path, const ParamSet& params, const TrainState& state,
                     const GgufMetadata* extra, const std::vector<float>* average) {
  if (average && !average->empty() && average->size() != size_t(params.n_params()))
    fail("save_checkpoint: a weight average of ", average->size(), " values for ", params.n_params(), " parameters");
  GgufWriter w;
  params.config().write_to(w.metadata());
  w.metadata().set("general.name", GgufValue::string("edgelm-checkpoint"));
  if (extra)
    for (const auto& [key, value] : extra->entries()) w.metadata().set(key, value);
  write_state(w.metadata(), state);
  for (const ParamTensor& t : params.tensors()) {
    const uint64_t bytes = uint64_t(t.n) * 4;
    w.add_tensor_view(t.spec->name, TensorType::F32, t.spec->ne, t.value, bytes);
    w.add_tensor_view("optimizer.m." + t.spec->name, TensorType::F32, t.spec->ne, t.m, bytes);
    w.add_tensor_view("optimizer.v." + t.spec->name, TensorType::F32, t.spec->ne, t.v, bytes);
    if (average && !average->empty())
      w.add_tensor_view("optimizer.ema." + t.spec->name, TensorType::F32, t.spec->ne, average->data() + t.offset, bytes);
  }
  w.write(path);
}

TrainState load_checkpoint(const std::string& path, ParamSet& params, std::vector<float>* average) {
  GgufFile f = GgufFile::open(path);
  const ModelConfig file_config = read_model_config(f);
  if (file_config.summary() != params.config().summary())
    fail(path, ": the checkpoint's model (", file_config.summary(), ") differs from this run's (", params.config().summary(), ")");
  auto copy = [&](const std::string& name, float* dst, int64_t n, const std::vector<int64_t>& ne) {
    const GgufTensor& t = f.tensor(name);
    if (t.type != TensorType::F32 || t.ne != ne) fail(path, ": tensor ", name, " has the wrong type or shape for this model");
    std::memcpy(dst, t.data, size_t(n) * 4);
  };
  for (ParamTensor& t : params.tensors()) {
    copy(t.spec->name, t.value, t.n, t.spec->ne);
    copy("optimizer.m." + t.spec->name, t.m, t.n, t.spec->ne);
    copy("optimizer.v." + t.spec->name, t.v, t.n, t.spec->ne);
  }
  if (average) {
    average->clear();
    if (!params.tensors().empty() && f.find_tensor("optimizer.ema." + params.tensors().front().spec->name)) {
      average->resize(size_t(params.n_params()));
      for (const ParamTensor& t : params.tensors())
        copy("optimizer.ema." + t.spec->name, average->data() + t.offset, t.n, t.spec->ne);
    }
  }
  params.zero_grads();
  return read_state(f.metadata());
}

void save_lora_checkpoint(const std::string& path, const LoraTrainer& lora, const TrainState& state) {
  GgufWriter w;
  w.metadata().set("general.architecture", GgufValue::string("llama"));
  w.metadata().set("general.type", GgufValue::string("adapter"));
  w.metadata().set("general.name", GgufValue::string("edgelm-lora-checkpoint"));
  w.metadata().set("adapter.type", GgufValue::string("lora"));
  w.metadata().set("adapter.lora.alpha", GgufValue::f32(lora.config().alpha));
  w.metadata().set(kDropoutStateKey, GgufValue::u64(lora.dropout_state()));
  write_state(w.metadata(), state);
  const std::vector<float>* buffers[] = {&lora.values(), &lora.moment1(), &lora.moment2()};
  for (const auto& m : lora.matrices()) {
    const std::string base = layer_tensor_name(m.layer, lora_target_tensor(m.target));
    for (int k = 0; k < 3; ++k) {
      const float* a = buffers[k]->data() + m.offset;
      w.add_tensor_view(kMomentPrefix[k] + base + ".lora_a", TensorType::F32, {m.in, m.rank}, a, uint64_t(m.rank * m.in) * 4);
      w.add_tensor_view(kMomentPrefix[k] + base + ".lora_b", TensorType::F32, {m.rank, m.out}, a + m.rank * m.in,
                        uint64_t(m.rank * m.out) * 4);
    }
  }
  w.write(path);
}

TrainState load_lora_checkpoint(const std::string& path, LoraTrainer& lora) {
  GgufFile f = GgufFile::open(path);
  const GgufMetadata& meta = f.metadata();
  if (!meta.contains("adapter.type") || meta.at("adapter.type").as_string("adapter.type") != "lora")
    fail(path, ": not a LoRA run's checkpoint (adapter.type is not \"lora\")");
  const double alpha = meta.at("adapter.lora.alpha").as_float("adapter.lora.alpha");
  if (float(alpha) != lora.config().alpha)
    fail(path, ": the checkpoint's lora.alpha is ", alpha, ", this run's ", lora.config().alpha);
  const auto matrices = lora.matrices();
  if (f.tensors().size() != matrices.size() * 6)
    fail(path, ": the checkpoint holds ", f.tensors().size(), " tensors, this run's adapter ", matrices.size() * 6,
         " (its matrices, rank or targets differ)");
  std::vector<float>* buffers[] = {&lora.values(), &lora.moment1(), &lora.moment2()};
  for (const auto& m : matrices) {
    const std::string base = layer_tensor_name(m.layer, lora_target_tensor(m.target));
    for (int k = 0; k < 3; ++k) {
      auto copy = [&](const std::string& name, const std::vector<int64_t>& ne, int64_t offset) {
        if (!f.find_tensor(name)) fail(path, ": no tensor ", name, " (the checkpoint's targets differ from this run's)");
        const GgufTensor& t = f.tensor(name);
        if (t.type != TensorType::F32 || t.ne != ne)
          fail(path, ": tensor ", name, " has the wrong type or shape for this run's rank ", m.rank);
        std::memcpy(buffers[k]->data() + offset, t.data, size_t(ne[0] * ne[1]) * 4);
      };
      copy(kMomentPrefix[k] + base + ".lora_a", {m.in, m.rank}, m.offset);
      copy(kMomentPrefix[k] + base + ".lora_b", {m.rank, m.out}, m.offset + m.rank * m.in);
    }
  }
  std::fill(lora.grads().begin(), lora.grads().end(), 0.0f);
  lora.set_dropout_state(uint64_t(meta.at(kDropoutStateKey).as_int(kDropoutStateKey)));
  return read_state(meta);
}

}  // namespace edgelm::training
