#pragma once
// Helpers the data tests share: a scratch folder per test process, loading a
// copy of a domain folder with one file edited (to check the error it gives),
// and small text edits.
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <gtest/gtest.h>

#include "data/dataset.h"
#include "platform/atomic_file.h"
#include "platform/error.h"

namespace edgelm::test {

// An empty folder, /tmp/edgelm_test_NAME_PID.
inline std::string temp_dir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::temp_directory_path() / ("edgelm_test_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

// Copies the files of `domain_dir` to a scratch folder, applies `edit` to one
// of them, and returns the error that loading the copy gives ("" if none).
inline std::string domain_load_error(const std::string& domain_dir, const std::string& file,
                                     const std::function<std::string(std::string)>& edit) {
  namespace fs = std::filesystem;
  std::string dir = temp_dir("bad_domain");
  for (const auto& e : fs::directory_iterator(domain_dir))
    if (e.is_regular_file()) fs::copy_file(e.path(), fs::path(dir) / e.path().filename());
  std::string text = read_file(dir + "/" + file), edited = edit(text);
  EXPECT_NE(text, edited) << "the edit did not apply to " << file;
  write_file_atomic(dir + "/" + file, edited);
  std::string msg;
  try {
    check_domain(dir);
  } catch (const Error& e) {
    msg = e.what();
  }
  fs::remove_all(dir);
  return msg;
}

// The JSON lines of a file (blank lines skipped).
inline std::vector<nlohmann::json> read_jsonl(const std::string& path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

// The 1-based line of the first occurrence of `needle`, or -1.
inline int line_of(const std::string& text, const std::string& needle) {
  size_t at = text.find(needle);
  return at == std::string::npos ? -1 : 1 + int(std::count(text.begin(), text.begin() + at, '\n'));
}

// `s` with the first `from` replaced (a test failure if there is none).
inline std::string replace_once(std::string s, const std::string& from, const std::string& to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

}  // namespace edgelm::test
