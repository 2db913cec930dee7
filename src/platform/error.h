#pragma once
// Errors are exceptions carrying a message a user can act on. Libraries throw;
// only the command line turns them into an exit status.
#include <sstream>
#include <stdexcept>
#include <string>

namespace edgelm {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Concatenates its arguments with operator<< (GCC 12 has no <format>).
template <class... Args>
std::string cat(const Args&... args) {
  std::ostringstream out;
  (out << ... << args);
  return out.str();
}

template <class... Args>
[[noreturn]] void fail(const Args&... args) {
  throw Error(cat(args...));
}

}  // namespace edgelm
