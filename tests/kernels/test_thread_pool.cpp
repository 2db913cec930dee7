// The thread pool: every chunk runs exactly once, ranges tile [0, n) on grain
// boundaries, and many small regions in a row (as decoding issues) stay correct.
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
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

// parallel_for's cut: chunks tile the units in order, never grow along the
// range, and end small, so that threads finishing a region wait for little.
TEST(ThreadPool, ChunksShrinkTowardsTheEnd) {
  for (int threads : {2, 3, 8}) {
    for (int64_t units : {1, 2, 3, 5, 8, 16, 17, 100, 1000, 123457}) {
      const ThreadPool::ChunkCut cut = ThreadPool::chunk_cut(units, threads);
      ASSERT_GE(cut.n_chunks, 1);
      EXPECT_EQ(ThreadPool::chunk_start(cut, units, 0), 0);
      EXPECT_EQ(ThreadPool::chunk_start(cut, units, cut.n_chunks), units) << threads << " threads, " << units << " units";
      int64_t previous = units + 1, smallest = units;
      for (int64_t i = 0; i < cut.n_chunks; ++i) {
        const int64_t size = ThreadPool::chunk_start(cut, units, i + 1) - ThreadPool::chunk_start(cut, units, i);
        EXPECT_GE(size, 0);
        // Exact halving rounds to whole units, so a chunk may exceed its predecessor by one.
        EXPECT_LE(size, previous + 1) << threads << " threads, " << units << " units, chunk " << i;
        previous = size;
        smallest = std::min(smallest, size);
      }
      // With enough units the last chunks are at most 1/8 of a thread's share.
      if (units >= 16 * threads) {
        EXPECT_LE(smallest, units / (8 * threads) + 1) << threads << " threads, " << units;
      }
    }
  }
  // Two threads, 3 levels: 1/4, 1/4, 1/8, 1/8, 1/16 x 4.
  const ThreadPool::ChunkCut cut = ThreadPool::chunk_cut(1600, 2);
  ASSERT_EQ(cut.n_chunks, 8);
  const int64_t expected[] = {0, 400, 800, 1000, 1200, 1300, 1400, 1500, 1600};
  for (int i = 0; i <= 8; ++i) EXPECT_EQ(ThreadPool::chunk_start(cut, 1600, i), expected[i]) << i;
}

// parallel_for_even: one chunk per thread at most, boundaries on the grain,
// every index covered once.
TEST(ThreadPool, EvenSplitGivesOneChunkPerThreadOnTheGrain) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t n : {1, 7, 8, 9, 64, 100, 1536}) {
      std::mutex m;
      std::vector<std::pair<int64_t, int64_t>> chunks;
      std::vector<int> covered(size_t(n), 0);
      pool.parallel_for_even(n, [&](int64_t begin, int64_t end) {
        std::lock_guard<std::mutex> lock(m);
        chunks.emplace_back(begin, end);
        for (int64_t i = begin; i < end; ++i) ++covered[size_t(i)];
      }, 8);
      EXPECT_LE(int64_t(chunks.size()), threads) << threads << " threads, n " << n;
      for (auto [begin, end] : chunks) EXPECT_EQ(begin % 8, 0) << threads << " threads, n " << n;
      for (int64_t i = 0; i < n; ++i) ASSERT_EQ(covered[size_t(i)], 1) << threads << " threads, n " << n << ", index " << i;
    }
  }
}

}  // namespace
}  // namespace edgelm
