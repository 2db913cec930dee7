// One probe, one override: every kernel family runs the column isa_active()
// names (or the nearest one below it for which the family has kernels), so
// EDGELM_ISA=scalar puts everything on the scalar references.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "kernels/gemm.h"
#include "kernels/gemm_bf16.h"
#include "kernels/kernels.h"
#include "kernels/train_math.h"
#include "platform/cpu_features.h"
#include "quant/kernels.h"

namespace edgelm {
namespace {

TEST(Dispatch, AvailableColumnsStartWithScalarAndEndWithTheActiveOne) {
  const std::vector<Isa> available = isa_available();
  ASSERT_FALSE(available.empty());
  EXPECT_EQ(available.front(), Isa::Scalar);
  EXPECT_EQ(available.back(), isa_active());
  for (Isa isa : available) EXPECT_TRUE(isa_supported(isa)) << isa_name(isa);
}

TEST(Dispatch, EveryFamilyRunsTheActiveColumnOrTheOneBelow) {
  const Isa active = isa_active();
  EXPECT_EQ(kernels().isa, isa_pick(active, kernels_for)->isa);
  EXPECT_EQ(&quant::active_kernels(), isa_pick(active, quant::kernels_for));
  EXPECT_EQ(train_math().isa, isa_pick(active, train_math_for)->isa);
  for (Isa isa : {kernels().isa, gemm_f32_isa(), gemm_bf16_isa(), train_math().isa})
    EXPECT_LE(int(isa), int(active)) << isa_name(isa) << " above the active " << isa_name(active);
  // The float kernels have a table in every column, the f32 GEMM in every x86 one
  // (on aarch64 training's GEMM stays on the scalar column).
  EXPECT_EQ(kernels().isa, active);
  if (active != Isa::Neon) {
    EXPECT_EQ(gemm_f32_isa(), active);
  }
}

// NEON's quantised products come in two versions inside the one column: SDOT
// where the CPU has it, the widening multiplies elsewhere.
TEST(Dispatch, NeonQuantisedProductsFollowTheDotProductFeature) {
  if (!isa_supported(Isa::Neon)) GTEST_SKIP() << "no NEON column in this build or CPU";
  const std::vector<const quant::IsaKernels*> versions = quant::kernel_versions_for(Isa::Neon);
  ASSERT_FALSE(versions.empty());
  EXPECT_STREQ(versions.front()->name, cpu_features().neon_dotprod ? "neon_dotprod" : "neon");
  EXPECT_STREQ(versions.back()->name, "neon");
  if (isa_active() == Isa::Neon) {
    EXPECT_EQ(&quant::active_kernels(), versions.front());
  }
}

// The override's promise, checked when the suite runs under it (ctest's isa_scalar_* tests).
TEST(Dispatch, ScalarOverrideReachesEveryFamily) {
  const char* env = std::getenv("EDGELM_ISA");
  if (!env || std::string(env) != "scalar") GTEST_SKIP() << "run with EDGELM_ISA=scalar";
  EXPECT_EQ(isa_active(), Isa::Scalar);
  EXPECT_EQ(kernels().isa, Isa::Scalar);
  EXPECT_EQ(std::string(quant::active_kernels().name), "scalar");
  EXPECT_EQ(gemm_f32_isa(), Isa::Scalar);
  EXPECT_EQ(gemm_bf16_isa(), Isa::Scalar);
  EXPECT_EQ(train_math().isa, Isa::Scalar);
}

TEST(Dispatch, ColumnNamesRoundTrip) {
  for (Isa isa : kIsaColumns) EXPECT_STRNE(isa_name(isa), "?");
  EXPECT_EQ(isa_below(Isa::Scalar), Isa::Scalar);
  for (Isa isa : kIsaColumns) EXPECT_LE(int(isa_below(isa)), int(isa));
}

}  // namespace
}  // namespace edgelm
