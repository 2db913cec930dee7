#include "kernels/bandwidth.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <vector>

#include "kernels/kernels.h"
#include "platform/aligned_buffer.h"
#include "platform/error.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace edgelm {

namespace {

// Sums n floats (a multiple of 64) with enough independent chains that the
// loads, not the adds, set the pace: a probe of the memory, not of a kernel.
float read_sum_scalar(const float* x, int64_t n) {
  float acc[8] = {};
  for (int64_t i = 0; i < n; i += 8)
    for (int j = 0; j < 8; ++j) acc[j] += x[i + j];
  float s = 0;
  for (float a : acc) s += a;
  return s;
}

#if defined(__x86_64__)
__attribute__((target("avx512f"))) float read_sum_avx512(const float* x, int64_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_load_ps(x + i));
    a1 = _mm512_add_ps(a1, _mm512_load_ps(x + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_load_ps(x + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_load_ps(x + i + 48));
  }
  alignas(64) float t[16];
  _mm512_store_ps(t, _mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  float s = 0;
  for (float v : t) s += v;
  return s;
}

__attribute__((target("avx2"))) float read_sum_avx2(const float* x, int64_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  for (int64_t i = 0; i < n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_load_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_load_ps(x + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_load_ps(x + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_load_ps(x + i + 24));
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0;
  for (float v : t) s += v;
  return s;
}
#endif

using ReadSum = float (*)(const float*, int64_t);

// The widest loads the kernels in use may issue (EDGELM_ISA lowers it the same way).
ReadSum read_sum_for(Isa isa) {
#if defined(__x86_64__)
  if (isa == Isa::Avx512) return read_sum_avx512;
  if (isa == Isa::Avx2) return read_sum_avx2;
#endif
  (void)isa;
  return read_sum_scalar;
}

}  // namespace

ReadBandwidth measure_read_bandwidth(int64_t bytes, ThreadPool& pool, int passes) {
  if (passes < 1) fail("measure_read_bandwidth: passes must be positive (got ", passes, ")");
  bytes = std::max<int64_t>(bytes, int64_t(1) << 20);
  const int64_t n = (bytes + 255) / 256 * 64;  // floats, whole 256-byte groups
  AlignedArray<float> buffer = aligned_array<float>(size_t(n));
  float* data = buffer.get();
  // Written by the pool, so that each thread's share is first touched (and, on
  // a NUMA machine, placed) by the thread that reads it.
  pool.parallel_for(n, [data](int64_t begin, int64_t end) { std::fill(data + begin, data + end, 1.0f); }, 64);

  const ReadSum read_sum = read_sum_for(kernels().isa);
  const int n_threads = pool.size();
  // One sum per thread, kept so that the reads cannot be optimised away.
  std::vector<float> sums(size_t(n_threads) * 16, 0.0f);
  auto pass = [&] {
    pool.run([&](int ith) {
      // Contiguous shares of whole 256-byte groups, one stream per thread.
      const int64_t begin = n / 64 * ith / n_threads * 64, end = n / 64 * (ith + 1) / n_threads * 64;
      sums[size_t(ith) * 16] += read_sum(data + begin, end - begin);
    });
  };
  pass();
  ReadBandwidth r{n * int64_t(sizeof(float)), 0.0, passes};
  for (int i = 0; i < passes; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    pass();
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    r.gb_per_s = std::max(r.gb_per_s, double(r.bytes) / s / 1e9);
  }
  float total = 0;
  for (float s : sums) total += s;
  if (total < 0) fail("measure_read_bandwidth: impossible negative sum");  // keeps the sums alive
  return r;
}

}  // namespace edgelm
