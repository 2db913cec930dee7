#include "training/dpo.h"

#include "platform/error.h"

namespace edgelm::training {

void DpoStats::add(const PairLoss& p) {
  loss_sum += p.loss;
  margin_sum += p.margin;
  n_pairs += 1;
  n_preferred += p.margin > 0 ? 1 : 0;
}

std::vector<double> pair_token_counts(const Batch& b) {
  std::vector<double> out(size_t(2 * b.n_pairs), 0.0);
  for (size_t i = 0; i < b.pair_slot.size(); ++i)
    if (b.pair_slot[i] >= 0 && b.weights[i] != 0) out[size_t(b.pair_slot[i])] += 1;
  return out;
}

std::vector<double> dpo_side_weights(const std::vector<double>& pi, const std::vector<double>& ref, double beta,
                                     double scale, DpoStats& stats, double sft_weight,
                                     const std::vector<double>& counts) {
  if (sft_weight > 0 && counts.size() != pi.size())
    fail("dpo_side_weights: an SFT weight needs each side's token count (", counts.size(), " for ", pi.size(), " sides)");
  std::vector<double> w(pi.size());
  for (size_t q = 0; q + 1 < pi.size(); q += 2) {
    const PairLoss p = dpo_pair_loss(pi[q], ref[q], pi[q + 1], ref[q + 1], beta);
    stats.add(p);
    // pi = -sum of the side's nll: d loss / d nll_t = -d loss / d pi.
    w[q] = -scale * p.dloss_dpi_chosen;
    w[q + 1] = scale * p.dloss_dpi_chosen;
    if (sft_weight > 0 && counts[q] > 0) {
      const double chosen_nll = -pi[q] / counts[q];
      stats.chosen_nll_sum += chosen_nll;
      stats.loss_sum += sft_weight * chosen_nll;
      w[q] += scale * sft_weight / counts[q];
    }
  }
  return w;
}

DpoObjective::DpoObjective(Transformer& model, Transformer& reference, double beta, double sft_weight)
    : model_(model), reference_(reference), beta_(beta), sft_weight_(sft_weight) {}

std::vector<double> DpoObjective::side_logprobs(Transformer& model, const Batch& batch) {
  model.forward(batch);
  token_logp_.resize(batch.tokens.size());
  model.target_logprobs(batch, token_logp_.data());
  return pair_logprob_sums(batch, token_logp_.data());
}

DpoStats DpoObjective::accumulate(const std::vector<Batch>& micro) {
  // The mean is over the whole step's pairs, so accumulation gives the gradient of one big batch.
  int64_t n_pairs = 0;
  for (const Batch& b : micro) n_pairs += b.n_pairs;
  DpoStats stats;
  if (n_pairs == 0) return stats;
  for (const Batch& b : micro) {
    if (b.n_pairs == 0) continue;
    const std::vector<double> ref = side_logprobs(reference_, b);
    const std::vector<double> pi = side_logprobs(model_, b);  // last: its logits feed the backward pass
    const std::vector<double> side =
        dpo_side_weights(pi, ref, beta_, 1.0 / double(n_pairs), stats, sft_weight_, pair_token_counts(b));
    weighted_ = b;
    for (size_t i = 0; i < b.weights.size(); ++i)
      weighted_.weights[i] = b.pair_slot[i] >= 0 ? float(double(b.weights[i]) * side[size_t(b.pair_slot[i])]) : 0.0f;
    model_.backward(weighted_, 1.0f);
  }
  return stats;
}

DpoStats DpoObjective::loss(const Batch& b) {
  DpoStats stats;
  if (b.n_pairs == 0) return stats;
  const std::vector<double> ref = side_logprobs(reference_, b);
  const std::vector<double> pi = side_logprobs(model_, b);
  dpo_side_weights(pi, ref, beta_, 0.0, stats, sft_weight_, pair_token_counts(b));
  return stats;
}

}  // namespace edgelm::training
