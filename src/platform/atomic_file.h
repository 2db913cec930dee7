#pragma once
// Writes a file under a temporary name and renames it into place on commit(),
// so that a crash or an error never leaves a half-written file behind.
#include <cstdio>
#include <string>
#include <string_view>

namespace edgelm {

class AtomicFile {
 public:
  explicit AtomicFile(std::string path);  // opens "<path>.tmp.<pid>"
  ~AtomicFile();                          // removes the temporary file unless committed
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n_bytes);
  void write(std::string_view text) { write(text.data(), text.size()); }
  void write_zeros(size_t n_bytes);
  size_t bytes_written() const { return n_written_; }
  // Flushes, fsyncs, renames over the final path and fsyncs the folder.
  void commit();

 private:
  std::string path_;
  std::string tmp_path_;
  std::FILE* file_ = nullptr;
  size_t n_written_ = 0;
  bool committed_ = false;
};

// Removes the temporaries "<path>.tmp.<pid>" that a killed writer left behind
// (its process no longer exists); a live writer's temporary is kept. Returns how
// many it removed. The final file itself is never touched: it is always whole.
int remove_stale_temporaries(const std::string& path);

// Convenience: the whole content at once.
void write_file_atomic(const std::string& path, std::string_view content);
std::string read_file(const std::string& path);  // throws Error naming the path

}  // namespace edgelm
