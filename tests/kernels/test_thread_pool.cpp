// The thread pool: every chunk runs exactly once, ranges tile [0, n) on grain
// boundaries, and many small regions in a row (as decoding issues) stay correct.
#include <gtest/gtest.h>

#include <atomic>
#include <vector>

#include "platform/thread_pool.h"

namespace edgelm {
namespace {

TEST(ThreadPool, RunCallsEachIndexOnce) {
  for (int n : {1, 2, 3, 5}) {
    ThreadPool pool(n);
    std::vector<std::atomic<int>> calls(static_cast<size_t>(n));
    pool.run([&](int i) { calls[size_t(i)].fetch_add(1); });
    for (auto& c : calls) EXPECT_EQ(c.load(), 1);
  }
}

TEST(ThreadPool, ParallelForTilesTheRangeOnGrainBoundaries) {
  ThreadPool pool(3);
  for (int64_t n : {1, 7, 32, 100, 1000, 4099}) {
    for (int64_t grain : {1, 4, 32}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
      std::atomic<bool> misaligned{false};
      pool.parallel_for(
          n,
          [&](int64_t begin, int64_t end) {
            if (begin % grain != 0 || (end % grain != 0 && end != n) || begin >= end) misaligned = true;
            for (int64_t i = begin; i < end; ++i) hits[size_t(i)].fetch_add(1);
          },
          grain);
      EXPECT_FALSE(misaligned.load()) << "n " << n << " grain " << grain;
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[size_t(i)].load(), 1) << "n " << n << " i " << i;
    }
  }
}

TEST(ThreadPool, ManySmallRegionsInARow) {
  ThreadPool pool(2);
  std::vector<int64_t> data(64);
  int64_t expected = 0;
  for (int round = 0; round < 20000; ++round) {
    pool.parallel_for(int64_t(data.size()), [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) data[size_t(i)] += i;
    });
    expected += 63 * 64 / 2;
  }
  int64_t total = 0;
  for (int64_t v : data) total += v;
  EXPECT_EQ(total, expected);
}

TEST(ThreadPool, RunChunksCoversMoreChunksThanThreads) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> calls(37);
  pool.run_chunks(37, [&](int i) { calls[size_t(i)].fetch_add(1); });
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
}

}  // namespace
}  // namespace edgelm
