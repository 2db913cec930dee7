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

// Regions of alternating sizes in quick succession, as a decode step issues
// them (a 2-chunk attention region, then an 8-chunk product, ...). Each chunk
// must run exactly once, and only while its region's call is in progress: a
// worker that arrives late on a finished region must neither run a chunk of the
// next one twice (which also ended that region's call early) nor run anything
// after its call returned. The race this guards against needs a worker to be
// late by a few instructions, so the test runs many regions; it caught the
// fault within a second before the fix.
TEST(ThreadPool, LateWorkersNeverRunAChunkTwiceOrAfterItsRegion) {
  ThreadPool pool(2);
  std::atomic<int64_t> open_region{-1};
  std::atomic<int64_t> stray{0};
  std::vector<std::atomic<int>> runs(9);
  for (int64_t region = 0; region < 400000; ++region) {
    const int64_t n = region % 3 == 0 ? 2 : region % 3 == 1 ? 9 : 3;
    for (int64_t i = 0; i < n; ++i) runs[size_t(i)].store(0, std::memory_order_relaxed);
    open_region.store(region, std::memory_order_release);
    pool.run_chunks(n, [&, region](int i) {
      if (open_region.load(std::memory_order_acquire) != region) stray.fetch_add(1);
      runs[size_t(i)].fetch_add(1, std::memory_order_relaxed);
    });
    open_region.store(-1, std::memory_order_release);
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(runs[size_t(i)].load(), 1) << "region " << region << " chunk " << i;
  }
  EXPECT_EQ(stray.load(), 0);
}

TEST(ThreadPool, RunChunksCoversMoreChunksThanThreads) {
  ThreadPool pool(2);
  std::vector<std::atomic<int>> calls(37);
  pool.run_chunks(37, [&](int i) { calls[size_t(i)].fetch_add(1); });
  for (auto& c : calls) EXPECT_EQ(c.load(), 1);
}

}  // namespace
}  // namespace edgelm
