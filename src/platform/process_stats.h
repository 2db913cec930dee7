#pragma once
// Figures about this process that the benchmarks print beside their timings.
#include <cstdint>

namespace edgelm {

// Peak resident memory in bytes (VmHWM from /proc where available, else getrusage).
int64_t peak_rss_bytes();
// Resets the peak-RSS counter (Linux: "5" to /proc/self/clear_refs) so that a
// later peak_rss_bytes() covers only what follows; false where unsupported.
bool reset_peak_rss();
// The 1-minute load average (-1 if unknown): context for figures taken on a shared machine.
double load_average();

}  // namespace edgelm
