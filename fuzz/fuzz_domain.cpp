// The files of a domain folder on arbitrary bytes: the first byte picks which
// file of a copy of domains/air-purifier the rest replaces (0 functions.toml,
// 1 device.toml, 2 generate.toml, 3 en.toml, 4 ko.toml; the byte modulo 5), and
// the folder is then loaded as generation loads it (load_phrasebook: schema,
// device, generation settings, phrasing files with their templates and
// lexicons). The copy lives in this process's scratch folder. To keep each
// input fast, only the phrasing file being fuzzed is loaded (generate.toml
// names that one language) unless the input is generate.toml itself. An Error
// is fine; any other exception or a crash is a bug.
#include <array>
#include <map>

#include "data/phrasebook.h"
#include "fuzz_util.h"
#include "platform/atomic_file.h"

namespace {

namespace fs = std::filesystem;
constexpr std::array<const char*, 5> kFiles = {"functions.toml", "device.toml", "generate.toml", "en.toml", "ko.toml"};

struct Folder {
  fs::path dir;
  std::map<std::string, std::string> original;  // file name -> bytes
};

const Folder& folder() {
  static const Folder f = [] {
    Folder f;
    f.dir = edgelm::fuzz::scratch_dir() / "domain";
    fs::create_directories(f.dir);
    for (const char* name : kFiles)
      f.original[name] = edgelm::read_file(edgelm::fuzz::source_path(std::string("domains/air-purifier/") + name));
    return f;
  }();
  return f;
}

// generate.toml with `languages` cut down to `lang` (the settings of other languages stay: they are allowed).
std::string generate_for(const std::string& generate, const std::string& lang) {
  const std::string all = "languages = [\"en\", \"ko\"]";
  size_t at = generate.find(all);
  if (at == std::string::npos) std::abort();  // the built-in domain changed: update this target
  return generate.substr(0, at) + "languages = [\"" + lang + "\"]" + generate.substr(at + all.size());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace edgelm;
  if (size == 0) return 0;
  const Folder& f = folder();
  const size_t which = data[0] % kFiles.size();
  const std::string lang = which == 4 ? "ko" : "en";
  for (size_t i = 0; i < kFiles.size(); ++i) {
    std::string bytes = f.original.at(kFiles[i]);
    if (i == which) bytes = std::string(fuzz::as_text(data + 1, size - 1));
    else if (i == 2) bytes = generate_for(bytes, lang);
    fuzz::write_bytes(f.dir / kFiles[i], bytes);
  }
  return fuzz::run_one("fuzz_domain", [&] { data::load_phrasebook(f.dir.string()); });
}
