// Writes the model files of the reference-logits fixtures. Not a check: it
// only runs when EDGELM_WRITE_MODEL_FIXTURES=1 (tools/make_model_fixtures.sh
// sets it, then computes the expected logits with tools/ref_logits.py).
#include <gtest/gtest.h>

#include <cstdlib>

#include "model/weights.h"
#include "model_test_util.h"

namespace edgelm {
namespace {

TEST(ModelFixtures, WriteWhenAsked) {
  const char* env = std::getenv("EDGELM_WRITE_MODEL_FIXTURES");
  if (!env || std::string(env) != "1") GTEST_SKIP() << "set EDGELM_WRITE_MODEL_FIXTURES=1 to rewrite the fixtures";
  const std::string dir = testing::fixture_dir();
  WeightsF32 gqa = testing::strong_random_weights(testing::fixture_config_gqa(), 11);
  save_weights_gguf(dir + "/tiny_gqa.gguf", gqa, TensorType::F32, nullptr, "edgelm-fixture-gqa");
  save_weights_gguf(dir + "/tiny_gqa_bf16.gguf", gqa, TensorType::BF16, nullptr, "edgelm-fixture-gqa-bf16");
  WeightsF32 window = testing::strong_random_weights(testing::fixture_config_window(), 12);
  save_weights_gguf(dir + "/tiny_window_untied.gguf", window, TensorType::F32, nullptr, "edgelm-fixture-window");
  save_weights_gguf(dir + "/tiny_window_untied_f16.gguf", window, TensorType::F16, nullptr, "edgelm-fixture-window-f16");
}

}  // namespace
}  // namespace edgelm
