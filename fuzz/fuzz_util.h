#pragma once
// What the libFuzzer targets share: the rule that bad input may fail only with
// edgelm::Error, and a per-process scratch folder for readers that take a path.
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "platform/error.h"

namespace edgelm::fuzz {

// Runs one input through `body`. An Error is the one way bad input may fail;
// any other exception is a hole in a reader's checks (a library's own exception
// leaking through) and is reported as a crash, with its message.
template <class Body>
int run_one(const char* target, Body&& body) {
  try {
    body();
  } catch (const Error&) {
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s: exception other than edgelm::Error escaped: %s\n", target, e.what());
    std::abort();
  }
  return 0;
}

// A folder of this process's own (libFuzzer's -fork and -jobs run several at
// once), removed at exit. Never destroyed itself: the exit handler still needs it.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path* dir = [] {
    auto* d = new std::filesystem::path(std::filesystem::temp_directory_path() /
                                        ("edgelm-fuzz-" + std::to_string(::getpid())));
    std::filesystem::create_directories(*d);
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(scratch_dir(), ec);
    });
    return d;
  }();
  return *dir;
}

inline void write_bytes(const std::filesystem::path& path, std::string_view bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), std::streamsize(bytes.size()));
  if (!out) {
    std::fprintf(stderr, "fuzz: cannot write %s\n", path.c_str());
    std::abort();
  }
}

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The built-in domains of the source tree (the fuzz build defines EDGELM_SOURCE_DIR).
inline std::string source_path(const std::string& relative) { return std::string(EDGELM_SOURCE_DIR) + "/" + relative; }

}  // namespace edgelm::fuzz
