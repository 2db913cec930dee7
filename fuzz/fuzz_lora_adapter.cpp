// The LoRA adapter reader on arbitrary bytes: the GGUF container, then the
// adapter checks against a fixed tiny base (fuzz_models.h). An Error is fine;
// a crash is not. An adapter that loads must run in a session and merge.
#include "fuzz_models.h"
#include "fuzz_util.h"
#include "model/lora.h"
#include "model/model.h"
#include "model/session.h"
#include "platform/gguf.h"
#include "platform/thread_pool.h"

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  edgelm::set_default_threads(1);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return edgelm::fuzz::run_one("fuzz_lora_adapter", [&] {
    using namespace edgelm;
    static const WeightsF32 base = init_random_weights(fuzz::seed_model_config(), 1);
    static const std::shared_ptr<const Model> model = Model::from_weights(base);
    GgufFile file = GgufFile::parse(data, size, "fuzz-adapter.gguf");
    auto adapter = std::make_shared<const LoraAdapter>(lora_adapter_from_gguf(file, base.config));
    InferenceSession session(model, 4);
    session.set_adapter(adapter);
    const int32_t tokens[2] = {0, int32_t(base.config.n_vocab - 1)};
    session.eval(tokens);
    WeightsF32 merged = base;
    lora_merge(merged, *adapter);
  });
}
