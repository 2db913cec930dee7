// Golden test in llm.c's manner: the C++ trainer against tools/ref_train.py (PyTorch, double precision),
// from the same initial weights on the same packed, partly masked batch: logits, loss, every parameter
// gradient, and the losses of 10 AdamW steps.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "platform/atomic_file.h"
#include "training/optimizer.h"
#include "training/transformer.h"

namespace edgelm::training {
namespace {

struct Golden {
  nlohmann::json j;
  WeightsF32 weights;
  Batch batch;
};

Golden load_golden(const std::string& name) {
  Golden g;
  g.j = nlohmann::json::parse(read_file(std::string(EDGELM_TEST_DIR) + "/fixtures/training/" + name));
  const auto& c = g.j["config"];
  ModelConfig cfg;
  cfg.n_vocab = c["n_vocab"];
  cfg.dim = c["dim"];
  cfg.n_layers = c["n_layers"];
  cfg.n_heads = c["n_heads"];
  cfg.n_kv_heads = c["n_kv_heads"];
  cfg.head_dim = c["head_dim"];
  cfg.ffn_dim = c["ffn_dim"];
  cfg.context_length = c["context_length"];
  cfg.rope_theta = c["rope_theta"];
  cfg.norm_eps = c["norm_eps"];
  cfg.tied_embeddings = c["tied"];
  cfg.sliding_window = c["sliding_window"];
  g.weights = init_random_weights(cfg, 0);
  for (size_t i = 0; i < g.weights.specs.size(); ++i) {
    const auto& src = g.j["weights"].at(g.weights.specs[i].name);
    EXPECT_EQ(src.size(), g.weights.data[i].size()) << g.weights.specs[i].name;
    for (size_t k = 0; k < src.size(); ++k) g.weights.data[i][k] = src[k].get<float>();
  }
  const auto& b = g.j["batch"];
  g.batch.resize(b["B"], b["T"]);
  g.batch.tokens = b["tokens"].get<std::vector<int32_t>>();
  g.batch.targets = b["targets"].get<std::vector<int32_t>>();
  g.batch.first = b["first"].get<std::vector<int32_t>>();
  g.batch.weights = b["weights"].get<std::vector<float>>();
  return g;
}

// |a - b| <= tol * max|reference| over the tensor: float against double references.
void expect_close(const float* got, const nlohmann::json& want, double rel, const std::string& what) {
  double scale = 0;
  for (const auto& x : want) scale = std::max(scale, std::fabs(x.get<double>()));
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(got[i], want[i].get<double>(), rel * scale + 1e-7) << what << "[" << i << "]";
}

void check_golden(const std::string& name) {
  Golden g = load_golden(name);
  ThreadPool pool(2);
  ParamSet params(std::move(g.weights));
  Transformer model(params, g.batch.B, g.batch.T, pool);
  model.forward(g.batch);
  expect_close(model.logits().data(), g.j["logits"], 2e-5, "logits");
  const double n = g.batch.n_weighted();
  const double loss = model.backward(g.batch, float(1.0 / n)) / n;
  EXPECT_NEAR(loss, g.j["loss"].get<double>(), 1e-5);
  for (const ParamTensor& t : params.tensors()) expect_close(t.grad, g.j["grads"].at(t.spec->name), 1e-4, t.spec->name);

  params.zero_grads();
  OptimConfig o;
  const auto& oj = g.j["optim"];
  o.lr = oj["lr"];
  o.beta1 = oj["beta1"];
  o.beta2 = oj["beta2"];
  o.eps = oj["eps"];
  o.weight_decay = oj["weight_decay"];
  o.grad_clip = oj["grad_clip"];
  o.decay_embeddings = false;
  const auto& want = g.j["losses"];
  for (int step = 1; step <= 10; ++step) {
    model.forward(g.batch);
    const double step_loss = model.backward(g.batch, float(1.0 / n)) / n;
    optimizer_step(params, o, o.lr, step, pool);
    EXPECT_NEAR(step_loss, want[step - 1].get<double>(), 2e-3 * std::fabs(want[step - 1].get<double>()))
        << "AdamW step " << step;
  }
}

TEST(Golden, TiedSlidingWindowMatchesPyTorch) { check_golden("golden_tied.json"); }
TEST(Golden, UntiedMatchesPyTorch) { check_golden("golden_untied.json"); }

}  // namespace
}  // namespace edgelm::training
