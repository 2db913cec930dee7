#pragma once
// Measured read bandwidth: the speed at which this machine's threads stream a
// buffer of a given size once. Decoding a model reads every weight once per
// token, so a buffer of the model's size gives the decode speed's bound on
// this machine (cache or DRAM, whichever the size lands in) instead of a
// figure assumed from elsewhere.
#include <cstdint>

#include "platform/thread_pool.h"

namespace edgelm {

struct ReadBandwidth {
  int64_t bytes = 0;      // buffer size
  double gb_per_s = 0;    // best pass, 1e9 bytes per second
  int passes = 0;
};

// Streams `bytes` (rounded up to whole 256-byte groups; at least 1 MiB) with
// every thread of `pool` reading its own contiguous share (aligned loads as wide
// as the kernels in use, four independent sums, so loads set the pace),
// `passes` times after one untimed pass that faults the pages in; the best pass counts.
ReadBandwidth measure_read_bandwidth(int64_t bytes, ThreadPool& pool, int passes = 5);

}  // namespace edgelm
