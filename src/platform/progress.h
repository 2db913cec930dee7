#pragma once
// A progress bar on stderr: redrawn in place on a terminal, a line every few
// seconds when stderr is a pipe or a file (CI logs stay readable).
#include <chrono>
#include <cstdint>
#include <string>

namespace edgelm {

class ProgressBar {
 public:
  ProgressBar(std::string label, int64_t total, std::string unit = "");
  ~ProgressBar();
  // Sets the count done so far and an optional status text (e.g. "loss 2.31").
  void update(int64_t done, const std::string& status = "");
  void finish(const std::string& status = "");
  double elapsed_seconds() const;

 private:
  void draw(bool final_line);
  std::string label_, unit_, status_;
  int64_t total_ = 0, done_ = 0;
  bool tty_ = false, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

}  // namespace edgelm
