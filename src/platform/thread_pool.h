#pragma once
// A pool of persistent worker threads for data-parallel kernels.
//
// Decoding a small model runs hundreds of tiny parallel regions per token, so
// the pool is built for low latency: a region is a plain function pointer +
// context (no allocation), workers spin briefly on a generation counter before
// they sleep (a futex), and the caller takes part.
//
// The machine is usually shared, so a region never waits for a thread to
// *start*: the work is cut into numbered chunks that every thread (the caller
// included) claims from one atomic counter. A worker the OS has not scheduled
// yet simply finds nothing left to claim; the region only waits for chunks
// already being computed. Which chunk runs on which thread varies, but the cut
// itself depends only on the sizes, so results are reproducible.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
#include <utility>
#include <vector>

namespace edgelm {

class ThreadPool {
 public:
  // n_threads counts the calling thread; 0 means hardware_concurrency().
  explicit ThreadPool(int n_threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs f(i) once for each i in [0, size()) and returns when all are done; the
  // calls are spread over the pool's threads (one thread may run several).
  // f must not throw.
  template <class F>
  void run(F&& f) {
    run_chunks(n_threads_, std::forward<F>(f));
  }

  // Runs f(i) once for each i in [0, n_chunks), spread over the threads. f must not throw.
  template <class F>
  void run_chunks(int64_t n_chunks, F&& f) {
    if (n_chunks <= 0) return;
    if (n_chunks > kMaxChunks) n_chunks_too_many(n_chunks);
    if (n_threads_ == 1 || n_chunks == 1) {
      for (int64_t i = 0; i < n_chunks; ++i) f(int(i));
      return;
    }
    auto trampoline = [](void* ctx, int64_t i) { (*static_cast<std::remove_reference_t<F>*>(ctx))(int(i)); };
    dispatch(trampoline, static_cast<void*>(&f), n_chunks);
  }

  // Splits [0, n) into contiguous chunks that every thread claims in order;
  // f(begin, end) runs once per non-empty chunk. The chunks shrink towards the
  // end (see chunk_cut), so that when the work runs out the threads finish
  // within a small chunk of each other, and a thread that starts late still
  // finds work. grain rounds chunk boundaries to a multiple (e.g. a SIMD width
  // or a block). f must not throw.
  template <class F>
  void parallel_for(int64_t n, F&& f, int64_t grain = 1) {
    if (n <= 0) return;
    grain = std::max<int64_t>(grain, 1);
    const int64_t n_units = (n + grain - 1) / grain;
    const ChunkCut cut = chunk_cut(n_units, n_threads_);
    if (n_threads_ == 1 || cut.n_chunks <= 1) {
      f(int64_t(0), n);
      return;
    }
    run_chunks(cut.n_chunks, [&](int i) {
      const int64_t begin = std::min(n, chunk_start(cut, n_units, i) * grain);
      const int64_t end = std::min(n, chunk_start(cut, n_units, i + 1) * grain);
      if (begin < end) f(begin, end);
    });
  }

  // Like parallel_for, but one equal chunk per thread, with boundaries on
  // multiples of grain: for regions of uniform, compute-bound work (quantised
  // products), where every extra chunk costs a claim (a cache line moving
  // between cores) and, in a prompt, another expansion of the activations,
  // more than the imbalance smaller chunks would even out. Measured against
  // the shrinking chunks, interleaved: q4_0/q5_0/q8_0 decode +4-47% (11 of 12
  // pairs), prompts +4-22% (16 of 18; S1 q4_0 -1-3% in two).
  template <class F>
  void parallel_for_even(int64_t n, F&& f, int64_t grain = 1) {
    grain = std::max<int64_t>(grain, 1);
    const int64_t per_thread = (n + n_threads_ - 1) / n_threads_;
    parallel_for(n, std::forward<F>(f), std::max<int64_t>(grain, (per_thread + grain - 1) / grain * grain));
  }

  // How parallel_for cuts n_units units for p threads: `levels` rounds in which
  // each thread's chunk is half the previous round's (the first round covers
  // half the range), then a last round of p chunks as small as the
  // second-to-last. With p = 2 and 3 levels: 1/4, 1/4, 1/8, 1/8, then four of
  // 1/16. The cut depends only on the sizes, so results are reproducible.
  struct ChunkCut {
    int levels = 0;
    int64_t n_chunks = 0;
    int threads = 1;
  };
  static ChunkCut chunk_cut(int64_t n_units, int threads) {
    ChunkCut cut;
    cut.threads = threads;
    // The smallest chunk, n_units / (threads * 2^levels), stays at least one unit.
    while (cut.levels < kMaxLevels && (int64_t(threads) << (cut.levels + 1)) <= n_units) ++cut.levels;
    // With levels > 0 there are at least 2 * threads units; with none, at most one chunk per unit.
    cut.n_chunks = std::min<int64_t>(n_units, int64_t(threads) * (cut.levels + 1));
    return cut;
  }
  // First unit of chunk i (chunk_start(cut, n_units, cut.n_chunks) == n_units).
  static int64_t chunk_start(const ChunkCut& cut, int64_t n_units, int64_t i) {
    if (cut.levels == 0) return n_units * i / cut.n_chunks;
    // In units of n_units / (p * 2^L): round k < L starts at (2^L - 2^(L-k)) p
    // with chunks 2^(L-k-1) wide; the last round starts at (2^L - 1) p, 1 wide.
    const int64_t p = cut.threads, L = cut.levels, k = std::min<int64_t>(i / p, L), j = i - k * p;
    const int64_t pos = k < L ? ((int64_t(1) << L) - (int64_t(1) << (L - k))) * p + j * (int64_t(1) << (L - k - 1))
                              : ((int64_t(1) << L) - 1) * p + j;
    return n_units * pos / (p << L);
  }
  static constexpr int kMaxLevels = 3;
  // At most this many chunks per region (the claim word holds the index in 32 bits).
  static constexpr int64_t kMaxChunks = 0xfffffffe;

 private:
  using Task = void (*)(void*, int64_t);
  // The chunk index of a closed claim word (no chunk can be claimed from it).
  static constexpr uint64_t kClosedChunk = 0xffffffffu;
  void dispatch(Task task, void* ctx, int64_t n_chunks);
  [[noreturn]] static void n_chunks_too_many(int64_t n_chunks);
  // Claims and runs chunks of job `generation` until none are left.
  void work_on(uint32_t generation);
  void worker();

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  // The job: written by the caller before it publishes the generation.
  std::atomic<Task> task_{nullptr};
  std::atomic<void*> ctx_{nullptr};
  std::atomic<int64_t> n_chunks_{0};
  // (generation << 32) | next chunk to claim: claiming checks the job in the same CAS.
  alignas(64) std::atomic<uint64_t> claim_{0};
  alignas(64) std::atomic<int64_t> done_{0};
  alignas(64) std::atomic<uint32_t> generation_{0};
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stop_{false};
};

// The process-wide default pool, sized by EDGELM_THREADS or the hardware.
ThreadPool& default_thread_pool();
// Replaces the default pool with one of n threads (0: hardware). Not thread-safe.
void set_default_threads(int n);

}  // namespace edgelm
