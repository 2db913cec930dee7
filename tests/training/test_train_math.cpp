// The vectorised exp / SwiGLU of the f32 training path against double-precision math.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kernels/train_math.h"
#include "platform/random.h"

namespace edgelm {
namespace {

TEST(TrainMath, ExpShiftSumMatchesDouble) {
  for (Isa isa : isa_available()) {
    const TrainMath& math = *isa_pick(isa, train_math_for);
    std::vector<float> x;
    for (double v = -100; v <= 10; v += 0.0137) x.push_back(float(v));
    x.push_back(-std::numeric_limits<float>::infinity());
    x.push_back(-87.0f);
    const std::vector<float> in = x;
    const float shift = -1.5f;
    const float sum = math.exp_shift_sum(x.data(), int64_t(x.size()), shift);
    double ref_sum = 0;
    for (size_t i = 0; i < in.size(); ++i) {
      const double ref = std::exp(double(in[i] - shift));  // the subtraction rounds in f32, as in the code
      ref_sum += ref;
      if (double(in[i] - shift) < -87.3) {
        ASSERT_LE(x[i], 1e-37f) << in[i];  // flushed to 0 (or a denormal in the portable path)
        continue;
      }
      ASSERT_NEAR(x[i], ref, 3e-7 * ref) << "x=" << in[i] << " " << isa_name(isa);
    }
    EXPECT_NEAR(sum, ref_sum, 1e-5 * ref_sum);
  }
}

// A NaN logit makes the sum NaN on every path, as std::exp does: a diverging
// run must show in its loss whatever the CPU. Overflow gives inf.
TEST(TrainMath, ExpKeepsNanAndOverflows) {
  for (Isa isa : isa_available()) {
    const TrainMath& math = *isa_pick(isa, train_math_for);
    std::vector<float> x(37, 0.5f);
    x[20] = std::numeric_limits<float>::quiet_NaN();
    EXPECT_TRUE(std::isnan(math.exp_shift_sum(x.data(), int64_t(x.size()), 0.0f))) << isa_name(isa);
    EXPECT_TRUE(std::isnan(x[20]));
    std::vector<float> big(19, 1.0f);
    big[3] = 200.0f;
    EXPECT_TRUE(std::isinf(math.exp_shift_sum(big.data(), int64_t(big.size()), 0.0f)));
    EXPECT_TRUE(std::isinf(big[3]));
  }
}

TEST(TrainMath, SwigluMatchesDouble) {
  Rng rng(3);
  const int64_t n = 1000 + 13;  // a tail past the last whole vector
  std::vector<float> g(n), u(n), dh(n);
  for (int64_t i = 0; i < n; ++i) {
    g[i] = float(rng.normal() * 4);
    u[i] = float(rng.normal());
    dh[i] = float(rng.normal());
  }
  g[0] = 120.0f;  // saturated sigmoid on both sides
  g[1] = -120.0f;
  for (Isa isa : isa_available()) {
    const TrainMath& math = *isa_pick(isa, train_math_for);
    std::vector<float> h(n), dg(n), du(n);
    math.swiglu_forward(g.data(), u.data(), h.data(), n);
    math.swiglu_backward(dh.data(), g.data(), u.data(), dg.data(), du.data(), n);
    for (int64_t i = 0; i < n; ++i) {
      const double G = g[i], sig = 1 / (1 + std::exp(-G)), silu = G * sig;
      const double dsilu = sig * (1 + G * (1 - sig));
      ASSERT_NEAR(h[i], silu * u[i], 1e-6 * (std::fabs(silu * u[i]) + 1e-3)) << i << " " << isa_name(isa);
      ASSERT_NEAR(du[i], dh[i] * silu, 1e-6 * (std::fabs(dh[i] * silu) + 1e-3)) << i;
      ASSERT_NEAR(dg[i], dh[i] * u[i] * dsilu, 1e-6 * (std::fabs(dh[i] * u[i]) + 1e-3)) << i;
    }
  }
}

}  // namespace
}  // namespace edgelm
