#include "platform/atomic_file.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include "platform/error.h"

namespace edgelm {

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
  tmp_path_ = cat(path_, ".tmp.", ::getpid());
  file_ = std::fopen(tmp_path_.c_str(), "wb");
  if (!file_) fail("cannot create ", tmp_path_, ": ", std::strerror(errno));
}

AtomicFile::~AtomicFile() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(tmp_path_.c_str());
}

void AtomicFile::write(const void* data, size_t n_bytes) {
  if (n_bytes == 0) return;
  if (std::fwrite(data, 1, n_bytes, file_) != n_bytes) fail("cannot write ", tmp_path_, ": ", std::strerror(errno));
  n_written_ += n_bytes;
}

void AtomicFile::write_zeros(size_t n_bytes) {
  static const char zeros[256] = {};
  while (n_bytes > 0) {
    size_t n = std::min(n_bytes, sizeof(zeros));
    write(zeros, n);
    n_bytes -= n;
  }
}

void AtomicFile::commit() {
  if (std::fflush(file_) != 0) fail("cannot write ", tmp_path_, ": ", std::strerror(errno));
  if (::fsync(::fileno(file_)) != 0) fail("cannot sync ", tmp_path_, ": ", std::strerror(errno));
  std::fclose(file_);
  file_ = nullptr;
  if (std::rename(tmp_path_.c_str(), path_.c_str()) != 0) fail("cannot rename ", tmp_path_, " to ", path_, ": ", std::strerror(errno));
  committed_ = true;
  std::filesystem::path dir = std::filesystem::path(path_).parent_path();
  if (dir.empty()) dir = ".";
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (fd >= 0) {
    ::fsync(fd);
    ::close(fd);
  }
}

int remove_stale_temporaries(const std::string& path) {
  namespace fs = std::filesystem;
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  const std::string prefix = fs::path(path).filename().string() + ".tmp.";
  std::error_code ec;
  int removed = 0;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string pid_text = name.substr(prefix.size());
    if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9) continue;
    const pid_t pid = pid_t(std::stol(pid_text));
    // kill(pid, 0) probes without signalling: ESRCH means no such process, so nobody is writing it.
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;
    if (fs::remove(entry.path(), ec)) ++removed;
  }
  return removed;
}

void write_file_atomic(const std::string& path, std::string_view content) {
  AtomicFile file(path);
  file.write(content);
  file.commit();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) fail("cannot open ", path, ": ", std::strerror(errno));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) fail("cannot read ", path);
  return ss.str();
}

}  // namespace edgelm
