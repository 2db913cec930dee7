#pragma once
// A pool of persistent worker threads for data-parallel kernels.
//
// Decoding a small model runs hundreds of tiny parallel regions per token, so
// the pool is built for low latency: workers spin briefly on a generation
// counter before they sleep (C++20 atomic wait, a futex on Linux), the caller
// takes part as thread 0, and a task is a plain function pointer + context
// (no allocation per region).
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <thread>
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

  // Runs f(thread_index) once on each of the size() threads and returns when all are done.
  template <class F>
  void run(F&& f) {
    if (n_threads_ == 1) {
      f(0);
      return;
    }
    auto trampoline = [](void* ctx, int ith) { (*static_cast<std::remove_reference_t<F>*>(ctx))(ith); };
    dispatch(trampoline, static_cast<void*>(&f));
  }

  // Splits [0, n) into size() contiguous chunks; f(begin, end) runs once per non-empty chunk.
  // grain rounds chunk boundaries to a multiple (e.g. a SIMD width or a block).
  template <class F>
  void parallel_for(int64_t n, F&& f, int64_t grain = 1) {
    int64_t n_units = (n + grain - 1) / grain;
    int nt = int(std::min<int64_t>(n_threads_, n_units));
    if (nt <= 1) {
      if (n > 0) f(int64_t(0), n);
      return;
    }
    run([&](int ith) {
      if (ith >= nt) return;
      int64_t begin = std::min(n, (n_units * ith / nt) * grain);
      int64_t end = std::min(n, (n_units * (ith + 1) / nt) * grain);
      if (begin < end) f(begin, end);
    });
  }

 private:
  using Task = void (*)(void*, int);
  void dispatch(Task task, void* ctx);
  void worker(int ith);

  int n_threads_ = 1;
  std::vector<std::thread> workers_;
  alignas(64) std::atomic<uint64_t> generation_{0};
  alignas(64) std::atomic<int> pending_{0};
  Task task_ = nullptr;
  void* ctx_ = nullptr;
  std::atomic<bool> stop_{false};
};

// The process-wide default pool, sized by EDGELM_THREADS or the hardware.
ThreadPool& default_thread_pool();
// Replaces the default pool with one of n threads (0: hardware). Not thread-safe.
void set_default_threads(int n);

}  // namespace edgelm
