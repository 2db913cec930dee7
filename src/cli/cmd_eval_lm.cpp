// edgelm eval-lm --model M --text FILE [--reference REF.gguf] [--ctx N]
//
// Language-model quality of a (quantised) model on a text: perplexity, and
// against a reference model (usually the full-precision original) the mean
// KL divergence KL(P_ref || P_model) per token and how often both models
// rank the same token first. The text is split into consecutive windows of
// --ctx tokens, each evaluated from an empty KV cache; every token after the
// first of a window is scored.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <memory>
#include <sstream>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/command.h"
#include "model/model.h"
#include "model/session.h"
#include "platform/error.h"
#include "tokenizer/tokenizer.h"

namespace edgelm::cli {
namespace cmd_eval_lm {

struct EvalLmArgs {
  std::string model, text, reference;
  int64_t ctx = 256, max_tokens = 0;
};

// log-softmax of one row of logits, in double for a stable KL divergence.
void log_softmax(const float* logits, int64_t n, std::vector<double>& out) {
  out.resize(size_t(n));
  double max = *std::max_element(logits, logits + n);
  double sum = 0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(double(logits[i]) - max);
  double log_z = max + std::log(sum);
  for (int64_t i = 0; i < n; ++i) out[size_t(i)] = double(logits[i]) - log_z;
}

int64_t argmax(const float* v, int64_t n) { return std::max_element(v, v + n) - v; }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open text file ", path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void run(const EvalLmArgs& a) {
  auto model = Model::load(a.model);
  if (!model->tokenizer()) fail(a.model, " carries no tokenizer (tokenizer.ggml.* keys); eval-lm needs one to read text");
  std::shared_ptr<const Model> ref;
  if (!a.reference.empty()) {
    ref = Model::load(a.reference);
    if (ref->config().n_vocab != model->config().n_vocab)
      fail("the reference ", a.reference, " has a vocabulary of ", ref->config().n_vocab, ", the model ",
           model->config().n_vocab, ": the distributions cannot be compared");
  }
  const int64_t ctx = std::min<int64_t>(a.ctx, model->config().context_length);
  if (ctx < 2) fail("--ctx must be at least 2 (got ", a.ctx, ")");
  std::vector<int32_t> tokens = model->tokenizer()->encode(read_file(a.text));
  if (a.max_tokens > 0 && int64_t(tokens.size()) > a.max_tokens) tokens.resize(size_t(a.max_tokens));
  if (tokens.size() < 2) fail(a.text, " has fewer than 2 tokens");

  InferenceSession session(model, ctx);
  std::unique_ptr<InferenceSession> ref_session;
  if (ref) ref_session = std::make_unique<InferenceSession>(ref, ctx);
  const int64_t V = model->config().n_vocab;

  double nll = 0, ref_nll = 0, kl = 0, kl_max = 0;
  int64_t n_scored = 0, n_agree = 0;
  std::vector<double> lp, ref_lp;
  for (size_t start = 0; start + 1 < tokens.size(); start += size_t(ctx)) {
    size_t n = std::min(tokens.size() - start, size_t(ctx));
    if (n < 2) break;
    std::span<const int32_t> window(tokens.data() + start, n);
    session.truncate(0);
    std::span<const float> logits = session.eval(window, true);
    std::span<const float> ref_logits;
    if (ref_session) {
      ref_session->truncate(0);
      ref_logits = ref_session->eval(window, true);
    }
    for (size_t i = 0; i + 1 < n; ++i) {  // logits of token i predict token i + 1
      const float* row = logits.data() + i * size_t(V);
      log_softmax(row, V, lp);
      nll -= lp[size_t(window[i + 1])];
      if (ref_session) {
        const float* ref_row = ref_logits.data() + i * size_t(V);
        log_softmax(ref_row, V, ref_lp);
        ref_nll -= ref_lp[size_t(window[i + 1])];
        double d = 0;
        for (int64_t v = 0; v < V; ++v) d += std::exp(ref_lp[size_t(v)]) * (ref_lp[size_t(v)] - lp[size_t(v)]);
        kl += d;
        kl_max = std::max(kl_max, d);
        n_agree += argmax(row, V) == argmax(ref_row, V);
      }
      ++n_scored;
    }
  }
  double ppl = std::exp(nll / double(n_scored));
  std::printf("model %s: %lld tokens scored in windows of %lld\n", a.model.c_str(), (long long)n_scored, (long long)ctx);
  std::printf("perplexity: %.4f\n", ppl);
  nlohmann::json j = {{"model", a.model}, {"text", a.text}, {"ctx", ctx}, {"tokens_scored", n_scored}, {"perplexity", ppl}};
  if (ref_session) {
    double ref_ppl = std::exp(ref_nll / double(n_scored));
    std::printf("reference %s perplexity: %.4f (model/reference %.4f)\n", a.reference.c_str(), ref_ppl, ppl / ref_ppl);
    std::printf("mean KL(reference || model): %.6f nats (max %.6f)\n", kl / double(n_scored), kl_max);
    std::printf("top-1 agreement: %.2f%%\n", 100.0 * double(n_agree) / double(n_scored));
    j["reference"] = a.reference;
    j["reference_perplexity"] = ref_ppl;
    j["mean_kl"] = kl / double(n_scored);
    j["max_kl"] = kl_max;
    j["top1_agreement"] = double(n_agree) / double(n_scored);
  }
  std::printf("%s\n", j.dump().c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<EvalLmArgs>();
  CLI::App* cmd = app.add_subcommand("eval-lm", "Perplexity of a model on a text; KL divergence and top-1 agreement "
                                                "against a reference model");
  cmd->add_option("--model", a->model, "GGUF model to evaluate (with a tokenizer)")->required();
  cmd->add_option("--text", a->text, "UTF-8 text file")->required();
  cmd->add_option("--reference", a->reference, "reference GGUF model (same vocabulary), e.g. the f32 original");
  cmd->add_option("--ctx", a->ctx, "tokens per window")->capture_default_str();
  cmd->add_option("--max-tokens", a->max_tokens, "score at most this many tokens of the text (0: all)")
      ->capture_default_str();
  cmd->callback([a] { run(*a); });
}

CommandRegistration reg(setup);

}  // namespace cmd_eval_lm
}  // namespace edgelm::cli
