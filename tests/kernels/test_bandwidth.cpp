// The read-bandwidth probe behind bench decode's bound: sizes round to whole
// groups, every ISA's loop gives a finite positive figure, bad passes are errors.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/bandwidth.h"
#include "platform/error.h"

namespace edgelm {
namespace {

TEST(Bandwidth, MeasuresAPositiveFigureOnWholeGroups) {
  ThreadPool pool(2);
  for (int64_t bytes : {int64_t(1), int64_t(3) << 20, (int64_t(3) << 20) + 5}) {
    ReadBandwidth r = measure_read_bandwidth(bytes, pool, 2);
    EXPECT_GE(r.bytes, std::max<int64_t>(bytes, int64_t(1) << 20));
    EXPECT_EQ(r.bytes % 256, 0);
    EXPECT_LT(r.bytes, std::max<int64_t>(bytes, int64_t(1) << 20) + 256);
    EXPECT_EQ(r.passes, 2);
    EXPECT_TRUE(std::isfinite(r.gb_per_s));
    EXPECT_GT(r.gb_per_s, 0.0);
  }
}

TEST(Bandwidth, RejectsNoPasses) {
  ThreadPool pool(1);
  EXPECT_THROW(measure_read_bandwidth(1 << 20, pool, 0), Error);
}

}  // namespace
}  // namespace edgelm
