#pragma once
// Direct preference optimisation (DPO, Rafailov et al. 2023) on batches of
// preference pairs (PackMode::Pairs). With pi and ref the summed
// log-probabilities of an answer's tokens given its prompt, under the model
// being trained and under a frozen reference model (the SFT model it starts
// from), each pair's loss is
//
//   loss = -log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))
//
// for its chosen (c) and rejected (r) answer, averaged over a step's pairs. With an
// SFT weight alpha > 0 each pair also adds alpha times the chosen answer's mean token
// nll (-pi_c / n_c over its n_c trained tokens; RPO, Pang et al. 2024): DPO alone can
// widen the gap by lowering both sides (a call list that ends too early or repeats a
// call), and the SFT term holds the chosen answer's own likelihood up. The
// gradient reaches the weights through the ordinary cross-entropy backward: pi
// is minus the sum of the answer tokens' nll, so d loss / d nll_t = -d loss / d pi
// for every answer token t of a side, and that is the weight the backward pass
// gives target t.
#include <cmath>
#include <cstdint>
#include <vector>

#include "training/transformer.h"

namespace edgelm::training {

// One pair's loss, written to stay finite for any margin, and its derivative by
// pi_c (the one by pi_r is its negative).
struct PairLoss {
  double loss = 0;
  double dloss_dpi_chosen = 0;
  double margin = 0;  // beta * ((pi_c - ref_c) - (pi_r - ref_r)): > 0 when the model prefers the chosen answer more than the reference does
};
inline PairLoss dpo_pair_loss(double pi_chosen, double ref_chosen, double pi_rejected, double ref_rejected, double beta) {
  const double z = beta * ((pi_chosen - ref_chosen) - (pi_rejected - ref_rejected));
  PairLoss p;
  p.margin = z;
  p.loss = std::max(-z, 0.0) + std::log1p(std::exp(-std::fabs(z)));  // softplus(-z) = -log sigmoid(z)
  p.dloss_dpi_chosen = -beta / (1.0 + std::exp(z));                  // -beta * sigmoid(-z)
  return p;
}

// Counts each side's trained targets (its answer's tokens), in the layout of pair_logprob_sums.
std::vector<double> pair_token_counts(const Batch& b);

// Sums each side's token log-probabilities: out[2q] is pair q's chosen answer, out[2q+1] its rejected one.
// token_logp: (B*T), 0 where the target is not trained (see target_logprob in ops.h).
template <class T>
std::vector<double> pair_logprob_sums(const Batch& b, const T* token_logp) {
  std::vector<double> out(size_t(2 * b.n_pairs), 0.0);
  for (size_t i = 0; i < b.pair_slot.size(); ++i)
    if (b.pair_slot[i] >= 0) out[size_t(b.pair_slot[i])] += double(token_logp[i]);
  return out;
}

// What a step (or an evaluation) measured, summed over its pairs.
struct DpoStats {
  double loss_sum = 0, margin_sum = 0;  // loss_sum: the objective, DPO's term and the SFT term
  double chosen_nll_sum = 0;             // each pair's chosen answer's mean token nll
  int64_t n_pairs = 0, n_preferred = 0;  // preferred: margin > 0
  double mean_loss() const { return n_pairs > 0 ? loss_sum / double(n_pairs) : 0; }
  double accuracy() const { return n_pairs > 0 ? double(n_preferred) / double(n_pairs) : 0; }
  double mean_margin() const { return n_pairs > 0 ? margin_sum / double(n_pairs) : 0; }
  double mean_chosen_nll() const { return n_pairs > 0 ? chosen_nll_sum / double(n_pairs) : 0; }
  void add(const PairLoss& p);
};

// Each pair's loss (added to stats) and, per side, d (scale * loss) / d nll_t of each of its
// trained targets t: the weight its tokens get in the backward pass (a target's own weight
// multiplies it). pi, ref: pair_logprob_sums of the trained and the reference model;
// sft_weight: alpha above, with counts (pair_token_counts) when it is > 0.
std::vector<double> dpo_side_weights(const std::vector<double>& pi, const std::vector<double>& ref, double beta,
                                     double scale, DpoStats& stats, double sft_weight = 0,
                                     const std::vector<double>& counts = {});

// The DPO objective over a trained model and its frozen reference (same batch shape).
class DpoObjective {
 public:
  DpoObjective(Transformer& model, Transformer& reference, double beta, double sft_weight = 0);

  // One optimiser step's micro-batches: the gradients of the mean loss over all
  // their pairs ACCUMULATE into the trained model's ParamSet.
  DpoStats accumulate(const std::vector<Batch>& micro);
  // The loss only (validation).
  DpoStats loss(const Batch& batch);

 private:
  // Forward, then each side's summed answer log-probability; the model's logits stay for backward.
  std::vector<double> side_logprobs(Transformer& model, const Batch& batch);

  Transformer& model_;
  Transformer& reference_;
  double beta_, sft_weight_;
  std::vector<float> token_logp_;
  Batch weighted_;  // the micro-batch with the DPO coefficients as target weights
};

}  // namespace edgelm::training
