// Golden test in llm.c's manner: the C++ trainer against tools/ref_train.py (PyTorch, double precision),
// from the same initial weights on the same packed, partly masked batch: logits, loss, every parameter
// gradient, and the losses of 10 AdamW steps.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <string>

#include "golden_util.h"
#include "training/optimizer.h"
#include "training/transformer.h"

namespace edgelm::training {
namespace {

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
  const OptimConfig o = golden_optim(g.j["optim"]);
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
