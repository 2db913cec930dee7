#include "platform/progress.h"

#include <unistd.h>

#include <cstdio>

namespace edgelm {

ProgressBar::ProgressBar(std::string label, int64_t total, std::string unit)
    : label_(std::move(label)), unit_(std::move(unit)), total_(total) {
  tty_ = ::isatty(STDERR_FILENO) != 0;
  start_ = last_draw_ = std::chrono::steady_clock::now();
}

ProgressBar::~ProgressBar() {
  if (!finished_) finish();
}

double ProgressBar::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void ProgressBar::update(int64_t done, const std::string& status) {
  done_ = done;
  if (!status.empty()) status_ = status;
  auto now = std::chrono::steady_clock::now();
  double since = std::chrono::duration<double>(now - last_draw_).count();
  if (since < (tty_ ? 0.1 : 5.0)) return;
  last_draw_ = now;
  draw(false);
}

void ProgressBar::finish(const std::string& status) {
  if (finished_) return;
  if (!status.empty()) status_ = status;
  if (total_ > 0 && done_ < total_ && status.empty()) { /* keep the count that was reached */ }
  finished_ = true;
  draw(true);
}

void ProgressBar::draw(bool final_line) {
  double elapsed = elapsed_seconds();
  double rate = elapsed > 0 ? double(done_) / elapsed : 0.0;
  char bar[32] = {};
  std::string eta;
  if (total_ > 0) {
    double frac = std::min(1.0, double(done_) / double(total_));
    int filled = int(frac * 20);
    for (int i = 0; i < 20; ++i) bar[i] = i < filled ? '#' : '.';
    if (rate > 0 && done_ < total_) {
      int secs = int(double(total_ - done_) / rate);
      char buf[32];
      std::snprintf(buf, sizeof buf, " eta %d:%02d", secs / 60, secs % 60);
      eta = buf;
    }
  }
  char line[512];
  if (total_ > 0) {
    std::snprintf(line, sizeof line, "%s [%s] %lld/%lld %s %.1f/s%s %s", label_.c_str(), bar, (long long)done_,
                  (long long)total_, unit_.c_str(), rate, eta.c_str(), status_.c_str());
  } else {
    std::snprintf(line, sizeof line, "%s %lld %s %.1f/s %s", label_.c_str(), (long long)done_, unit_.c_str(), rate,
                  status_.c_str());
  }
  if (tty_) {
    std::fprintf(stderr, "\r\033[K%s%s", line, final_line ? "\n" : "");
  } else {
    std::fprintf(stderr, "%s\n", line);
  }
  std::fflush(stderr);
}

}  // namespace edgelm
