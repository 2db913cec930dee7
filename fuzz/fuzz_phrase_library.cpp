// The phrase library reader (phrases/<lang>.toml: [phrases], [out_of_scope], [verbs], [endings],
// wrap, connect, connect_questions, ask_together and the conversation [follow_up] lists) on arbitrary bytes: an
// Error is fine, any other exception or a crash is not. The input is written as
// both en.toml and ko.toml of a scratch folder (the file's `lang` picks which loads).
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/phrase_library.h"
#include "platform/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string dir = [] {
    auto p = std::filesystem::temp_directory_path() / ("edgelm_fuzz_phrases_" + std::to_string(::getpid()));
    std::filesystem::create_directories(p);
    return p.string();
  }();
  for (const char* lang : {"en", "ko"}) {
    {
      std::ofstream out(dir + "/" + lang + ".toml", std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(data), std::streamsize(size));
    }
    try {
      edgelm::data::load_phrase_library(dir, lang);
    } catch (const edgelm::Error&) {
    }
  }
  return 0;
}
