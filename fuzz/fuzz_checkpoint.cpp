// Training checkpoints (model + AdamW moments + loop state, and optim.ema's weight average) on
// arbitrary bytes, restored into the parameters of the seeds' tiny model
// (fuzz_models.h); and the same bytes as a [lora] run's checkpoint (adapter +
// moments + loop state), restored into a rank-2 adapter of that model. The
// readers take a path: each input is written to this process's scratch folder
// first. An Error is fine; any other exception or a crash is a bug.
#include "fuzz_models.h"
#include "fuzz_util.h"
#include "model/weights.h"
#include "training/checkpoint.h"
#include "training/lora.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  static training::ParamSet params(init_random_weights(fuzz::seed_model_config(), 1));
  static const std::string path = (fuzz::scratch_dir() / "state.gguf").string();
  fuzz::write_bytes(path, fuzz::as_text(data, size));
  static training::LoraTrainer lora(fuzz::seed_model_config(), fuzz::seed_lora_config(), 4, 1);
  static std::vector<float> average;  // a checkpoint's moving average of the weights, when it holds one
  fuzz::run_one("fuzz_checkpoint", [&] { training::load_checkpoint(path, params, &average); });
  return fuzz::run_one("fuzz_checkpoint", [&] { training::load_lora_checkpoint(path, lora); });
}
