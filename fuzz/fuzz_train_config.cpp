// Training configs (TOML) on arbitrary bytes. Input past a first NUL byte is one
// command-line override per line ("optim.lr=3e-4"). A config that reads must
// validate or fail with an Error, and write out as TOML that reads back to the
// same text. An Error is fine; any other exception or a crash is a bug.
#include <vector>

#include "fuzz_util.h"
#include "training/train_config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  std::string_view input = fuzz::as_text(data, size);
  std::string toml_text(input.substr(0, input.find('\0')));
  std::vector<std::string> overrides;
  if (size_t nul = input.find('\0'); nul != std::string_view::npos) {
    std::string_view rest = input.substr(nul + 1);
    while (!rest.empty()) {
      size_t end = rest.find('\n');
      overrides.emplace_back(rest.substr(0, end));
      rest = end == std::string_view::npos ? std::string_view() : rest.substr(end + 1);
    }
  }
  return fuzz::run_one("fuzz_train_config", [&] {
    training::TrainConfig c = training::parse_train_config(toml_text, overrides, "fuzz.toml");
    const std::string written = training::train_config_to_toml(c);
    training::TrainConfig again;
    try {
      again = training::parse_train_config(written, {}, "written.toml");
    } catch (const Error& e) {
      std::fprintf(stderr, "fuzz_train_config: the written config does not read back: %s\n%s\n", e.what(), written.c_str());
      std::abort();
    }
    if (training::train_config_to_toml(again) != written) {
      std::fprintf(stderr, "fuzz_train_config: the written config reads back differently:\n%s\n", written.c_str());
      std::abort();
    }
    c.validate();
  });
}
