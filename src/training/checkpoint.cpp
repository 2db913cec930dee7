#include "training/checkpoint.h"

#include <cstring>

#include "model/weights.h"
#include "platform/error.h"
#include "platform/gguf.h"

namespace edgelm::training {

void save_checkpoint(const std::string& path, const ParamSet& params, const TrainState& state,
                     const GgufMetadata* extra) {
  GgufWriter w;
  params.config().write_to(w.metadata());
  w.metadata().set("general.name", GgufValue::string("edgelm-checkpoint"));
  if (extra)
    for (const auto& [key, value] : extra->entries()) w.metadata().set(key, value);
  w.metadata().set("edgelm.train.step", GgufValue::u64(uint64_t(state.step)));
  w.metadata().set("edgelm.train.data_epoch", GgufValue::u64(state.data.epoch));
  w.metadata().set("edgelm.train.data_index", GgufValue::u64(state.data.index));
  w.metadata().set("edgelm.train.tokens_seen", GgufValue::u64(uint64_t(state.tokens_seen)));
  w.metadata().set("edgelm.train.elapsed_seconds", GgufValue::real(GgufType::FLOAT64, state.elapsed_seconds));
  for (const ParamTensor& t : params.tensors()) {
    const uint64_t bytes = uint64_t(t.n) * 4;
    w.add_tensor_view(t.spec->name, TensorType::F32, t.spec->ne, t.value, bytes);
    w.add_tensor_view("optimizer.m." + t.spec->name, TensorType::F32, t.spec->ne, t.m, bytes);
    w.add_tensor_view("optimizer.v." + t.spec->name, TensorType::F32, t.spec->ne, t.v, bytes);
  }
  w.write(path);
}

TrainState load_checkpoint(const std::string& path, ParamSet& params) {
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
  params.zero_grads();
  const GgufMetadata& m = f.metadata();
  TrainState s;
  s.step = m.at("edgelm.train.step").as_int("edgelm.train.step");
  s.data.epoch = uint64_t(m.at("edgelm.train.data_epoch").as_int("edgelm.train.data_epoch"));
  s.data.index = uint64_t(m.at("edgelm.train.data_index").as_int("edgelm.train.data_index"));
  s.tokens_seen = m.at("edgelm.train.tokens_seen").as_int("edgelm.train.tokens_seen");
  s.elapsed_seconds = m.at("edgelm.train.elapsed_seconds").as_float("edgelm.train.elapsed_seconds");
  return s;
}

}  // namespace edgelm::training
