#include "platform/thread_pool.h"

#include <cstdlib>
#include <memory>
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

}  // namespace

ThreadPool::ThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = int(std::max(1u, std::thread::hardware_concurrency()));
  n_threads_ = n_threads;
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::dispatch(Task task, void* ctx) {
  task_ = task;
  ctx_ = ctx;
  pending_.store(n_threads_ - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  task(ctx, 0);
  while (pending_.load(std::memory_order_acquire) != 0) cpu_relax();
}

void ThreadPool::worker(int ith) {
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      continue;
    }
    seen = gen;
    if (stop_.load(std::memory_order_relaxed)) return;
    task_(ctx_, ith);
    pending_.fetch_sub(1, std::memory_order_acq_rel);
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
