#include "platform/thread_pool.h"

#include <cstdlib>
#include <memory>

#include "platform/error.h"
#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgelm {

namespace {

inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// About 50 µs of spinning before a worker sleeps: long enough to bridge the
// gap between two kernels of one decode step, short enough not to burn a core.
constexpr int kSpinIterations = 20000;
// The caller waiting for chunks in progress spins this long, then yields its
// core, which on an oversubscribed machine may be what the late thread needs.
constexpr int kCallerSpins = 2000;

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker(); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::work_on(uint32_t generation) {
  for (;;) {
    uint64_t claim = claim_.load(std::memory_order_acquire);
    if (uint32_t(claim >> 32) != generation) return;
    const int64_t chunk = int64_t(claim & 0xffffffffu);
    // Read the job before claiming it. The fields may already belong to the
    // next job (a worker late on an exhausted claim word), but then dispatch
    // has closed this generation's claim word first (see there), and reading
    // any of its new fields (acquire) makes the compare-exchange below see
    // the closed word and fail: a successful claim proves these are this
    // job's fields.
    const int64_t n_chunks = n_chunks_.load(std::memory_order_acquire);
    Task task = task_.load(std::memory_order_acquire);
    void* ctx = ctx_.load(std::memory_order_acquire);
    if (chunk >= n_chunks) return;
    if (!claim_.compare_exchange_weak(claim, claim + 1, std::memory_order_acq_rel, std::memory_order_relaxed)) continue;
    task(ctx, chunk);
    done_.fetch_add(1, std::memory_order_release);
  }
}

void ThreadPool::dispatch(Task task, void* ctx, int64_t n_chunks) {
  const uint32_t generation = generation_.load(std::memory_order_relaxed) + 1;
  // Close the previous job's claim word before touching the job's fields. A
  // worker that read the old word when every chunk was taken may still be
  // about to claim "one more"; without the close it could read the new
  // fields, claim against the old word, run a chunk of the new job twice and
  // count it in done_, so that this call returned while a chunk still ran
  // (seen as a crash on a stale stack frame). The closed word carries the new
  // generation, so workers of the old one stop, and no chunk index.
  claim_.store((uint64_t(generation) << 32) | kClosedChunk, std::memory_order_relaxed);
  task_.store(task, std::memory_order_release);
  ctx_.store(ctx, std::memory_order_release);
  n_chunks_.store(n_chunks, std::memory_order_release);
  done_.store(0, std::memory_order_relaxed);
  claim_.store(uint64_t(generation) << 32, std::memory_order_release);
  generation_.store(generation, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
  work_on(generation);
  for (int spin = 0; done_.load(std::memory_order_acquire) < n_chunks; ++spin) {
    if (spin < kCallerSpins) cpu_relax();
    else std::this_thread::yield();
  }
}

void ThreadPool::n_chunks_too_many(int64_t n_chunks) {
  fail("thread pool: ", n_chunks, " chunks in one region (at most ", kMaxChunks, ")");
}

void ThreadPool::worker() {
  uint32_t seen = 0;
  for (;;) {
    uint32_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      // Announce the sleep before the last look, so that dispatch either sees
      // a sleeper (and wakes it) or this thread sees the new generation.
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      if (generation_.load(std::memory_order_seq_cst) == seen) generation_.wait(seen, std::memory_order_acquire);
      sleepers_.fetch_sub(1, std::memory_order_seq_cst);
      continue;
    }
    seen = gen;
    if (stop_.load()) return;
    work_on(gen);
  }
}

namespace {
std::unique_ptr<ThreadPool>& default_pool_slot() {
  static std::unique_ptr<ThreadPool> pool;
  return pool;
}
}  // namespace

ThreadPool& default_thread_pool() {
  auto& slot = default_pool_slot();
  if (!slot) {
    int n = 0;
    if (const char* env = std::getenv("EDGELM_THREADS")) n = std::atoi(env);
    slot = std::make_unique<ThreadPool>(n);
  }
  return *slot;
}

void set_default_threads(int n) { default_pool_slot() = std::make_unique<ThreadPool>(n); }

}  // namespace edgelm
