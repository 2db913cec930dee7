// The whole GGUF model loader on arbitrary bytes: the container (GgufFile), the
// model config, every weight tensor (as inference maps it, as training's f32
// copy reads it, and as a LoRA run's frozen base reads it in place) and the
// tokenizer when the file has one. An Error is fine; any other exception or a
// crash is a bug. A model that loads must run one forward pass, for inference
// and for training over the base in place.
#include "fuzz_util.h"
#include "model/model.h"
#include "model/session.h"
#include "model/weights.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"
#include "tokenizer/tokenizer.h"
#include "training/params.h"
#include "training/transformer.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  edgelm::set_default_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return edgelm::fuzz::run_one("fuzz_gguf_model", [&] {
    using namespace edgelm;
    GgufFile file = GgufFile::parse(data, size, "fuzz.gguf");
    // Training's path (an init model read as f32) on the same file.
    const ModelConfig config = read_model_config(file);
    WeightsF32 weights = load_weights_f32(file);
    {
      auto base = training::ParamSet::frozen_packed(file);
      training::Transformer transformer(*base, 1, 2, default_thread_pool());
      training::Batch batch;
      batch.resize(1, 2);
      batch.tokens = {0, int32_t(config.n_vocab - 1)};
      transformer.forward(batch);
    }
    auto model = Model::load(std::move(file));
    if (model->tokenizer()) model->tokenizer()->decode(model->tokenizer()->encode("turn it on"));
    // A short context: the KV cache is sized by it, not by the file's context_length.
    InferenceSession session(model, 4);
    const int32_t tokens[2] = {0, int32_t(config.n_vocab - 1)};
    session.eval(tokens);
    (void)weights;
  });
}
