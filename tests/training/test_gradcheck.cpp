// Finite-difference checks, in double precision on tiny shapes, of every op's backward in training/ops.h.
// Each check differentiates L = sum(out * R) for a fixed random R.
#include <gtest/gtest.h>

#include <functional>
#include <vector>

#include "platform/random.h"
#include "training/dpo.h"
#include "training/ops.h"

namespace edgelm::training {
namespace {

using Vec = std::vector<double>;

Vec random_vec(Rng& rng, size_t n, double scale = 1.0) {
  Vec v(n);
  for (auto& x : v) x = rng.normal() * scale;
  return v;
}

double weighted_sum(const Vec& out, const Vec& r) {
  double s = 0;
  for (size_t i = 0; i < out.size(); ++i) s += out[i] * r[i];
  return s;
}

// Compares analytic[i] with the central difference of loss() with respect to x[i].
void expect_gradient(Vec& x, const Vec& analytic, const std::function<double()>& loss, const char* what) {
  ASSERT_EQ(x.size(), analytic.size());
  const double h = 1e-6;
  for (size_t i = 0; i < x.size(); ++i) {
    const double saved = x[i];
    x[i] = saved + h;
    const double up = loss();
    x[i] = saved - h;
    const double down = loss();
    x[i] = saved;
    const double numeric = (up - down) / (2 * h);
    EXPECT_NEAR(analytic[i], numeric, 1e-6 * (1 + std::fabs(numeric))) << what << "[" << i << "]";
  }
}

TEST(GradCheck, RmsNorm) {
  Rng rng(1);
  const int64_t N = 3, C = 5;
  Vec x = random_vec(rng, N * C), g = random_vec(rng, C), r = random_vec(rng, N * C);
  auto loss = [&] {
    Vec y(N * C), rstd(N);
    rmsnorm_forward<double>(x.data(), g.data(), y.data(), rstd.data(), N, C, 1e-5);
    return weighted_sum(y, r);
  };
  Vec y(N * C), rstd(N), dx(N * C, 0.0), dg(C, 0.0);
  rmsnorm_forward<double>(x.data(), g.data(), y.data(), rstd.data(), N, C, 1e-5);
  rmsnorm_backward<double>(r.data(), x.data(), g.data(), rstd.data(), dx.data(), dg.data(), N, C);
  expect_gradient(x, dx, loss, "dx");
  expect_gradient(g, dg, loss, "dg");
}

TEST(GradCheck, Rope) {
  Rng rng(2);
  const int64_t N = 4, H = 2, D = 6;
  std::vector<int32_t> pos = {0, 1, 2, 7};
  Vec table(8 * D);
  rope_table<double>(table.data(), 8, D, 10000.0);
  Vec x = random_vec(rng, N * H * D), r = random_vec(rng, N * H * D);
  auto loss = [&] {
    Vec y = x;
    rope_apply<double>(y.data(), pos.data(), N, H, D, table.data(), 1.0);
    return weighted_sum(y, r);
  };
  Vec dx = r;
  rope_apply<double>(dx.data(), pos.data(), N, H, D, table.data(), -1.0);
  expect_gradient(x, dx, loss, "dx");
  // Position 0 is the identity; adjacent pairs rotate (x0, x1) -> (x0 c - x1 s, x0 s + x1 c).
  Vec y = x;
  rope_apply<double>(y.data(), pos.data(), N, H, D, table.data(), 1.0);
  for (int64_t i = 0; i < H * D; ++i) EXPECT_DOUBLE_EQ(y[i], x[i]);
  const double c = std::cos(1.0), s = std::sin(1.0);  // token 1, pair 0: theta_0 = 1
  EXPECT_NEAR(y[H * D + 0], x[H * D] * c - x[H * D + 1] * s, 1e-12);
  EXPECT_NEAR(y[H * D + 1], x[H * D] * s + x[H * D + 1] * c, 1e-12);
}

void check_attention(int64_t window) {
  Rng rng(3 + uint64_t(window));
  const AttentionShape a{2, 5, 4, 2, 4, window};
  const int64_t N = a.B * a.T, QD = a.H * a.D, KD = a.Hkv * a.D;
  // Row 0 packs two examples (positions 0-2 and 3-4); row 1 holds one.
  std::vector<int32_t> first = {0, 0, 0, 3, 3, 0, 0, 0, 0, 0};
  Vec q = random_vec(rng, N * QD), k = random_vec(rng, N * KD), v = random_vec(rng, N * KD), r = random_vec(rng, N * QD);
  auto loss = [&] {
    Vec P(a.B * a.H * a.T * a.T), y(N * QD);
    attention_forward<double>(a, q.data(), k.data(), v.data(), first.data(), P.data(), y.data());
    return weighted_sum(y, r);
  };
  Vec P(a.B * a.H * a.T * a.T), y(N * QD), dq(N * QD), dk(N * KD), dv(N * KD), scratch(a.T);
  attention_forward<double>(a, q.data(), k.data(), v.data(), first.data(), P.data(), y.data());
  attention_backward<double>(a, q.data(), k.data(), v.data(), first.data(), P.data(), r.data(), dq.data(), dk.data(),
                             dv.data(), scratch.data());
  expect_gradient(q, dq, loss, "dq");
  expect_gradient(k, dk, loss, "dk");
  expect_gradient(v, dv, loss, "dv");
  // Packing: the first token of the second example sees only itself, so its output is its own value.
  for (int64_t d = 0; d < a.D; ++d) EXPECT_NEAR(y[3 * QD + d], v[3 * KD + d], 1e-12);
}

TEST(GradCheck, AttentionCausalPacked) { check_attention(0); }
TEST(GradCheck, AttentionSlidingWindow) { check_attention(2); }

TEST(GradCheck, SwiGlu) {
  Rng rng(4);
  const int64_t n = 7;
  Vec gate = random_vec(rng, n, 2.0), up = random_vec(rng, n), r = random_vec(rng, n);
  auto loss = [&] {
    Vec h(n);
    swiglu_forward<double>(gate.data(), up.data(), h.data(), n);
    return weighted_sum(h, r);
  };
  Vec dgate(n), dup(n);
  swiglu_backward<double>(r.data(), gate.data(), up.data(), dgate.data(), dup.data(), n);
  expect_gradient(gate, dgate, loss, "dgate");
  expect_gradient(up, dup, loss, "dup");
}

TEST(GradCheck, CrossEntropyWithMask) {
  Rng rng(5);
  const int64_t N = 4, V = 6;
  std::vector<int32_t> target = {1, 5, 0, 2};
  Vec w = {1, 0, 1, 1};  // position 1 is masked out
  Vec logits = random_vec(rng, N * V, 3.0);
  auto loss = [&] {
    Vec l = logits, nll(N);
    return cross_entropy_forward_backward<double>(l.data(), target.data(), w.data(), nll.data(), N, V, 0.0);
  };
  Vec grad = logits, nll(N);
  const double total = cross_entropy_forward_backward<double>(grad.data(), target.data(), w.data(), nll.data(), N, V, 1.0);
  expect_gradient(logits, grad, loss, "dlogits");
  EXPECT_EQ(nll[1], 0.0);
  for (int64_t i = 0; i < V; ++i) EXPECT_EQ(grad[V + i], 0.0);
  EXPECT_NEAR(total, nll[0] + nll[2] + nll[3], 1e-12);
}

// The DPO loss of one pair against the logits, through the same pieces the trainer uses: target
// log-probabilities, per-side sums, the side weights, and the cross-entropy backward with them;
// alone and with the SFT term on the chosen answer (its mean token nll at weight alpha).
TEST(GradCheck, DpoLossThroughCrossEntropy) {
  for (const double alpha : {0.0, 0.8}) {
    SCOPED_TRACE(alpha);
    Rng rng(6);
    const int64_t N = 7, V = 5;
    Batch b;
    b.resize(1, N);
    b.targets = {1, 4, 0, 2, 3, 1, 0};
    b.weights = {0, 1, 1, 0, 1, 1, 0};  // prompts and padding untrained
    b.pair_slot = {0, 0, 0, 1, 1, 1, -1};
    b.n_pairs = 1;
    const Vec w(b.weights.begin(), b.weights.end());
    const std::vector<double> ref = {-2.5, -1.0};
    const double beta = 0.7;
    const std::vector<double> counts = pair_token_counts(b);
    ASSERT_EQ(counts, (std::vector<double>{2, 2}));
    Vec logits = random_vec(rng, N * V, 2.0);
    auto loss = [&] {
      Vec logp(N);
      target_logprob<double>(logits.data(), b.targets.data(), w.data(), logp.data(), N, V);
      const std::vector<double> pi = pair_logprob_sums(b, logp.data());
      return dpo_pair_loss(pi[0], ref[0], pi[1], ref[1], beta).loss + alpha * -pi[0] / counts[0];
    };
    Vec logp(N);
    target_logprob<double>(logits.data(), b.targets.data(), w.data(), logp.data(), N, V);
    DpoStats stats;
    const std::vector<double> side = dpo_side_weights(pair_logprob_sums(b, logp.data()), ref, beta, 1.0, stats, alpha, counts);
    EXPECT_NEAR(stats.loss_sum, loss(), 1e-12);
    Vec wd(N, 0.0), grad = logits, nll(N);
    for (int64_t i = 0; i < N; ++i)
      if (b.pair_slot[i] >= 0) wd[i] = w[i] * side[size_t(b.pair_slot[i])];
    cross_entropy_forward_backward<double>(grad.data(), b.targets.data(), wd.data(), nll.data(), N, V, 1.0);
    expect_gradient(logits, grad, loss, "dlogits");
  }
  DpoStats stats;
  EXPECT_THROW(dpo_side_weights({-1, -2}, {-1, -2}, 0.1, 1.0, stats, 0.5), Error);  // an SFT term needs the counts
}

}  // namespace
}  // namespace edgelm::training
